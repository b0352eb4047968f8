//! Can one heatmap be trusted? The checks of [`crate::faithfulness`] run on a model: the
//! randomisation cascade (Adebayo et al. 2018), deletion, insertion and ROAD curves, and the
//! pointing game. `camseg trust` runs them over a split; the page's Trust panel on the image
//! on screen, through [`check_image`].

use crate::prelude::*;
use crate::cam::CamMethod;
use crate::card::ModelCard;
use crate::evaluate::points_inside;
pub use crate::faithfulness::{ImageTrust, RandomisedMap, RANDOMISATION_CUT};
use crate::faithfulness::{curve_area, deletion_steps, insertion_blur_radius, insertion_steps, spearman_within, ssim, Removal};
use crate::masks::Mask;
use crate::model::Classifier;
use crate::pipeline::analyse;
use crate::plane::Plane;
use crate::{Error, Result};
use burn::module::Module;
use burn::tensor::Device;

/// The model with its head and its top `blocks` conv blocks freshly initialised (seeded).
pub fn randomised_from_top(model: &Classifier, card: &ModelCard, blocks: usize, seed: u64, device: &Device) -> Classifier {
    device.seed(seed);
    let fresh = card.architecture.init(device).valid();
    let n = model.blocks();
    let keep = |k: usize| k + blocks < n;
    let features = model.features.iter().zip(fresh.features).enumerate().map(|(k, (old, new))| if keep(k) { old.clone() } else { new }).collect();
    let lite0 = match (&model.lite0, fresh.lite0) {
        (Some(old), Some(mut new)) => {
            if keep(0) {
                (new.stem, new.stem_norm) = (old.stem.clone(), old.stem_norm.clone());
            }
            for (k, (old, new)) in old.stages.iter().zip(&mut new.stages).enumerate() {
                if keep(k) {
                    *new = old.clone();
                }
            }
            Some(new)
        }
        _ => None,
    };
    Classifier { features, lite0, pool: model.pool.clone(), dropout: model.dropout.clone(), head: fresh.head }
}

/// The cascade: step j randomises the head and the top j blocks (j = 0..=blocks), named
/// `head`, `block N`, ….
pub fn cascade(model: &Classifier, card: &ModelCard, seed: u64, device: &Device) -> Result<Vec<(String, Classifier)>> {
    let blocks = model.blocks();
    if blocks < 2 {
        return Err(Error::Invalid("the model has one conv block; randomising it block by block needs at least two".into()));
    }
    Ok((0..=blocks).map(|j| (if j == 0 { "head".to_string() } else { format!("block {}", blocks - j) }, randomised_from_top(model, card, j, seed.wrapping_add(j as u64), device))).collect())
}

/// p(lesion) of altered copies of `original`, each normalised as the original is (a blanked
/// region must not rescale the rest).
pub async fn probabilities(model: &Classifier, card: &ModelCard, images: &[Plane], original: &Plane, device: &Device) -> Result<Vec<f32>> {
    let prepared: Vec<Plane> = images.iter().map(|im| card.input.prepare_like(im, original)).collect();
    crate::train::predict(model, &card.input, &prepared.iter().collect::<Vec<_>>(), 32, device).await
}

/// p(lesion) at 0%, 5%, ..., 100% of one image's pixels, hottest first by its heatmap.
pub struct Curves {
    /// Blanked (to 0, RISE's deletion).
    pub deletion: Vec<f64>,
    /// Imputed from their neighbours (ROAD).
    pub road: Vec<f64>,
    /// Put back into a blurred image (RISE's insertion).
    pub insertion: Vec<f64>,
}

/// The three curves of `image` for `heatmap`, at the model's input size (what it sees, and
/// fewer pixels to move). Deletion and insertion change the image and normalise each copy as
/// the original; ROAD imputes the model's input itself, as ROAD and grad-cam's metric do, so
/// its noise is on the input's scale (`scripts/bench/agreement.py` checks it against grad-cam).
pub async fn curves(model: &Classifier, card: &ModelCard, image: &Plane, heatmap: &Plane, seed: u64, device: &Device) -> Result<Curves> {
    let size = card.input.size;
    let small = image.resize_bilinear(size, size);
    let heat = heatmap.resize_bilinear(size, size);
    let curve = |p: Vec<f32>| p.into_iter().map(|p| p as f64).collect::<Vec<f64>>();
    let deletion = curve(probabilities(model, card, &deletion_steps(&small, &heat, Removal::Constant(0.0)), &small, device).await?);
    let input = card.input.prepare_like(&small, &small);
    let imputed = deletion_steps(&input, &heat, Removal::Road { seed });
    let road = curve(crate::train::predict(model, &card.input, &imputed.iter().collect::<Vec<_>>(), 32, device).await?);
    let insertion = curve(probabilities(model, card, &insertion_steps(&small, &heat, insertion_blur_radius(size)), &small, device).await?);
    Ok(Curves { deletion, road, insertion })
}

/// Runs every check on `image` (its mask, if any, for the pointing game).
pub async fn check_image(model: &Classifier, card: &ModelCard, image: &Plane, truth: Option<&Mask>, method: CamMethod, block: usize, seed: u64, device: &Device) -> Result<ImageTrust> {
    let steps = cascade(model, card, seed, device)?;
    let original = analyse(model, &card.input, &[image], block, method, device).await?.remove(0);
    let level = card.input.scan.field_of_view_level;
    // Ranks inside the field of view: both maps leave the black surround at 0.
    let keep: Vec<bool> = image.data.iter().map(|&v| v > level).collect();
    let mut randomisation = Vec::new();
    for (name, randomised) in &steps {
        let again = analyse(randomised, &card.input, &[image], block, method, device).await?.remove(0);
        randomisation.push(RandomisedMap { randomised: name.clone(), spearman: spearman_within(&original.heatmap, &again.heatmap, &keep), ssim: ssim(&original.heatmap, &again.heatmap), map: again.heatmap });
    }
    let Curves { deletion, road, insertion } = curves(model, card, image, &original.heatmap, seed, device).await?;
    let fails_randomisation = randomisation.get(model.blocks() - block).is_some_and(|s| s.spearman > RANDOMISATION_CUT);
    Ok(ImageTrust {
        method,
        block,
        probability: original.probability,
        pointing_hit: truth.filter(|t| !t.is_empty()).map(|t| points_inside(&original.heatmap, t)),
        map: original.heatmap,
        randomisation,
        deletion_auc: curve_area(&deletion),
        road_auc: curve_area(&road),
        insertion_auc: curve_area(&insertion),
        deletion,
        road,
        insertion,
        fails_randomisation,
    })
}
