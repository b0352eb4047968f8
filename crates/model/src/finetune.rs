//! The filter experiment's one step that runs the model: accuracy on held-out samples. The
//! experiment itself (filtering, splitting, before/after) is [`camseg_core::finetune`],
//! re-exported here.

pub use camseg_core::finetune::*;

use crate::data::InputSpec;
use crate::train::Sample;
use crate::model::Classifier;
use crate::plane::Plane;
use crate::{metrics::Confusion, train::predict};
use {
    crate::Result,
    burn::tensor::Device,
};

/// Accuracy (tumour if p >= 0.5) of `model` (eval mode) on prepared samples.
pub async fn accuracy(model: &Classifier, spec: &InputSpec, samples: &[Sample], device: &Device) -> Result<f64> {
    let inputs: Vec<&Plane> = samples.iter().map(|s| &s.input).collect();
    let probs = predict(model, spec, &inputs, 16, device).await?;
    let labels: Vec<bool> = samples.iter().map(|s| s.label).collect();
    Ok(Confusion::from_probs(&probs, &labels, crate::evaluate::GATE).accuracy())
}
