//! A volume's Dice: summed over its slices' pixel counts (3D Dice), with or without gating
//! each slice by the classifier's answer.

use crate::evaluate::Overlap;
use crate::masks::Threshold;
use serde::Serialize;

/// One analysed slice: the classifier's probability and its masks' counts against the labels.
#[derive(Clone, Copy, Debug)]
pub struct SliceCounts<'a> {
    pub probability: f32,
    pub overlap: &'a Overlap,
}

/// 3D Dice at one cut.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct VolumeDice {
    /// Every slice's mask as cut.
    pub dice: f64,
    /// Slices the classifier calls "no tumour" (p < 0.5) contribute no mask.
    pub gated_dice: f64,
    pub truth_voxels: u64,
    pub predicted_voxels: u64,
    pub slices: usize,
}

/// 3D Dice over `slices` at `threshold`; `None` when the cut is off the slider's grid. With
/// no tumour anywhere, Dice is 1 for an empty prediction and 0 otherwise.
pub fn volume_dice<'a>(slices: impl IntoIterator<Item = SliceCounts<'a>>, threshold: Threshold) -> Option<VolumeDice> {
    let (mut truth, mut pred, mut inter, mut gated_pred, mut gated_inter, mut n) = (0u64, 0u64, 0u64, 0u64, 0u64, 0usize);
    for s in slices {
        let [p, i] = s.overlap.at(threshold)?;
        truth += s.overlap.truth as u64;
        pred += p as u64;
        inter += i as u64;
        if s.probability >= 0.5 {
            gated_pred += p as u64;
            gated_inter += i as u64;
        }
        n += 1;
    }
    let dice = |i: u64, p: u64| if p + truth == 0 { 1.0 } else { 2.0 * i as f64 / (p + truth) as f64 };
    Some(VolumeDice { dice: dice(inter, pred), gated_dice: dice(gated_inter, gated_pred), truth_voxels: truth, predicted_voxels: pred, slices: n })
}
