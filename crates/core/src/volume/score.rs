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

/// One slice's voxel counts at a cut: what a volume's Dice is summed from.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tally {
    pub probability: f32,
    /// |P|, |P&T|, |T|.
    pub predicted: u64,
    pub overlap: u64,
    pub truth: u64,
}

/// 3D Dice over slices' tallies. With no tumour anywhere, Dice is 1 for an empty prediction
/// and 0 otherwise.
pub fn sum_dice(tallies: impl IntoIterator<Item = Tally>) -> VolumeDice {
    let (mut all, mut gated, mut slices) = (Tally::default(), Tally::default(), 0);
    for t in tallies {
        all.truth += t.truth;
        all.predicted += t.predicted;
        all.overlap += t.overlap;
        if t.probability >= crate::evaluate::GATE {
            gated.predicted += t.predicted;
            gated.overlap += t.overlap;
        }
        slices += 1;
    }
    let truth = all.truth;
    let dice = |t: &Tally| crate::metrics::dice_of_counts(t.predicted, truth, t.overlap);
    VolumeDice { dice: dice(&all), gated_dice: dice(&gated), truth_voxels: truth, predicted_voxels: all.predicted, slices }
}

/// 3D Dice over `slices` at `threshold`, from the counts each result carries; `None` when
/// the cut is off the slider's grid.
pub fn volume_dice<'a>(slices: impl IntoIterator<Item = SliceCounts<'a>>, threshold: Threshold) -> Option<VolumeDice> {
    let tallies = slices
        .into_iter()
        .map(|s| s.overlap.at(threshold).map(|[p, i]| Tally { probability: s.probability, predicted: p as u64, overlap: i as u64, truth: s.overlap.truth as u64 }))
        .collect::<Option<Vec<_>>>()?;
    Some(sum_dice(tallies))
}
