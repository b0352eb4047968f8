//! Better masks from the same classifier: fuse CAMs of two layers, then refine by intensity
//! and shape.
//!
//! Plain Grad-CAM marks only part of a tumour and spills around it, because its map has the
//! coarse resolution of the last block (Guan & Loew 2022). Three cheap remedies, used together:
//! - average the map of the last block (right place, coarse) with the block before it
//!   (finer, noisier), both at image resolution;
//! - weight the result by a prior that the scan itself gives: on FLAIR, the lesion is
//!   hyperintense relative to the rest of the head, so pixels darker than the head's mean get
//!   weight 0 and pixels brighter than `HI` x the mean get weight 1 (smoothstep between);
//! - keep only the part connected to the map's peak, with its holes filled ([`refine`]): the
//!   prior also lights other bright tissue, and the CAM decides which bright region is the
//!   lesion. At a low threshold this grows the lesion out from the CAM's peak over its
//!   hyperintense extent, which plain CAM never reaches.
//!
//! Nothing here uses labels; the method stays "classifier supervision only".

use super::refine;

use crate::plane::Plane;

/// Pixels above this (in [0,1]) count as head when taking the head's mean intensity.
pub const HEAD_LEVEL: f32 = 20.0 / 255.0;
/// Intensity ratios to the head mean where the prior goes from 0 to 1.
pub const LO: f32 = 1.0;
pub const HI: f32 = 1.35;

/// The hyperintensity prior of a scan, in [0,1] per pixel.
pub fn intensity_prior(image: &Plane) -> Plane {
    let head: Vec<f32> = image.data.iter().copied().filter(|&v| v > HEAD_LEVEL).collect();
    if head.is_empty() {
        return Plane::new(image.width, image.height, vec![0.0; image.data.len()]);
    }
    let mean = head.iter().sum::<f32>() / head.len() as f32;
    let data = image
        .data
        .iter()
        .map(|&v| {
            let t = ((v / mean - LO) / (HI - LO)).clamp(0.0, 1.0);
            t * t * (3.0 - 2.0 * t)
        })
        .collect();
    Plane::new(image.width, image.height, data)
}

/// Fuses heatmaps (each already at image size, in [0,1]) by their mean, weights it by the
/// image's intensity prior, renormalises to [0,1] and keeps the peak's region, holes filled.
pub fn fuse(image: &Plane, heatmaps: &[Plane]) -> Plane {
    shaped(&weighted(image, heatmaps))
}

/// Fusion's shape step: the region joined to the peak, then its holes filled.
pub fn shaped(map: &Plane) -> Plane {
    refine::fill_holes(&refine::peak_component(map))
}

/// The mean of `heatmaps` times the intensity prior, normalised: [`fuse`] before its shape
/// refinement (kept for the ablation that measures what the refinement adds).
pub fn weighted(image: &Plane, heatmaps: &[Plane]) -> Plane {
    assert!(!heatmaps.is_empty(), "fusion needs at least one heatmap");
    let n = heatmaps.len() as f32;
    let prior = intensity_prior(image);
    let data = (0..image.data.len())
        .map(|i| heatmaps.iter().map(|h| h.data[i]).sum::<f32>() / n * prior.data[i])
        .collect();
    Plane::new(image.width, image.height, data).normalised()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prior_keeps_bright_lesions_and_drops_dark_tissue() {
        // Background 0, tissue 0.4, a lesion at 0.8.
        let image = Plane::new(4, 1, vec![0.0, 0.4, 0.4, 0.8]);
        let prior = intensity_prior(&image);
        assert_eq!(prior.data[0], 0.0);
        assert_eq!(prior.data[1], 0.0);
        assert_eq!(prior.data[3], 1.0);
        // A heatmap that covers tissue and lesion alike ends up on the lesion only.
        let heat = Plane::new(4, 1, vec![0.0, 1.0, 1.0, 1.0]);
        assert_eq!(fuse(&image, &[heat]).data, vec![0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn fusion_keeps_the_bright_region_the_cam_points_at() {
        // Two equally bright regions (columns 1 and 4); the CAM peaks on the second only but
        // is weakly positive on the first: the fused map drops the first region entirely.
        let image = Plane::new(6, 3, [0.4, 0.8, 0.4, 0.4, 0.8, 0.4].repeat(3));
        let heat = Plane::new(6, 3, [0.0, 0.3, 0.3, 0.6, 1.0, 0.6].repeat(3));
        let fused = fuse(&image, &[heat.clone()]);
        let unrefined = weighted(&image, &[heat]);
        assert!(unrefined.data[1] > 0.2, "the prior alone keeps the other bright region");
        assert!(fused.data.chunks(6).all(|r| r[1] == 0.0 && r[4] == 1.0), "{:?}", fused.data);
    }
}
