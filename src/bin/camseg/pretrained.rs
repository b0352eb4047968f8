//! `camseg train --pretrained`: EfficientNet-Lite0's ImageNet weights, read from the
//! safetensors file `scripts/export-lite0.py` writes, as the start of a classifier.

use camseg::model::{Classifier, ClassifierConfig, Lite0};
use camseg::{Error, Result};
use burn::tensor::Device;
use safetensors::{Dtype, SafeTensors};
use std::path::Path;

/// A classifier of `config` (the EfficientNet-Lite0 family) whose blocks hold the file's
/// weights, with the published momentum for fine-tuning them; its head is fresh.
pub fn classifier(path: &Path, config: &ClassifierConfig, device: &Device) -> Result<Classifier> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| Error::Invalid(format!("{}: not a safetensors file ({e})", path.display())))?;
    let mut get = |name: &str| {
        let view = file.tensor(name).ok()?;
        (view.dtype() == Dtype::F32).then(|| (view.shape().to_vec(), view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()))
    };
    let blocks = Lite0::from_named(config.blocks(), device, &mut get).map_err(|e| Error::Invalid(format!("{}: {e} (f32 tensors named as efficientnet-lite-pytorch names them, from scripts/export-lite0.py)", path.display())))?;
    Ok(Classifier::with_lite0(blocks, config, device).with_trained_norm_momentum())
}
