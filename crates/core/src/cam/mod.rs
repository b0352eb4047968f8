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
//! variant and its line in `camseg-model`'s `Weigh::weights`. [`CamMethod::Fusion`] goes further, over
//! two layers and the image itself ([`fusion`]).

use crate::plane::Plane;
use crate::{Error, Result};
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
    /// features (the card's `input.scan.walk`), then the shape step (see [`walk`]). No intensity rule.
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

}

/// Grad-CAM++'s guard against 0/0: below any gradient that matters in f32 (see `combine`).
pub const GRADCAM_PP_EPS: f32 = 1e-30;

impl std::fmt::Display for CamMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
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

