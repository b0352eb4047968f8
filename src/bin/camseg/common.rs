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

/// The device chosen with `--device` (the CPU unless a GPU was asked for).
static DEVICE: std::sync::OnceLock<(String, Device)> = std::sync::OnceLock::new();

/// The devices this build offers: the CPU always, GPUs behind the `cuda` and `wgpu` features.
pub fn devices() -> Vec<&'static str> {
    let mut all = vec!["cpu"];
    if cfg!(feature = "cuda") {
        all.push("cuda");
    }
    if cfg!(feature = "wgpu") {
        all.push("wgpu");
    }
    all
}

/// Starts `name` (cpu, cuda, wgpu) for every subcommand, checking that it computes: a GPU that
/// is missing or broken is a message here, not a panic in the middle of a run.
pub fn choose_device(name: &str) -> Result<()> {
    let device = match name {
        "cpu" => Device::flex(),
        #[cfg(feature = "cuda")]
        "cuda" => Device::cuda(0),
        #[cfg(feature = "wgpu")]
        "wgpu" => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        other => {
            return Err(Error::Invalid(format!(
                "--device {other}: this build offers {} (GPUs need `cargo build --release --features cuda` or `--features wgpu`)",
                devices().join(", ")
            )))
        }
    };
    let probe = device.clone();
    // The backends panic when no adapter or driver answers; that becomes the message below
    // (the panic's own text would only repeat it, with a backtrace note).
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let works = std::panic::catch_unwind(move || burn::tensor::Tensor::<1>::ones([4], &probe).sum().into_scalar::<f32>() == 4.0);
    std::panic::set_hook(hook);
    if !matches!(works, Ok(true)) {
        return Err(Error::Device(format!("the {name} device could not be started (no such GPU, or its driver or runtime library is missing)")));
    }
    let _ = DEVICE.set((name.to_string(), device));
    Ok(())
}

/// The device every subcommand computes on.
pub fn device() -> Device {
    DEVICE.get().map(|d| d.1.clone()).unwrap_or_else(Device::flex)
}

/// Its name, as `--device` took it.
pub fn device_name() -> String {
    DEVICE.get().map(|d| d.0.clone()).unwrap_or_else(|| "cpu".into())
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
    /// CAM method: gradcam, gradcam++, hirescam, layercam, layercam-multi, layercam-walk,
    /// fusion, intensity, or occlusion (model-agnostic, about 226 forward passes per image)
    /// (default: the card's).
    #[arg(long)]
    method: Option<String>,
    /// Conv block to explain, 0-based (default: the card's, for this method where it has one).
    #[arg(long)]
    block: Option<usize>,
    /// Mask threshold in [0,1] or `otsu` (default: the card's, for this method where it has one).
    #[arg(long)]
    threshold: Option<String>,
}

impl CamArgs {
    /// The options given, completed from the card and checked against the model.
    pub fn resolve(&self, card: &ModelCard, model: &Classifier) -> Result<CamDefaults> {
        let method = self.method.as_deref().map(CamMethod::parse).transpose()?.unwrap_or(card.cam.method);
        // A method's own block and cut from val, where the card has them.
        let (card_block, card_threshold) = card.cam.for_method(method);
        let block = self.block.unwrap_or(card_block);
        if block >= model.blocks() {
            return Err(Error::Invalid(format!("--block {block} does not exist: the model has blocks 0..{}", model.blocks() - 1)));
        }
        let threshold = self.threshold.as_deref().map(Threshold::parse).transpose()?.unwrap_or(card_threshold);
        Ok(CamDefaults { method, block, threshold, per_method: Vec::new() })
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

/// Refuses a training budget that cannot train: no epochs, or batches of nothing (which never
/// advance), before any data is read.
pub fn check_budget(epochs: usize, batch_size: usize) -> Result<()> {
    if epochs == 0 || batch_size == 0 {
        return Err(Error::Invalid(format!("--epochs {epochs} --batch-size {batch_size}: both must be at least 1")));
    }
    Ok(())
}

/// Refuses an output path whose folder does not exist, before any work is done for it.
pub fn check_folder_of(path: &std::path::Path, flag: &str) -> Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(folder) if !folder.is_dir() => Err(Error::Invalid(format!("{flag} {}: the folder {} does not exist", path.display(), folder.display()))),
        _ => Ok(()),
    }
}

/// `--norm-momentum`: each batch's share of batch norm's running statistics, in (0, 1].
pub fn check_norm_momentum(momentum: f64) -> Result<f64> {
    if momentum > 0.0 && momentum <= 1.0 {
        Ok(momentum)
    } else {
        Err(Error::Invalid(format!("--norm-momentum {momentum} must be in (0, 1] (each batch's share of the running statistics)")))
    }
}

/// Checks `--contrast` (an augmentation: at least 1, and not with augmentation off).
pub fn check_contrast(contrast: f32, augment: bool) -> Result<()> {
    if !(contrast.is_finite() && contrast >= 1.0) {
        return Err(Error::Invalid(format!("--contrast {contrast} must be at least 1 (1 = off)")));
    }
    if !augment && contrast != 1.0 {
        return Err(Error::Invalid("--contrast is an augmentation: it cannot be used with --no-augment".into()));
    }
    Ok(())
}
