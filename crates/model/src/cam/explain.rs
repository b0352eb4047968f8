//! The steps of one heatmap ([`CamSteps`]) computed on the model, from the same weights the
//! maps use ([`Weigh::weights`]).

use super::steps::CamSteps;
use super::{CamMethod, Weigh};
use crate::data::InputSpec;
use crate::model::Classifier;
use crate::plane::Plane;
use crate::{Error, Result};
use burn::tensor::Device;
use crate::data::Batch;

/// The steps of `method`'s map of `image` at `block` (for a composite method, those of the
/// plain CAM it starts from).
pub async fn explain(model: &Classifier, spec: &InputSpec, image: &Plane, block: usize, method: CamMethod, device: &Device) -> Result<CamSteps> {
    let base = method.base().ok_or_else(|| Error::Invalid(format!("{} makes no map from a block's activations, so there are no steps to show; choose a CAM method", method.label())))?;
    if block >= model.blocks() {
        return Err(Error::Invalid(format!("block {block} does not exist: the model has {} conv blocks", model.blocks())));
    }
    let input = spec.batch(&[&spec.prepare(image)], device);
    let evidence = super::evidence(model, input, block);
    let [_, _, h, w] = evidence.activations.dims();
    let weights = base.weights(evidence.activations.clone(), evidence.gradients);
    let activations = super::read_floats(evidence.activations).await?;
    let weights = super::read_floats(weights).await?;
    let probability = super::read_floats(evidence.probs).await?[0];
    Ok(CamSteps::from_parts(method, base, block, probability, &activations, &weights, (w, h), (image.width, image.height)))
}
