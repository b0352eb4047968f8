//! Class activation maps computed on the classifier (burn): the evidence of a block
//! (activations and the tumour logit's gradient) and the maps each [`CamMethod`] makes of it.
//! The methods as data, the maps' post-processing and the image-only rules are
//! [`camseg_core::cam`], re-exported here.

pub use camseg_core::cam::*;

use crate::model::{Classifier, TUMOUR};
use crate::plane::Plane;
use crate::{Error, Result};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Tensor, TensorData};

pub mod explain;

/// How a method weighs a block's activations: the one formula every map, and the steps view,
/// use.
pub trait Weigh {
    /// The weight of each activation [N,C,1,1] (one per channel) or [N,C,h,w] (one per
    /// position), from activations and gradients [N,C,h,w]. Fusion's is Grad-CAM++'s.
    fn weights(self, a: Tensor<4>, g: Tensor<4>) -> Tensor<4>;
    /// The map [N,1,h,w] (before upsampling): ReLU of the weighted sum of the channels.
    fn combine(self, a: Tensor<4>, g: Tensor<4>) -> Tensor<4>;
}

impl Weigh for CamMethod {
    /// The weight of each activation [N,C,1,1] (one per channel) or [N,C,h,w] (one per
    /// position), from activations and gradients [N,C,h,w]. Fusion's is Grad-CAM++'s.
    fn weights(self, a: Tensor<4>, g: Tensor<4>) -> Tensor<4> {
        match self {
            CamMethod::GradCam => g.mean_dim(3).mean_dim(2),
            CamMethod::GradCamPlusPlus | CamMethod::Fusion => {
                // The paper's eq. 19, alpha = g^2 / (2 g^2 + sum(A) g^3), kept where g > 0
                // (only there does it weigh anything). With relu(g)^3 the denominator is
                // positive wherever g != 0, so the guard against 0/0 can be far below any
                // real g^2: pytorch-grad-cam's 1e-6 is the size of g^2 itself at the last
                // block (g = w / (h w) there), and changes alpha by up to half
                // (docs/benchmarks.md, the agreement check).
                // Products, not `powi_scalar`: on burn's CPU backend that is libm's `powf` per
                // value, 5% of a fusion analysis in the page's profile.
                let g2 = g.clone() * g.clone();
                let g3 = relu(g.clone()) * g2.clone();
                let sum_a = a.sum_dim(3).sum_dim(2);
                let alpha = g2.clone() / (g2 * 2.0 + sum_a * g3 + GRADCAM_PP_EPS);
                (relu(g) * alpha).sum_dim(3).sum_dim(2)
            }
            CamMethod::HiResCam => g,
            CamMethod::LayerCam | CamMethod::LayerCamMulti | CamMethod::LayerCamWalk => relu(g),
            // No map from a block: the pipeline makes theirs. Grad-CAM's keeps this total.
            CamMethod::Intensity | CamMethod::Occlusion => g.mean_dim(3).mean_dim(2),
        }
    }

    /// The map [N,1,h,w] (before upsampling): ReLU of the weighted sum of the channels.
    fn combine(self, a: Tensor<4>, g: Tensor<4>) -> Tensor<4> {
        let weights = self.weights(a.clone(), g);
        relu((a * weights).sum_dim(1))
    }
}
/// Activations of a block and the tumour logit's gradient with respect to them.
pub struct Evidence {
    pub activations: Tensor<4>,
    pub gradients: Tensor<4>,
    /// Tumour probability (softmax) of each image.
    pub probs: Tensor<1>,
}

/// Runs the model to block `block`, then differentiates the rest of the network (the part
/// [`Classifier::forward_from`] runs) with respect to that block's output. The features run
/// without autodiff; only the activations become a leaf of a small graph. Put the model in
/// eval mode (`model.valid()`) first: batch norm and dropout must not behave as in training.
pub fn evidence(model: &Classifier, input: Tensor<4>, block: usize) -> Evidence {
    if let Some(mut one) = plain_evidence(model, input.clone(), block..=block) {
        return one.remove(0);
    }
    evidence_at(model, model.activations(input, block).without_autodiff(), block)
}

/// The evidence of each block of `blocks` from one pass, on plain slices where
/// [`crate::inference::applies`] (the CPU, no autodiff): the blocks run forward once, only the
/// head is differentiated by burn, and the gradient goes back through the later blocks on plain
/// slices ([`crate::inference::Tape`]), where burn's autodiff on its CPU ops took several times
/// as long. None elsewhere.
fn plain_evidence(model: &Classifier, input: Tensor<4>, blocks: std::ops::RangeInclusive<usize>) -> Option<Vec<Evidence>> {
    let (first, last_wanted, last) = (*blocks.start(), *blocks.end(), model.blocks() - 1);
    if model.lite0.is_some() || !crate::inference::applies(&input) || first > last_wanted || last_wanted > last {
        return None;
    }
    let mut outputs = vec![model.activations(input, first)];
    let mut tapes = Vec::with_capacity(last - first);
    for k in first + 1..=last {
        let (out, tape) = crate::inference::run_block_taped(&model.features[k], true, outputs[outputs.len() - 1].clone())?;
        outputs.push(out);
        tapes.push(tape);
    }
    let head = evidence_at(model, outputs[last - first].clone(), last);
    let mut gradients = vec![head.gradients.clone()];
    for tape in tapes.iter().rev() {
        let next = tape.input_gradient(gradients[gradients.len() - 1].clone());
        gradients.push(next);
    }
    // gradients[j] is at block last - j.
    Some(
        (first..=last_wanted)
            .map(|k| Evidence { activations: outputs[k - first].clone(), gradients: gradients[last - k].clone(), probs: head.probs.clone() })
            .collect(),
    )
}

