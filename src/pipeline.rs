//! One image through the whole method: classify, explain (CAM), threshold, score.

use crate::cam::{self, CamMethod};
use crate::data::InputSpec;
use crate::masks::{Mask, Threshold};
use crate::model::Classifier;
use crate::plane::Plane;
use crate::Result;
use burn::tensor::Device;

/// What the method says about one image.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// Tumour probability.
    pub probability: f32,
    /// The heatmap at the image's own size, in [0, 1].
    pub heatmap: Plane,
}

impl Analysis {
    pub fn mask(&self, threshold: Threshold) -> Mask {
        threshold.apply(&self.heatmap)
    }
}

/// Analyses images (decoded, any size) in one batch: the model sees them through `spec`,
/// and each heatmap comes back at its own image's size.
pub async fn analyse(
    model: &Classifier,
    spec: &InputSpec,
    images: &[&Plane],
    block: usize,
    method: CamMethod,
    device: &Device,
) -> Result<Vec<Analysis>> {
    let prepared: Vec<Plane> = images.iter().map(|im| spec.prepare(im)).collect();
    let input = spec.batch(&prepared.iter().collect::<Vec<_>>(), device);
    // Fusion joins the finer block before the chosen one, from one shared pass.
    let (batch, finer) = if method == CamMethod::Fusion && block > 0 {
        let (coarse, finer) = cam::cam_batch_pair(model, input, block, method).await?;
        (coarse, Some(finer))
    } else {
        (cam::cam_batch(model, input, block, method).await?, None)
    };
    let mut analyses: Vec<Analysis> = images
        .iter()
        .zip(batch.maps)
        .zip(batch.probs)
        .map(|((im, low_res), probability)| Analysis {
            probability,
            heatmap: cam::heatmap(&low_res, im.width, im.height),
        })
        .collect();
    if method == CamMethod::Fusion {
        // The image's own intensity refines both layers.
        for (i, (a, im)) in analyses.iter_mut().zip(images).enumerate() {
            let mut maps = vec![a.heatmap.clone()];
            if let Some(f) = &finer {
                maps.push(cam::heatmap(&f.maps[i], im.width, im.height));
            }
            a.heatmap = cam::fusion::fuse(im, &maps);
        }
    }
    Ok(analyses)
}
