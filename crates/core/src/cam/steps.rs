//! How a CAM is made, for one image and one block: the block's feature maps, the weight the
//! method gives each, their weighted sum, the ReLU and the upsampling to the image (the page's
//! "How the heatmap is made" view). The weights come from the formula the maps themselves use
//! (`camseg-model`'s `Weigh::weights`, which computes these steps), so the steps add up to
//! the method's own heatmap.

use super::{heatmap, CamMethod};
use crate::plane::Plane;
use serde::{Deserialize, Serialize};

/// Channels kept that add most to the sum, and that take most from it.
pub const SHOWN_ADDING: usize = 8;
pub const SHOWN_TAKING: usize = 4;

/// One feature map and its part in the sum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelPart {
    /// The channel's index in its block.
    pub channel: usize,
    /// The block's activation map A_c (h x w).
    pub activation: Plane,
    /// Its weights: one number (1 x 1) or one per position (h x w).
    pub weight: Plane,
    /// A_c times its weights (h x w): what the channel adds to the sum.
    pub contribution: Plane,
    /// The contribution summed over positions.
    pub total: f32,
}

/// Every step from a block's activations to the heatmap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CamSteps {
    /// The method asked for, and the plain CAM it starts from, whose steps these are.
    pub method: CamMethod,
    pub base: CamMethod,
    pub block: usize,
    /// p(lesion) of the image.
    pub probability: f32,
    /// Channels in the block (all of them are in `sum`; `parts` holds the telling ones).
    pub channels: usize,
    /// The channels that add most, largest first, then the ones that take most, most negative last.
    pub parts: Vec<ChannelPart>,
    /// Sum over every channel of its contribution (h x w, before the ReLU).
    pub sum: Plane,
    /// The sum's positive part: the low-resolution map.
    pub relu: Plane,
    /// The map upsampled to the image and scaled to [0, 1]: the method's heatmap.
    pub heatmap: Plane,
}

impl CamSteps {
    /// The steps from one image's block activations [C,h,w] and their weights ([C] or
    /// [C,h,w], as `base` weighs), for an image of `image_size` (width, height).
    pub fn from_parts(method: CamMethod, base: CamMethod, block: usize, probability: f32, activations: &[f32], weights: &[f32], (w, h): (usize, usize), image_size: (usize, usize)) -> CamSteps {
        let cells = w * h;
        let channels = activations.len() / cells;
        let per_position = weights.len() == activations.len();
        debug_assert!(per_position || weights.len() == channels);
        let weight_of = |c: usize, i: usize| if per_position { weights[c * cells + i] } else { weights[c] };
        let contributions: Vec<Vec<f32>> = (0..channels).map(|c| (0..cells).map(|i| activations[c * cells + i] * weight_of(c, i)).collect()).collect();
        let sum: Vec<f32> = (0..cells).map(|i| contributions.iter().map(|c| c[i]).sum()).collect();
        let relu = Plane::new(w, h, sum.iter().map(|&v| v.max(0.0)).collect());
        let totals: Vec<f32> = contributions.iter().map(|c| c.iter().sum()).collect();
        let mut order: Vec<usize> = (0..channels).collect();
        order.sort_by(|&a, &b| totals[b].total_cmp(&totals[a]));
        let adding = order.iter().copied().filter(|&c| totals[c] > 0.0).take(SHOWN_ADDING);
        let taking = order.iter().rev().copied().filter(|&c| totals[c] < 0.0).take(SHOWN_TAKING).collect::<Vec<_>>().into_iter().rev();
        let parts = adding
            .chain(taking)
            .map(|c| ChannelPart {
                channel: c,
                activation: Plane::new(w, h, activations[c * cells..(c + 1) * cells].to_vec()),
                weight: if per_position { Plane::new(w, h, weights[c * cells..(c + 1) * cells].to_vec()) } else { Plane::new(1, 1, vec![weights[c]]) },
                contribution: Plane::new(w, h, contributions[c].clone()),
                total: totals[c],
            })
            .collect();
        CamSteps { method, base, block, probability, channels, parts, sum: Plane::new(w, h, sum), heatmap: heatmap(&relu, image_size.0, image_size.1), relu }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sum_holds_every_channel_and_the_parts_are_the_telling_ones() {
        // Three channels of 2 x 1: weights 1, -2, 0.5 (one per channel).
        let a = [1.0, 2.0, /**/ 1.0, 0.0, /**/ 4.0, 4.0];
        let s = CamSteps::from_parts(CamMethod::GradCam, CamMethod::GradCam, 0, 0.9, &a, &[1.0, -2.0, 0.5], (2, 1), (4, 2));
        assert_eq!(s.channels, 3);
        assert_eq!(s.sum.data, vec![1.0 - 2.0 + 2.0, 2.0 + 2.0]);
        assert_eq!(s.relu.data, s.sum.data.iter().map(|v| v.max(0.0)).collect::<Vec<_>>());
        // Channel 2 adds 4, channel 0 adds 3, channel 1 takes 2.
        assert_eq!(s.parts.iter().map(|p| (p.channel, p.total)).collect::<Vec<_>>(), vec![(2, 4.0), (0, 3.0), (1, -2.0)]);
        assert_eq!(s.parts[2].contribution.data, vec![-2.0, 0.0]);
        assert_eq!((s.heatmap.width, s.heatmap.height), (4, 2));
        assert_eq!(s.heatmap, heatmap(&s.relu, 4, 2));
        // Weights by position: each activation its own.
        let s = CamSteps::from_parts(CamMethod::HiResCam, CamMethod::HiResCam, 0, 0.9, &a, &[1.0, 0.0, 0.0, 0.0, 0.0, -1.0], (2, 1), (2, 1));
        assert_eq!(s.sum.data, vec![1.0, -4.0]);
        assert_eq!(s.relu.data, vec![1.0, 0.0]);
        assert_eq!(s.parts.iter().map(|p| p.channel).collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!((s.parts[0].weight.width, s.parts[0].weight.height), (2, 1));
    }
}
