//! Pictures of results as RGBA pixels: the heatmap through a colour map, blended over the
//! scan, with mask contours on top. Shared by the CLI's PNGs and the page's canvas, so both
//! show the same thing.

use crate::masks::Mask;
use crate::plane::Plane;
use serde::{Deserialize, Serialize};

/// Colour maps offered for heatmaps (from the `colorous` crate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColourMap {
    Turbo,
    Inferno,
    Viridis,
    Magma,
}

impl ColourMap {
    pub const ALL: [ColourMap; 4] = [ColourMap::Turbo, ColourMap::Inferno, ColourMap::Viridis, ColourMap::Magma];

    pub fn name(self) -> &'static str {
        match self {
            ColourMap::Turbo => "turbo",
            ColourMap::Inferno => "inferno",
            ColourMap::Viridis => "viridis",
            ColourMap::Magma => "magma",
        }
    }

    fn gradient(self) -> colorous::Gradient {
        match self {
            ColourMap::Turbo => colorous::TURBO,
            ColourMap::Inferno => colorous::INFERNO,
            ColourMap::Viridis => colorous::VIRIDIS,
            ColourMap::Magma => colorous::MAGMA,
        }
    }

    pub fn rgb(self, t: f32) -> [u8; 3] {
        let c = self.gradient().eval_continuous(t.clamp(0.0, 1.0) as f64);
        [c.r, c.g, c.b]
    }
}

/// Contour colours: prediction and truth must be told apart at a glance.
pub const PREDICTED: [u8; 3] = [0, 255, 64];
pub const TRUTH: [u8; 3] = [255, 0, 255];

/// The heatmap alone, coloured.
pub fn heatmap_rgba(heat: &Plane, map: ColourMap) -> Vec<u8> {
    heat.data.iter().flat_map(|&v| {
        let [r, g, b] = map.rgb(v);
        [r, g, b, 255]
    }).collect()
}

/// A map whose values are all of one sign or none, in grey scaled to its own largest value
/// (a block's activations).
pub fn grey_rgba(plane: &Plane) -> Vec<u8> {
    let top = largest_magnitude(plane);
    plane.data.iter().flat_map(|&v| {
        let g = if top > 0.0 { (v.abs() / top * 255.0).round() as u8 } else { 0 };
        [g, g, g, 255]
    }).collect()
}

/// A signed map: red where it adds to the lesion score, blue where it takes from it, white at
/// zero; `scale` is the value drawn at full colour (several maps share one to be compared).
pub fn signed_rgba(plane: &Plane, scale: f32) -> Vec<u8> {
    plane.data.iter().flat_map(|&v| {
        let t = if scale > 0.0 { 0.5 - 0.5 * (v / scale).clamp(-1.0, 1.0) } else { 0.5 };
        let c = colorous::RED_BLUE.eval_continuous(t as f64);
        [c.r, c.g, c.b, 255]
    }).collect()
}

/// The largest magnitude in `plane` (a scale for [`signed_rgba`] that other maps can share).
pub fn largest_magnitude(plane: &Plane) -> f32 {
    plane.data.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// The scan in grey, the heatmap blended at `opacity` (weighted by heat, so cold regions stay
/// readable), then the contours of the predicted and true masks.
pub fn overlay_rgba(image: &Plane, heat: &Plane, map: ColourMap, opacity: f32, predicted: Option<&Mask>, truth: Option<&Mask>) -> Vec<u8> {
    assert_eq!((image.width, image.height), (heat.width, heat.height), "heatmap and image differ in size");
    let mut rgba: Vec<u8> = image
        .data
        .iter()
        .zip(&heat.data)
        .flat_map(|(&v, &h)| {
            let grey = v.clamp(0.0, 1.0) * 255.0;
            let colour = map.rgb(h);
            let a = opacity.clamp(0.0, 1.0) * (0.35 + 0.65 * h);
            let mix = |c: u8| (grey * (1.0 - a) + c as f32 * a).round() as u8;
            [mix(colour[0]), mix(colour[1]), mix(colour[2]), 255]
        })
        .collect();
    for (mask, colour) in [(truth, TRUTH), (predicted, PREDICTED)] {
        if let Some(mask) = mask {
            for (x, y) in mask.contour() {
                let i = 4 * (y * image.width + x);
                rgba[i..i + 3].copy_from_slice(&colour);
            }
        }
    }
    rgba
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_draws_contours_over_a_grey_scan() {
        let image = Plane::new(4, 4, vec![0.5; 16]);
        let heat = Plane::zeros(4, 4);
        let mut mask = Mask::empty(4, 4);
        mask.bits[5] = true;
        let rgba = overlay_rgba(&image, &heat, ColourMap::Turbo, 0.0, Some(&mask), None);
        assert_eq!(&rgba[20..23], &PREDICTED);
        assert_eq!(&rgba[0..4], &[128, 128, 128, 255]);
        assert_ne!(ColourMap::Turbo.rgb(0.0), ColourMap::Turbo.rgb(1.0));
    }

    #[test]
    fn signed_maps_are_red_up_blue_down_and_white_at_zero() {
        let p = Plane::new(3, 1, vec![2.0, 0.0, -1.0]);
        let rgba = signed_rgba(&p, largest_magnitude(&p));
        let (up, zero, down) = (&rgba[0..3], &rgba[4..7], &rgba[8..11]);
        assert!(up[0] > up[2] && down[2] > down[0], "{up:?} {down:?}");
        assert!(zero.iter().all(|&c| c > 230), "{zero:?}");
        assert_eq!(grey_rgba(&Plane::new(2, 1, vec![0.0, 4.0])), vec![0, 0, 0, 255, 255, 255, 255, 255]);
    }
}
