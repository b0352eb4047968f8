//! What several subcommands share: model files, progress bars, loading a split.

use camseg::cam::CamMethod;
use camseg::card::{CamDefaults, ModelCard};
use camseg::masks::Threshold;
use camseg::data::{Dataset, InputSpec, Record};
use camseg::model::Classifier;
use camseg::plane::Plane;
use camseg::{Error, Result};
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

pub use camseg::card::files::{load as load_model, paths as model_paths};

/// The CPU device every subcommand computes on.
pub fn device() -> Device {
    Device::flex()
}

pub fn bar(len: usize, message: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta} {prefix}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    bar
}

/// Decodes the records' images (scan channel per `spec`), with a progress bar.
pub fn load_images(ds: &Dataset, records: &[Record], spec: &InputSpec, what: &str) -> Result<Vec<Plane>> {
    let bar = bar(records.len(), what);
    let images = records
        .iter()
        .map(|r| {
            bar.inc(1);
            ds.load_image(r, spec.channel)
        })
        .collect::<Result<Vec<_>>>();
    bar.finish_and_clear();
    images
}

/// The CAM options `eval` and `cam` share; each falls back to what the model card recommends.
#[derive(clap::Args)]
pub struct CamArgs {
    /// CAM method: gradcam, gradcam++, hirescam, layercam (default: the card's).
    #[arg(long)]
    method: Option<String>,
    /// Conv block to explain, 0-based (default: the card's).
    #[arg(long)]
    block: Option<usize>,
    /// Mask threshold in [0,1] or `otsu` (default: the card's).
    #[arg(long)]
    threshold: Option<String>,
}

impl CamArgs {
    /// The options given, completed from the card and checked against the model.
    pub fn resolve(&self, card: &ModelCard, model: &Classifier) -> Result<CamDefaults> {
        let method = self.method.as_deref().map(CamMethod::parse).transpose()?.unwrap_or(card.cam.method);
        let block = self.block.unwrap_or(card.cam.block);
        if block >= model.blocks() {
            return Err(Error::Invalid(format!("--block {block} does not exist: the model has blocks 0..{}", model.blocks() - 1)));
        }
        let threshold = self.threshold.as_deref().map(Threshold::parse).transpose()?.unwrap_or(card.cam.threshold);
        Ok(CamDefaults { method, block, threshold })
    }
}

/// The dataset and model options that `eval`, `sweep` and `filter-retrain` share.
#[derive(clap::Args)]
pub struct DataModelArgs {
    /// Dataset folder (images/, masks/, index.csv).
    #[arg(long)]
    pub data: PathBuf,
    /// Model weights (.bpk) or card (.json).
    #[arg(long)]
    pub model: PathBuf,
}
