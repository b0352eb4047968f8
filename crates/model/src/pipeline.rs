//! Images through the method: classify and explain (CAM), each map at its image's size.
//! Thresholding and scoring are the caller's ([`Analysis::mask`], `evaluate`).

use crate::prelude::*;
use crate::cam::{self, read_floats, CamMethod};
use crate::data::InputSpec;
use crate::faithfulness::Occlusion;
use crate::masks::{Mask, Threshold};
use crate::model::Classifier;
use crate::plane::Plane;
use crate::Result;
use burn::tensor::{Device, Tensor};

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
    let input = || spec.batch(&prepared.iter().collect::<Vec<_>>(), device);
    let at_image_size = |maps: &[Plane], i: usize| cam::heatmap(&maps[i], images[i].width, images[i].height);
    let (probs, heatmaps): (Vec<f32>, Vec<Plane>) = match method {
        CamMethod::Fusion if block > 0 => {
            // Fusion joins the finer block before the chosen one, from one shared pass, and
            // the image's own intensity weighs both layers.
            let (coarse, finer) = cam::cam_batch_pair(model, input(), block, method).await?;
            let maps = (0..images.len())
                .map(|i| cam::fusion::fuse(images[i], &[at_image_size(&coarse.maps, i), at_image_size(&finer.maps, i)], &spec.scan))
                .collect();
            (coarse.probs, maps)
        }
        CamMethod::Fusion => {
            let batch = cam::cam_batch(model, input(), block, method).await?;
            let maps = (0..images.len()).map(|i| cam::fusion::fuse(images[i], &[at_image_size(&batch.maps, i)], &spec.scan)).collect();
            (batch.probs, maps)
        }
        CamMethod::LayerCamMulti => layer_mean(model, &input, images, block, method, spec).await?,
        CamMethod::LayerCamWalk => {
            // The multi-layer map is the seed; the graph is the classifier's features of each
            // image at the card's block, and the walked map goes through the same shape step.
            let (probs, seeds) = layer_mean(model, &input, images, block, method, spec).await?;
            let features = model.activations(input(), spec.scan.walk.feature_block.min(model.blocks() - 1));
            let [_, channels, h, w] = features.dims();
            let values = read_floats(features).await?;
            let per_image = channels * h * w;
            let maps = (0..images.len())
                .map(|i| {
                    let seed = seeds[i].resize_bilinear(w, h);
                    let walked = spec.scan.walk.spread(&values[i * per_image..(i + 1) * per_image], channels, &seed);
                    cam::fusion::shaped(images[i], &cam::heatmap(&walked, images[i].width, images[i].height), &spec.scan)
                })
                .collect();
            (probs, maps)
        }
        CamMethod::Intensity => {
            // The classifier gives p (for gating and the table) but no map.
            let probs = cam::probabilities(model, input()).await?;
            let maps = images.iter().map(|im| cam::fusion::shaped(im, &cam::intensity::prior(im, &spec.scan), &spec.scan)).collect();
            (probs, maps)
        }
        CamMethod::Occlusion => {
            let mut out = (Vec::new(), Vec::new());
            for image in images {
                let (p, map) = occlusion(model, spec, image, device).await?;
                out.0.push(p);
                out.1.push(map);
            }
            out
        }
        _ => {
            let batch = cam::cam_batch(model, input(), block, method).await?;
            let maps = (0..images.len()).map(|i| at_image_size(&batch.maps, i)).collect();
            (batch.probs, maps)
        }
    };
    Ok(probs.into_iter().zip(heatmaps).map(|(probability, heatmap)| Analysis { probability, heatmap }).collect())
}

/// Occlusion sensitivity of one image on the model's input (see [`Occlusion`]), the map
/// brought back to the image's size; and p of the image. Every normalisation is affine for a
/// given image, so covering the prepared input with its own mean is covering the image (its
/// annotations filled, if the card says so) with the image's mean.
async fn occlusion(model: &Classifier, spec: &InputSpec, image: &Plane, device: &Device) -> Result<(f32, Plane)> {
    let input = spec.prepare(image);
    let setting = Occlusion::for_input(&input);
    let places = setting.places(spec.size, spec.size);
    let mut probs = Vec::with_capacity(places.len() + 1);
    // One batch of copies at a time: a 256 px model's 226 copies would hold 59 MB at once.
    for chunk in std::iter::once(None).chain(places.iter().map(Some)).collect::<Vec<_>>().chunks(OCCLUSION_BATCH) {
        let copies: Vec<Plane> = chunk.iter().map(|at| at.map_or_else(|| input.clone(), |&at| setting.occluded(&input, at))).collect();
        probs.extend(crate::train::predict(model, spec, &copies.iter().collect::<Vec<_>>(), OCCLUSION_BATCH, device).await?);
    }
    let map = setting.map(spec.size, spec.size, &places, probs[0], &probs[1..]);
    Ok((probs[0], cam::heatmap(&map, image.width, image.height)))
}

/// Occluded copies per forward pass.
const OCCLUSION_BATCH: usize = 32;

/// Multi-layer LayerCAM: the maps of blocks 1..=`block` (block 0's map is edge noise), their
/// mean at image size, then the shape step; and the tumour probabilities.
async fn layer_mean(
    model: &Classifier,
    input: &impl Fn() -> Tensor<4>,
    images: &[&Plane],
    block: usize,
    method: CamMethod,
    spec: &InputSpec,
) -> Result<(Vec<f32>, Vec<Plane>)> {
    let batches = cam::cam_batches(model, input(), 1.min(block)..=block, method).await?;
    let probs = batches.last().map(|b| b.probs.clone()).unwrap_or_default();
    let layers: Vec<Vec<Plane>> = batches.into_iter().map(|b| b.maps).collect();
    let maps = (0..images.len())
        .map(|i| {
            let per_layer: Vec<Plane> = layers.iter().map(|maps| cam::heatmap(&maps[i], images[i].width, images[i].height)).collect();
            cam::fusion::shaped(images[i], &cam::fusion::mean_map(&per_layer), &spec.scan)
        })
        .collect();
    Ok((probs, maps))
}