/// [`evidence`] from a block's output already computed (without autodiff).
fn evidence_at(model: &Classifier, activations: Tensor<4>, block: usize) -> Evidence {
    let leaf = activations.clone().autodiff().require_grad();
    let (gradients, probs) = tumour_gradient(model.forward_from(leaf.clone(), block), &leaf);
    Evidence { activations, gradients, probs }
}

/// The summed tumour logit's gradient with respect to `leaf`, and the tumour probabilities.
fn tumour_gradient(logits: Tensor<2>, leaf: &Tensor<4>) -> (Tensor<4>, Tensor<1>) {
    let n = logits.dims()[0];
    let probs = softmax(logits.clone().without_autodiff(), 1).slice([0..n, TUMOUR..TUMOUR + 1]).reshape([n]);
    // Images in a batch are independent in eval mode, so one backward of the summed scores
    // yields every image's own gradient.
    let grads = logits.slice([0..n, TUMOUR..TUMOUR + 1]).sum().backward();
    let gradients = leaf.grad(&grads).expect("the activations are a leaf that requires grad");
    (gradients, probs)
}

/// Evidence at `block` and at the block before it (`block` > 0) from one pass through the
/// early blocks, for methods that fuse two layers: the finer block's graph runs through
/// `block`, whose output is then reused as the leaf of the coarser one. About a third less
/// work than two [`evidence`] calls, which matters on software WebGPU.
pub fn evidence_pair(model: &Classifier, input: Tensor<4>, block: usize) -> (Evidence, Evidence) {
    assert!(block > 0, "a pair needs a block before `block`");
    if let Some(mut pair) = plain_evidence(model, input.clone(), block - 1..=block) {
        let coarse = pair.pop().expect("two blocks");
        return (coarse, pair.pop().expect("two blocks"));
    }
    let finer = model.activations(input, block - 1).without_autodiff();
    let leaf = finer.clone().autodiff().require_grad();
    let coarse = model.run_block(block, leaf.clone());
    let (gradients, probs) = tumour_gradient(model.forward_from(coarse.clone(), block), &leaf);
    let coarse = evidence_at(model, coarse.without_autodiff(), block);
    (coarse, Evidence { activations: finer, gradients, probs })
}

/// Reads a float tensor back to the CPU. Async because WebGPU cannot read synchronously.
pub async fn read_floats<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    let data: TensorData =
        t.into_data_async().await.map_err(|e| Error::Device(format!("reading a result failed: {}", crate::error::cause_chain(&format!("{e:?}")))))?;
    data.convert::<f32>().try_to_vec::<f32>().map_err(|e| Error::Device(format!("unexpected tensor data: {e:?}")))
}

/// Tumour probabilities of a batch of model inputs [N,1,S,S] (forward only, no map).
pub async fn probabilities(model: &Classifier, input: Tensor<4>) -> Result<Vec<f32>> {
    let logits = model.forward(input.without_autodiff());
    let n = logits.dims()[0];
    read_floats(softmax(logits, 1).slice([0..n, TUMOUR..TUMOUR + 1]).reshape([n])).await
}

/// Low-resolution maps of a batch, one [h,w] plane per image, plus tumour probabilities.
pub struct CamBatch {
    pub maps: Vec<Plane>,
    pub probs: Vec<f32>,
}

/// The maps of `method` at `block` for a batch of model inputs [N,1,S,S].
pub async fn cam_batch(model: &Classifier, input: Tensor<4>, block: usize, method: CamMethod) -> Result<CamBatch> {
    read_batch(evidence(model, input, block), method).await
}

/// The maps of each block of `blocks` for a batch of model inputs [N,1,S,S]: from one pass
/// where the plain path runs, else one [`evidence`] per block.
pub async fn cam_batches(model: &Classifier, input: Tensor<4>, blocks: std::ops::RangeInclusive<usize>, method: CamMethod) -> Result<Vec<CamBatch>> {
    let evidence = match plain_evidence(model, input.clone(), blocks.clone()) {
        Some(all) => all,
        None => blocks.map(|b| evidence(model, input.clone(), b)).collect(),
    };
    let mut batches = Vec::with_capacity(evidence.len());
    for ev in evidence {
        batches.push(read_batch(ev, method).await?);
    }
    Ok(batches)
}

/// The maps of `block` and of the block before it, from [`evidence_pair`].
pub async fn cam_batch_pair(model: &Classifier, input: Tensor<4>, block: usize, method: CamMethod) -> Result<(CamBatch, CamBatch)> {
    let (coarse, finer) = evidence_pair(model, input, block);
    Ok((read_batch(coarse, method).await?, read_batch(finer, method).await?))
}

async fn read_batch(ev: Evidence, method: CamMethod) -> Result<CamBatch> {
    let map = method.combine(ev.activations, ev.gradients);
    let [n, _, h, w] = map.dims();
    let values = read_floats(map).await?;
    let probs = read_floats(ev.probs).await?;
    let maps = values.chunks(h * w).map(|c| Plane::new(w, h, c.to_vec())).collect::<Vec<_>>();
    debug_assert_eq!(maps.len(), n);
    Ok(CamBatch { maps, probs })
}

#[cfg(test)]
mod tests;
