//! Better masks from the same classifier: fuse CAMs of two layers, then refine by intensity
//! and shape.
//!
//! Plain Grad-CAM marks only part of a tumour and spills around it, because its map has the
//! coarse resolution of the last block (Guan & Loew 2022). Three cheap remedies, used together:
//! - average the map of the last block (right place, coarse) with the block before it
//!   (finer, noisier), both at image resolution;
//! - weight the result by a prior that the scan itself gives ([`intensity::prior`], with the
//!   card's polarity): on FLAIR, the lesion is hyperintense relative to the rest of the head,
//!   so pixels darker than the head's mean get weight 0 and pixels brighter than 1.35 x the
//!   mean get weight 1 (smoothstep between);
//! - keep only the part connected to the map's peak, with its holes filled ([`refine`]): the
//!   prior also lights other bright tissue, and the CAM decides which bright region is the
//!   lesion. At a low threshold this grows the lesion out from the CAM's peak over its
//!   hyperintense extent, which plain CAM never reaches.
//!
//! Nothing here uses labels; the method stays "classifier supervision only".

use super::{intensity, refine};

use crate::data::ScanSettings;
use crate::plane::Plane;

/// Fuses heatmaps (each already at image size, in [0,1]) by their mean, weights it by the
/// image's intensity prior, renormalises to [0,1] and applies the shape step.
pub fn fuse(image: &Plane, heatmaps: &[Plane], scan: &ScanSettings) -> Plane {
    shaped(image, &weighted(image, heatmaps, scan), scan)
}

/// Radius (at 256 px) over which the shape step smooths a map to find its broad peak.
pub const PEAK_RADIUS_PX: usize = 8;

/// The shape step every shaped method shares (fusion, multi-layer LayerCAM, the intensity
/// rule): drop the band inside the field of view's outline (the scalp, where the card asks
/// for it), keep at every level the region joined to the map's broad peak, fill its holes. It
/// uses the field of view's outline, never its brightness, so it adds no intensity rule to a
/// classifier-only map.
pub fn shaped(image: &Plane, map: &Plane, scan: &ScanSettings) -> Plane {
    let interior = intensity::scan_interior(image, scan);
    let radius = (PEAK_RADIUS_PX * image.width.max(image.height)).div_ceil(256);
    refine::fill_holes(&refine::broad_peak_component(&intensity::restricted(map, &interior), radius))
}

/// The mean of heatmaps at image size, renormalised to [0,1].
pub fn mean_map(heatmaps: &[Plane]) -> Plane {
    assert!(!heatmaps.is_empty(), "a mean needs at least one heatmap");
    let n = heatmaps.len() as f32;
    let data = (0..heatmaps[0].data.len()).map(|i| heatmaps.iter().map(|h| h.data[i]).sum::<f32>() / n).collect();
    Plane::new(heatmaps[0].width, heatmaps[0].height, data).normalised()
}

/// The mean of `heatmaps` times the intensity prior, normalised: [`fuse`] before its shape
/// refinement (kept for the ablation that measures what the refinement adds).
pub fn weighted(image: &Plane, heatmaps: &[Plane], scan: &ScanSettings) -> Plane {
    assert!(!heatmaps.is_empty(), "fusion needs at least one heatmap");
    let n = heatmaps.len() as f32;
    let prior = intensity::prior(image, scan);
    let data = (0..image.data.len())
        .map(|i| heatmaps.iter().map(|h| h.data[i]).sum::<f32>() / n * prior.data[i])
        .collect();
    Plane::new(image.width, image.height, data).normalised()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 32 px scan: head (0.4) inside a 4 px dark margin, bright blocks (0.8) at columns
    /// 8..12 and 20..24, and a bright line of scalp on the head's top edge.
    fn scan() -> Plane {
        let mut data = vec![0.0; 32 * 32];
        for y in 4..28 {
            for x in 4..28 {
                let block = (8..24).contains(&y) && ((8..12).contains(&x) || (20..24).contains(&x));
                data[y * 32 + x] = if block || y == 4 { 0.8 } else { 0.4 };
            }
        }
        Plane::new(32, 32, data)
    }

    fn columns_kept(map: &Plane, t: f32) -> Vec<usize> {
        let mut cols: Vec<usize> = (0..map.data.len()).filter(|&i| map.data[i] >= t).map(|i| i % 32).collect();
        cols.sort();
        cols.dedup();
        cols
    }

    #[test]
    fn fusion_keeps_the_bright_region_the_cam_points_at() {
        // The CAM peaks on the second block only but is weakly positive on the first: the
        // fused map drops the first block entirely.
        let image = scan();
        let heat = Plane::new(32, 32, (0..32 * 32).map(|i| if i % 32 < 16 { 0.3 } else { 1.0 }).collect());
        let flair = ScanSettings::default();
        let unrefined = weighted(&image, &[heat.clone()], &flair);
        assert!(unrefined.data[10 * 32 + 9] > 0.2, "the prior alone keeps the other block");
        assert_eq!(columns_kept(&fuse(&image, &[heat], &flair), 0.05), (20..24).collect::<Vec<_>>());
    }

    #[test]
    fn the_shape_step_ignores_the_scalp_and_keeps_the_broadest_region() {
        // The intensity rule's map: both blocks and the scalp line are equally bright. The rim
        // band drops the scalp; the broad peak picks one whole block (the first, as they tie).
        let image = scan();
        let flair = ScanSettings::default();
        let shaped_map = shaped(&image, &intensity::prior(&image, &flair), &flair);
        assert_eq!(columns_kept(&shaped_map, 0.5), (8..12).collect::<Vec<_>>());
        assert!((0..32).all(|x| shaped_map.data[4 * 32 + x] == 0.0), "the scalp line is gone");
    }
}
