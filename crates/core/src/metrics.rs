//! Scores: overlap of masks and quality of the classifier.
//!
//! Empty-mask convention (stated once, used everywhere): Dice and IoU of two empty masks are 1
//! (nothing to find, nothing found); an empty prediction against a non-empty truth scores 0.

use crate::masks::Mask;
use serde::Serialize;

fn overlap(pred: &Mask, truth: &Mask) -> (usize, usize, usize) {
    assert_eq!((pred.width, pred.height), (truth.width, truth.height), "masks of different sizes");
    let inter = pred.bits.iter().zip(&truth.bits).filter(|(a, b)| **a && **b).count();
    (inter, pred.area(), truth.area())
}

/// Dice = 2|P∩T| / (|P| + |T|).
pub fn dice(pred: &Mask, truth: &Mask) -> f64 {
    let (inter, p, t) = overlap(pred, truth);
    dice_of_counts(p as u64, t as u64, inter as u64)
}

/// IoU = |P∩T| / |P∪T|.
pub fn iou(pred: &Mask, truth: &Mask) -> f64 {
    let (inter, p, t) = overlap(pred, truth);
    iou_of_counts(p as u64, t as u64, inter as u64)
}

/// Dice from pixel (or voxel) counts: predicted, true and both. Every Dice in camseg (per
/// image, per cut of a score grid, per volume) comes from here.
pub fn dice_of_counts(predicted: u64, truth: u64, overlap: u64) -> f64 {
    if predicted + truth == 0 { 1.0 } else { 2.0 * overlap as f64 / (predicted + truth) as f64 }
}

/// IoU from the same counts.
pub fn iou_of_counts(predicted: u64, truth: u64, overlap: u64) -> f64 {
    let union = predicted + truth - overlap;
    if union == 0 { 1.0 } else { overlap as f64 / union as f64 }
}

/// Binary classification figures at one decision threshold.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Confusion {
    pub tp: usize,
    pub tn: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Confusion {
    /// Counts predictions `prob >= cut` against labels (true = tumour).
    pub fn from_probs(probs: &[f32], labels: &[bool], cut: f32) -> Self {
        let mut c = Confusion::default();
        for (&p, &l) in probs.iter().zip(labels) {
            match (p >= cut, l) {
                (true, true) => c.tp += 1,
                (false, false) => c.tn += 1,
                (true, false) => c.fp += 1,
                (false, true) => c.fn_ += 1,
            }
        }
        c
    }

    fn ratio(a: usize, b: usize) -> f64 {
        if b == 0 { f64::NAN } else { a as f64 / b as f64 }
    }

    pub fn accuracy(&self) -> f64 {
        Self::ratio(self.tp + self.tn, self.tp + self.tn + self.fp + self.fn_)
    }

    /// True-positive rate (recall on tumour images). NaN without tumour images.
    pub fn sensitivity(&self) -> f64 {
        Self::ratio(self.tp, self.tp + self.fn_)
    }

    /// True-negative rate. NaN without tumour-free images.
    pub fn specificity(&self) -> f64 {
        Self::ratio(self.tn, self.tn + self.fp)
    }
}

