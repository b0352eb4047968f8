use crate::common::bar;
use camseg::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Folder to write (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Number of slices; every other one has a tumour.
    #[arg(long, default_value_t = 200)]
    count: usize,
    /// Side in pixels.
    #[arg(long, default_value_t = 128)]
    size: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(args: Args) -> Result<()> {
    let bar = bar(args.count, "phantoms");
    let summary = camseg::phantom::write_dataset(&args.out, args.count, args.size, args.seed, |_| bar.inc(1))?;
    bar.finish_and_clear();
    println!("wrote {} slices ({} with tumour) to {}", summary.images, summary.tumours, args.out.display());
    Ok(())
}
