//! Class activation maps: where in the image the classifier found evidence for *tumour*.
//!
//! Every method here works on the same two tensors of a conv block, its activations `A`
//! [N,C,h,w] and the gradient `G = d y_tumour / d A` of the tumour logit (pre-softmax, as
//! Selvaraju et al. define it), and differs only in how it weighs them:
//!
//! | method | map |
//! |---|---|
//! | Grad-CAM (Selvaraju 2017) | ReLU(sum_c mean_ij(G_c) A_c) |
//! | Grad-CAM++ (Chattopadhay 2018) | ReLU(sum_c w_c A_c), w_c = sum_ij a_ij ReLU(G_cij) |
//! | HiResCAM (Draelos 2020) | ReLU(sum_c G_c * A_c) |
//! | LayerCAM (Jiang 2021) | ReLU(sum_c ReLU(G_c) * A_c) |
//!
//! The low-resolution map is then bilinearly upsampled to the image and min-max normalised
//! (see [`Plane::resize_bilinear`], [`Plane::normalised`]). Adding a method means adding a
//! variant and its line in [`CamMethod::combine`]. [`CamMethod::Fusion`] goes further, over
//! two layers and the image itself ([`fusion`]).

#[cfg(feature = "model")]
use crate::model::{Classifier, TUMOUR};
use crate::plane::Plane;
use crate::{Error, Result};
// The model and what runs it (burn): not in the page's own build.
#[cfg(feature = "model")]
use {
    burn::tensor::activation::{relu, softmax},
    burn::tensor::{Tensor, TensorData},
};
use serde::{Deserialize, Serialize};

/// A way of turning activations and gradients into a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CamMethod {
    #[serde(rename = "gradcam")]
    GradCam,
    #[serde(rename = "gradcam++")]
    GradCamPlusPlus,
    #[serde(rename = "hirescam")]
    HiResCam,
    #[serde(rename = "layercam")]
    LayerCam,
    /// Classifier-seeded intensity segmentation: Grad-CAM++ of the chosen block and the one
    /// before it, averaged at image resolution, weighted by the card's brightness prior
    /// (FLAIR hyperintensity on LGG, darkness on ultrasound), then the shape step (see [`fusion`]).
    #[serde(rename = "fusion")]
    Fusion,
    /// Classifier only: LayerCAM of blocks 1 to the chosen one, averaged at image resolution,
    /// then the same shape step. No intensity rule.
    #[serde(rename = "layercam-multi")]
    LayerCamMulti,
    /// Classifier only: multi-layer LayerCAM spread by a random walk on the classifier's
    /// block-1 features, then the shape step (see [`walk`]). No intensity rule.
    #[serde(rename = "layercam-walk")]
    LayerCamWalk,
    /// No classifier at all: the card's brightness prior (bright or dark lesions) and the same
    /// shape step (the baseline that says what the classifier adds). The classifier still
    /// gives p.
    #[serde(rename = "intensity")]
    Intensity,
    /// Model-agnostic: p's drop as a patch slides over the image (no block, no gradient;
    /// about 226 forward passes per image, see [`crate::faithfulness::Occlusion`]).
    #[serde(rename = "occlusion")]
    Occlusion,
}

impl CamMethod {
    /// Every method the picker offers: those made from a block, then occlusion.
    pub const ALL: [CamMethod; 9] = {
        let mut all = [CamMethod::Occlusion; 9];
        let mut i = 0;
        while i < CamMethod::FROM_BLOCKS.len() {
            all[i] = CamMethod::FROM_BLOCKS[i];
            i += 1;
        }
        all
    };

    /// The methods whose map depends on a block (and the intensity baseline): one forward
    /// and backward pass each, so training, sweeps and `camseg trust` run them all by default.
    pub const FROM_BLOCKS: [CamMethod; 8] = [
        CamMethod::GradCam,
        CamMethod::GradCamPlusPlus,
        CamMethod::HiResCam,
        CamMethod::LayerCam,
        CamMethod::LayerCamMulti,
        CamMethod::LayerCamWalk,
        CamMethod::Fusion,
        CamMethod::Intensity,
    ];

