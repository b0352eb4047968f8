use crate::common::bar;
use camseg::{Error, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Folder to write (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Number of slices; every other one has a tumour (in a volume: the middle third).
    #[arg(long, default_value_t = 200)]
    count: usize,
    /// Side in pixels.
    #[arg(long, default_value_t = 128)]
    size: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write into a folder that already holds a dataset or volume (replacing its files).
    #[arg(long)]
    force: bool,
    /// Write one volume instead of a dataset of PNG slices: `nifti` (phantom.nii.gz) or
    /// `dicom` (a series in phantom/), each with phantom_mask.nii.gz.
    #[arg(long)]
    volume: Option<String>,
}

pub fn run(args: Args) -> Result<()> {
    let existing = ["index.csv", "phantom.nii.gz", "phantom_mask.nii.gz", "phantom"].map(|f| args.out.join(f)).into_iter().find(|p| p.exists());
    if let (Some(existing), false) = (existing, args.force) {
        return Err(Error::Invalid(format!("{} exists; pass --force to write over it, or choose another --out", existing.display())));
    }
    if let Some(format) = &args.volume {
        if !(3..=512).contains(&args.count) || !(16..=512).contains(&args.size) {
            return Err(Error::Invalid("a phantom volume needs --count in 3..512 and --size in 16..512".into()));
        }
        std::fs::create_dir_all(&args.out).map_err(|e| Error::io(args.out.display(), e))?;
        use camseg::phantom::volumes::{write_dicom, write_nifti};
        let written = match format.as_str() {
            "nifti" => write_nifti(&args.out, args.count, args.size, args.seed)?,
            "dicom" => write_dicom(&args.out, args.count, args.size, args.seed)?,
            other => return Err(Error::Invalid(format!("--volume {other}: expected nifti or dicom"))),
        };
        let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        println!("wrote a {} x {} x {} phantom volume: {}", args.size, args.size, args.count, names.join(", "));
        return Ok(());
    }
    let bar = bar(args.count, "phantoms");
    let summary = camseg::phantom::write_dataset(&args.out, args.count, args.size, args.seed, |_| bar.inc(1))?;
    bar.finish_and_clear();
    println!("wrote {} slices ({} with tumour) to {}", summary.images, summary.tumours, args.out.display());
    Ok(())
}
