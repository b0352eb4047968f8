//! `camseg`: the native command-line tool. Dataset-scale experiments and training of the
//! shipped weights, on the same core code the page runs.

mod bench;
mod cam;
mod card;
mod choose;
mod common;
mod eval;
mod export;
mod figures;
mod filter_retrain;
mod lesion_removed;
mod phantom;
mod pretrained;
mod segmenter;
mod sweep;
mod train;
mod trust;
mod volume;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "camseg", version, about = "Tumour segmentation from a classifier's class-activation maps")]
struct Cli {
    /// Where the model computes: cpu (default), or a GPU where the build has it: cuda, wgpu
    /// (cargo features of the same names).
    #[arg(long, global = true, default_value = "cpu")]
    device: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write synthetic brain slices with known tumour masks (images/, masks/, index.csv).
    Phantom(phantom::Args),
    /// Train a classifier on a dataset folder; writes weights (.bpk) and a model card (.json).
    Train(train::Args),
    /// Classify a dataset split and score CAM masks against the true masks.
    Eval(eval::Args),
    /// Retrain from scratch on images filtered by their heatmaps (keep/remove hot, random baseline).
    FilterRetrain(filter_retrain::Args),
    /// Mean Dice of every CAM method and block over thresholds 0.1..0.9 and Otsu.
    Sweep(sweep::Args),
    /// Heatmap (and overlay) of one image, with its tumour probability and Dice.
    Cam(cam::Args),
    /// Re-choose a model card's CAM default on val and rewrite its figures (weights untouched).
    Card(card::Args),
    /// Weights as safetensors under PyTorch's names (and, with --images, reference outputs) for
    /// the agreement check against PyTorch and pytorch-grad-cam.
    Export(export::Args),
    /// Images per second of each stage (forward, Grad-CAM, fusion, training, eval) on the
    /// chosen device.
    Bench(bench::Args),
    /// Train a U-Net segmenter on true masks or on the classifier's CAM pseudo-masks.
    TrainSegmenter(segmenter::Args),
    /// The lesion-removed control: each lesion filled with the texture round it, then p and
    /// the map again (does the classifier look at the lesion, or at annotations beside it?).
    LesionRemoved(lesion_removed::Args),
    /// Can each method's heatmap be trusted? Model randomisation (Spearman, SSIM), deletion,
    /// insertion and ROAD curves, and the pointing game, with patient-bootstrap intervals.
    Trust(trust::Args),
}

/// mimalloc keeps freed tensor buffers for reuse; glibc's malloc returned them to the OS at
/// every op (`perf`: a fifth of a training step in page faults and zeroing).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = common::choose_device(&cli.device) {
        eprintln!("camseg: error: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Bench(args) => bench::run(args),
        Command::Card(args) => card::run(args),
        Command::Export(args) => export::run(args),
        Command::Phantom(args) => phantom::run(args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Cam(args) => cam::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::FilterRetrain(args) => filter_retrain::run(args),
        Command::TrainSegmenter(args) => segmenter::run(args),
        Command::LesionRemoved(args) => lesion_removed::run(args),
        Command::Trust(args) => trust::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("camseg: error: {e}");
            ExitCode::FAILURE
        }
    }
}