    /// The name the CLI, the card and the page use.
    pub fn name(self) -> &'static str {
        match self {
            CamMethod::GradCam => "gradcam",
            CamMethod::GradCamPlusPlus => "gradcam++",
            CamMethod::HiResCam => "hirescam",
            CamMethod::LayerCam => "layercam",
            CamMethod::Fusion => "fusion",
            CamMethod::LayerCamMulti => "layercam-multi",
            CamMethod::LayerCamWalk => "layercam-walk",
            CamMethod::Intensity => "intensity",
            CamMethod::Occlusion => "occlusion",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CamMethod::GradCam => "Grad-CAM",
            CamMethod::GradCamPlusPlus => "Grad-CAM++",
            CamMethod::HiResCam => "HiResCAM",
            CamMethod::LayerCam => "LayerCAM",
            CamMethod::Fusion => "Fusion: classifier-seeded intensity rule",
            CamMethod::LayerCamMulti => "Multi-layer LayerCAM + shape (classifier only)",
            CamMethod::LayerCamWalk => "LayerCAM + random walk on its features (classifier only)",
            CamMethod::Intensity => "Intensity rule only (no classifier)",
            CamMethod::Occlusion => "Occlusion: p's drop under a sliding patch (model-agnostic, slow)",
        }
    }

    /// Whether the map comes from the classifier at all (the intensity rule's does not).
    pub fn uses_classifier(self) -> bool {
        self != CamMethod::Intensity
    }

    pub fn parse(name: &str) -> Result<CamMethod> {
        CamMethod::ALL.into_iter().find(|m| m.name() == name.to_ascii_lowercase()).ok_or_else(|| {
            let names: Vec<_> = CamMethod::ALL.iter().map(|m| m.name()).collect();
            Error::Invalid(format!("unknown CAM method `{name}`; choose one of {}", names.join(", ")))
        })
    }

    /// The plain CAM whose map a method starts from (the "how it is made" view shows its
    /// steps); `None` for the intensity rule and occlusion, which make no map from a block.
    pub fn base(self) -> Option<CamMethod> {
        match self {
            CamMethod::Fusion => Some(CamMethod::GradCamPlusPlus),
            CamMethod::LayerCamMulti | CamMethod::LayerCamWalk => Some(CamMethod::LayerCam),
            CamMethod::Intensity | CamMethod::Occlusion => None,
            plain => Some(plain),
        }
    }

    #[cfg(feature = "model")]
    /// The weight of each activation [N,C,1,1] (one per channel) or [N,C,h,w] (one per
    /// position), from activations and gradients [N,C,h,w]. Fusion's is Grad-CAM++'s.
    pub fn weights(self, a: Tensor<4>, g: Tensor<4>) -> Tensor<4> {
        match self {
            CamMethod::GradCam => g.mean_dim(3).mean_dim(2),
            CamMethod::GradCamPlusPlus | CamMethod::Fusion => {
                // The paper's eq. 19, alpha = g^2 / (2 g^2 + sum(A) g^3), kept where g > 0
                // (only there does it weigh anything). With relu(g)^3 the denominator is
                // positive wherever g != 0, so the guard against 0/0 can be far below any
                // real g^2: pytorch-grad-cam's 1e-6 is the size of g^2 itself at the last
                // block (g = w / (h w) there), and changes alpha by up to half
                // (docs/benchmarks.md, the agreement check).
                let g2 = g.clone().powi_scalar(2);
                let g3 = relu(g.clone()).powi_scalar(3);
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

    #[cfg(feature = "model")]
    /// The map [N,1,h,w] (before upsampling): ReLU of the weighted sum of the channels.
    pub fn combine(self, a: Tensor<4>, g: Tensor<4>) -> Tensor<4> {
        let weights = self.weights(a.clone(), g);
        relu((a * weights).sum_dim(1))
    }
}

/// Grad-CAM++'s guard against 0/0: below any gradient that matters in f32 (see `combine`).
pub const GRADCAM_PP_EPS: f32 = 1e-30;

impl std::fmt::Display for CamMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Activations of a block and the tumour logit's gradient with respect to them.
#[cfg(feature = "model")]
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
#[cfg(feature = "model")]
pub fn evidence(model: &Classifier, input: Tensor<4>, block: usize) -> Evidence {
    evidence_at(model, model.activations(input, block).without_autodiff(), block)
}

/// [`evidence`] from a block's output already computed (without autodiff).
#[cfg(feature = "model")]
fn evidence_at(model: &Classifier, activations: Tensor<4>, block: usize) -> Evidence {
    let leaf = activations.clone().autodiff().require_grad();
    let (gradients, probs) = tumour_gradient(model.forward_from(leaf.clone(), block), &leaf);
    Evidence { activations, gradients, probs }
}

/// The summed tumour logit's gradient with respect to `leaf`, and the tumour probabilities.
#[cfg(feature = "model")]
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
#[cfg(feature = "model")]
pub fn evidence_pair(model: &Classifier, input: Tensor<4>, block: usize) -> (Evidence, Evidence) {
    assert!(block > 0, "a pair needs a block before `block`");
    let finer = model.activations(input, block - 1).without_autodiff();
    let leaf = finer.clone().autodiff().require_grad();
    let coarse = model.run_block(block, leaf.clone());
    let (gradients, probs) = tumour_gradient(model.forward_from(coarse.clone(), block), &leaf);
    let coarse = evidence_at(model, coarse.without_autodiff(), block);
    (coarse, Evidence { activations: finer, gradients, probs })
}

/// Reads a float tensor back to the CPU. Async because WebGPU cannot read synchronously.
#[cfg(feature = "model")]
pub async fn read_floats<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    let data: TensorData =
        t.into_data_async().await.map_err(|e| Error::Device(format!("reading a result failed: {}", crate::error::cause_chain(&format!("{e:?}")))))?;
    data.convert::<f32>().try_to_vec::<f32>().map_err(|e| Error::Device(format!("unexpected tensor data: {e:?}")))
}

/// Tumour probabilities of a batch of model inputs [N,1,S,S] (forward only, no map).
#[cfg(feature = "model")]
pub async fn probabilities(model: &Classifier, input: Tensor<4>) -> Result<Vec<f32>> {
    let logits = model.forward(input.without_autodiff());
    let n = logits.dims()[0];
    read_floats(softmax(logits, 1).slice([0..n, TUMOUR..TUMOUR + 1]).reshape([n])).await
}

/// Low-resolution maps of a batch, one [h,w] plane per image, plus tumour probabilities.
#[cfg(feature = "model")]
pub struct CamBatch {
    pub maps: Vec<Plane>,
    pub probs: Vec<f32>,
}

/// The maps of `method` at `block` for a batch of model inputs [N,1,S,S].
#[cfg(feature = "model")]
pub async fn cam_batch(model: &Classifier, input: Tensor<4>, block: usize, method: CamMethod) -> Result<CamBatch> {
    read_batch(evidence(model, input, block), method).await
}

/// The maps of `block` and of the block before it, from [`evidence_pair`].
#[cfg(feature = "model")]
pub async fn cam_batch_pair(model: &Classifier, input: Tensor<4>, block: usize, method: CamMethod) -> Result<(CamBatch, CamBatch)> {
    let (coarse, finer) = evidence_pair(model, input, block);
    Ok((read_batch(coarse, method).await?, read_batch(finer, method).await?))
}

#[cfg(feature = "model")]
async fn read_batch(ev: Evidence, method: CamMethod) -> Result<CamBatch> {
    let map = method.combine(ev.activations, ev.gradients);
    let [n, _, h, w] = map.dims();
    let values = read_floats(map).await?;
    let probs = read_floats(ev.probs).await?;
    let maps = values.chunks(h * w).map(|c| Plane::new(w, h, c.to_vec())).collect::<Vec<_>>();
    debug_assert_eq!(maps.len(), n);
    Ok(CamBatch { maps, probs })
}

/// A low-resolution map as a heatmap of an image of `width` x `height`: upsample, then
/// normalise to [0,1] (an all-zero map stays all zero).
pub fn heatmap(map: &Plane, width: usize, height: usize) -> Plane {
    map.resize_bilinear(width, height).normalised()
}

pub mod fusion;
pub mod intensity;
pub mod refine;
pub mod steps;
pub mod walk;

#[cfg(all(test, feature = "model"))]
mod tests;