/// Area under the ROC curve, as the Mann-Whitney probability that a random positive scores
/// above a random negative (ties count half). NaN when one class is missing.
pub fn roc_auc(scores: &[f32], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Average ranks over ties.
    let mut ranks = vec![0.0f64; scores.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    let pos = labels.iter().filter(|&&l| l).count() as f64;
    let neg = labels.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return f64::NAN;
    }
    let rank_sum: f64 = ranks.iter().zip(labels).filter(|(_, &l)| l).map(|(r, _)| r).sum();
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// A gate balanced on held-out images: the logit shift that moves p = 0.5 to the cut with
/// the best balanced accuracy of `probs` (the model's own on `labels`), and that cut; `None`
/// when a class is missing. For classes as unbalanced as BUSI's, where p = 0.5 sits far from
/// that cut. Since p moves monotonically, the shifted model's calls at 0.5 are `probs`' calls
/// at the cut: nothing needs predicting again.
pub fn balanced_gate(probs: &[f32], labels: &[bool]) -> Option<(f32, f32)> {
    let cut = balanced_cut(probs, labels)?.clamp(1e-6, 1.0 - 1e-6);
    Some((-(cut / (1.0 - cut)).ln(), cut))
}

/// The cut on `scores` (a positive where score >= cut) with the best balanced accuracy
/// (Youden's J: sensitivity + specificity - 1), halfway between two neighbouring scores; on
/// a tie, the one nearest 0.5. `None` when one class is missing.
pub fn balanced_cut(scores: &[f32], labels: &[bool]) -> Option<f32> {
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut ranked: Vec<(f32, bool)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    // One sweep upwards: below each candidate cut lie the images counted so far.
    let (mut missed, mut cleared) = (0usize, 0usize);
    let mut best: Option<(f64, f32)> = None;
    for (i, &(score, label)) in ranked.iter().enumerate() {
        if label { missed += 1 } else { cleared += 1 }
        let Some(&(next, _)) = ranked.get(i + 1).filter(|(next, _)| *next != score) else { continue };
        let cut = (score + next) / 2.0;
        let j = (positives - missed) as f64 / positives as f64 + cleared as f64 / negatives as f64 - 1.0;
        let better = match best {
            None => true,
            Some((b, at)) => j > b + 1e-12 || ((j - b).abs() <= 1e-12 && (cut - 0.5).abs() < (at - 0.5).abs()),
        };
        if better {
            best = Some((j, cut));
        }
    }
    best.map(|(_, cut)| cut)
}

/// Mean of the values, NaN when there are none (so an empty set cannot look like a score).
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() { f64::NAN } else { values.iter().sum::<f64>() / values.len() as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(bits: &[u8]) -> Mask {
        Mask::new(bits.len(), 1, bits.iter().map(|&b| b == 1).collect())
    }

    #[test]
    fn the_balanced_cut_maximises_youdens_j_and_prefers_the_middle_on_ties() {
        let scores = [0.9, 0.8, 0.7, 0.75, 0.6, 0.2];
        let labels = [true, true, true, false, false, false];
        // Between 0.6 and 0.7 (J = 1 + 2/3 - 1) ties with between 0.75 and 0.8 (2/3 + 1 - 1);
        // 0.65 is nearer 0.5.
        assert!((balanced_cut(&scores, &labels).unwrap() - 0.65).abs() < 1e-6);
        let c = Confusion::from_probs(&scores, &labels, 0.65);
        assert_eq!((c.sensitivity(), c.specificity()), (1.0, 2.0 / 3.0));
        // Separable scores: the cut falls in the gap, far from 0.5 if need be.
        assert!((balanced_cut(&[0.99, 0.97, 0.9, 0.8], &[true, true, false, false]).unwrap() - 0.935).abs() < 1e-6);
        assert_eq!(balanced_cut(&[0.3, 0.7], &[true, true]), None);
        // The gate's shift puts p = 0.5 at the cut: logit(0.65) + shift = 0.
        let (shift, cut) = balanced_gate(&scores, &labels).unwrap();
        assert!((cut - 0.65).abs() < 1e-6 && ((0.65f32 / 0.35).ln() + shift).abs() < 1e-5);
        assert_eq!(balanced_gate(&[0.3, 0.7], &[true, true]), None);
    }

    #[test]
    fn dice_and_iou_on_constructed_masks() {
        let p = mask(&[1, 1, 1, 1, 0, 0, 0, 0]);
        let t = mask(&[0, 0, 1, 1, 1, 1, 0, 0]);
        assert!((dice(&p, &t) - 0.5).abs() < 1e-12);
        assert!((iou(&p, &t) - 2.0 / 6.0).abs() < 1e-12);
        assert_eq!(dice(&p, &p), 1.0);
        assert_eq!(dice(&p, &p.inverted()), 0.0);
    }

    #[test]
    fn empty_mask_convention() {
        let empty = mask(&[0, 0, 0]);
        let some = mask(&[0, 1, 0]);
        assert_eq!(dice(&empty, &empty), 1.0);
        assert_eq!(iou(&empty, &empty), 1.0);
        assert_eq!(dice(&empty, &some), 0.0);
        assert_eq!(dice(&some, &empty), 0.0);
    }

    #[test]
    fn confusion_figures() {
        let probs = [0.9, 0.8, 0.3, 0.6, 0.1];
        let labels = [true, true, true, false, false];
        let c = Confusion::from_probs(&probs, &labels, 0.5);
        assert_eq!((c.tp, c.fn_, c.fp, c.tn), (2, 1, 1, 1));
        assert!((c.accuracy() - 0.6).abs() < 1e-12);
        assert!((c.sensitivity() - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.specificity() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn auc_counts_ordered_pairs_and_ties() {
        // Positives 0.9, 0.8, 0.3; negatives 0.6, 0.1: 5 of 6 pairs ordered.
        let auc = roc_auc(&[0.9, 0.8, 0.3, 0.6, 0.1], &[true, true, true, false, false]);
        assert!((auc - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(roc_auc(&[0.5, 0.5], &[true, false]), 0.5);
        assert!(roc_auc(&[0.5], &[true]).is_nan());
    }
}
