//! Scoring a model on a set of images: classification figures and CAM-mask Dice, at the chosen
//! threshold and over a sweep of thresholds. The CLI's `eval --json` and the page's batch view
//! both report a [`Summary`].

use crate::masks::{Mask, Threshold};
use crate::metrics::{self, Confusion};
use crate::plane::Plane;
use crate::uncertainty::{mean_at, Interval, Patients};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A text as a spreadsheet should show it: a leading `=`, `+`, `-`, `@`, tab or carriage
/// return would make a CSV cell a formula (a file name is the person's, not the program's), so
/// such cells get a leading apostrophe, as OWASP advises.
pub fn spreadsheet_safe(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// Thresholds of the Dice-vs-threshold sweep (Otsu is added beside them).
pub const SWEEP: [f32; 10] = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// Dice is reported separately over true masks at least this large: tiny masks make it noisy.
pub const LARGE_MASK_PX: usize = 50;

/// The probability at which the classifier says "tumour"; a gated mask is emptied below it.
pub const GATE: f32 = 0.5;

/// One image's scores.
#[derive(Clone, Debug, Serialize)]
pub struct ImageScore {
    pub file: String,
    /// Whose scan (the bootstrap resamples patients); the file itself when unknown.
    pub patient: String,
    pub label: bool,
    pub probability: f32,
    pub truth_px: usize,
    /// Pixels of the mask at the chosen threshold, when a true mask is known (empty or not).
    pub mask_px: Option<usize>,
    /// Dice at the chosen threshold; None when the true mask is empty (nothing to find).
    pub dice: Option<f64>,
    /// The same with the mask emptied where p < [`GATE`] (a missed tumour scores 0).
    pub gated_dice: Option<f64>,
    pub iou: Option<f64>,
    /// The pointing game: whether the map's peak lies inside the true mask (None when the true
    /// mask is empty). A map with no evidence anywhere (all zero) points nowhere: a miss.
    pub pointing_hit: Option<bool>,
    /// Dice at each [`SWEEP`] threshold, then Otsu.
    #[serde(skip)]
    pub sweep: Vec<f64>,
}

impl ImageScore {
    /// Scores a heatmap against its true mask (`None` = no mask known: classified only).
    pub fn new(file: &str, probability: f32, heat: &Plane, truth: Option<&Mask>, label: bool, threshold: Threshold) -> Self {
        let mask = truth.map(|_| threshold.apply(heat));
        let (dice, iou, sweep, truth_px) = match (truth.filter(|t| !t.is_empty()), &mask) {
            (Some(truth), Some(mask)) => {
                let sweep = SWEEP
                    .iter()
                    .map(|&t| Threshold::Fixed(t))
                    .chain([Threshold::Otsu])
                    .map(|t| metrics::dice(&t.apply(heat), truth))
                    .collect();
                (Some(metrics::dice(mask, truth)), Some(metrics::iou(mask, truth)), sweep, truth.area())
            }
            _ => (None, None, Vec::new(), 0),
        };
        let gated_dice = dice.map(|d| if probability >= GATE { d } else { 0.0 });
        let mask_px = mask.map(|m| m.area());
        let pointing_hit = truth.filter(|t| !t.is_empty()).map(|t| points_inside(heat, t));
        Self { file: file.into(), patient: file.into(), label, probability, truth_px, mask_px, dice, gated_dice, iou, pointing_hit, sweep }
    }

    /// The same score, attributed to `patient`.
    pub fn of_patient(self, patient: &str) -> Self {
        Self { patient: patient.into(), ..self }
    }

    /// Whether this is a known tumour-free image whose mask (gated or not) marks something.
    fn false_positive(&self, gated: bool) -> Option<bool> {
        let marked = self.mask_px? > 0 && (!gated || self.probability >= GATE);
        (self.truth_px == 0).then_some(marked)
    }
}

/// Whether the heatmap's peak (its first largest finite value) falls inside `truth`; a map
/// whose peak is not above 0 has no peak and misses. The heatmap is scaled to the mask's size
/// when they differ.
pub fn points_inside(heat: &Plane, truth: &Mask) -> bool {
    let heat = if (heat.width, heat.height) == (truth.width, truth.height) { std::borrow::Cow::Borrowed(heat) } else { std::borrow::Cow::Owned(heat.resize_bilinear(truth.width, truth.height)) };
    let peak = heat.data.iter().enumerate().filter(|(_, v)| v.is_finite()).fold(None::<(usize, f32)>, |best, (i, &v)| match best {
        Some((_, b)) if b >= v => best,
        _ => Some((i, v)),
    });
    matches!(peak, Some((i, v)) if v > 0.0 && truth.bits[i])
}

/// Dice and IoU of one heatmap against its (non-empty) true mask at every threshold the page's
/// slider offers (0, 0.05, ..., 1) and with Otsu. Computed once when a result arrives, so moving
/// the slider, sorting the table or drawing the batch curve is a look-up, not a rescoring.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreGrid {
    /// At k / [`ScoreGrid::STEPS`] for k = 0..=STEPS, then Otsu.
    pub dice: Vec<f64>,
    pub iou: Vec<f64>,
}

impl ScoreGrid {
    /// The slider's resolution: thresholds in steps of 1 / 20.
    pub const STEPS: usize = 20;

    /// Scores `heat` against `truth`; `None` when the truth is empty (nothing to find).
    pub fn new(heat: &Plane, truth: &Mask) -> Option<Self> {
        Self::from_overlap(&Overlap::new(heat, truth))
    }

    /// The same from pixel counts already taken.
    pub fn from_overlap(overlap: &Overlap) -> Option<Self> {
        if overlap.truth == 0 {
            return None;
        }
        let t = overlap.truth as u64;
        let (dice, iou) = overlap.cuts.iter().map(|&[p, i]| (metrics::dice_of_counts(p as u64, t, i as u64), metrics::iou_of_counts(p as u64, t, i as u64))).unzip();
        Some(Self { dice, iou })
    }

    fn slot(threshold: Threshold) -> Option<usize> {
        match threshold {
            Threshold::Otsu => Some(Self::STEPS + 1),
            Threshold::Fixed(t) => {
                let k = (t * Self::STEPS as f32).round();
                ((t * Self::STEPS as f32 - k).abs() < 1e-3 && (0.0..=Self::STEPS as f32).contains(&k)).then_some(k as usize)
            }
        }
    }

    /// (Dice, IoU) at `threshold`, or `None` when it is not on the grid.
    pub fn at(&self, threshold: Threshold) -> Option<(f64, f64)> {
        Self::slot(threshold).map(|k| (self.dice[k], self.iou[k]))
    }
}

/// Pixel counts of one heatmap's masks against its true mask (empty or not) at every slider
/// threshold and Otsu: what a volume's Dice is summed from (3D Dice is 2 sum|P&T| /
/// (sum|P| + sum|T|) over its slices, not a mean of slice Dice).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overlap {
    /// |T|.
    pub truth: u32,
    /// (|P|, |P&T|) at k / [`ScoreGrid::STEPS`] for k = 0..=STEPS, then Otsu.
    pub cuts: Vec<[u32; 2]>,
}

impl Overlap {
    /// Counts every cut in two passes over the pixels instead of one mask per cut (22 masks
    /// were most of the page's scoring time): each pixel is binned by how many grid cuts it
    /// passes, and the counts at cut k are the sums over the bins above k.
    pub fn new(heat: &Plane, truth: &Mask) -> Self {
        let steps = ScoreGrid::STEPS;
        let grid: Vec<f32> = (0..=steps).map(|k| k as f32 / steps as f32).collect();
        // passed[c] = (pixels outside the truth, pixels in it) passing exactly the cuts 0..c.
        let mut passed = vec![[0u32; 2]; steps + 2];
        for (&v, &t) in heat.data.iter().zip(&truth.bits) {
            passed[cuts_passed(v, &grid)][usize::from(t)] += 1;
        }
        let mut cuts = vec![[0u32; 2]; steps + 1];
        let mut above = [0u32; 2];
        for k in (0..=steps).rev() {
            above = [above[0] + passed[k + 1][0], above[1] + passed[k + 1][1]];
            cuts[k] = [above[0] + above[1], above[1]];
        }
        let otsu = Threshold::Otsu.value_for(heat);
        let inside = heat.data.iter().zip(&truth.bits).filter(|(v, _)| **v >= otsu);
        let (area, inter) = inside.fold((0u32, 0u32), |(a, i), (_, &t)| (a + 1, i + u32::from(t)));
        cuts.push([area, inter]);
        Self { truth: truth.area() as u32, cuts }
    }

    /// (|P|, |P&T|) at `threshold`, or `None` when it is not on the grid.
    pub fn at(&self, threshold: Threshold) -> Option<[u32; 2]> {
        ScoreGrid::slot(threshold).and_then(|k| self.cuts.get(k).copied())
    }
}

/// How many of the ascending cuts `grid` the value passes (`v >= cut`, as [`Threshold`] applies
/// them): a first guess from `v`'s position, corrected where rounding put it one cut off.
fn cuts_passed(v: f32, grid: &[f32]) -> usize {
    if !(v >= grid[0]) {
        return 0; // below every cut, or NaN
    }
    let last = grid.len() - 1;
    let mut k = ((v * last as f32) as usize).min(last); // v >= grid[0] = 0, so no negatives
    while k < last && v >= grid[k + 1] {
        k += 1;
    }
    while v < grid[k] {
        k -= 1;
    }
    k + 1
}

/// The figures `camseg eval --json` prints (other tools parse these names).
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub images: usize,
    pub tumour_images: usize,
    pub accuracy: f64,
    pub auc: f64,
    pub sensitivity: f64,
    pub specificity: f64,
    /// Mean Dice over images whose true mask is not empty.
    pub mean_dice: f64,
    /// The same over true masks of at least [`LARGE_MASK_PX`] pixels.
    pub mean_dice_ge50: f64,
    pub method: String,
    pub block: usize,
    pub threshold: String,
    /// Mean Dice (non-empty truths) at each swept threshold and `otsu`.
    pub dice_by_threshold: BTreeMap<String, f64>,
    /// Patients among the images (the unit every interval resamples).
    pub patients: usize,
    /// 95% patient-bootstrap interval of `mean_dice`.
    pub mean_dice_ci95: Interval,
    /// The mean over patients of each patient's mean Dice (every patient counts once).
    pub patient_mean_dice: f64,
    pub auc_ci95: Interval,
    /// Mean Dice with masks emptied where p < 0.5 (a missed tumour scores 0).
    pub gated_mean_dice: f64,
    pub gated_mean_dice_ci95: Interval,
    /// Images known to be tumour-free (empty true mask).
    pub no_tumour_images: usize,
    /// Share of those whose mask at the threshold is not empty, and the same gated.
    pub false_positive_rate: f64,
    pub gated_false_positive_rate: f64,
    /// Share of images with a non-empty true mask whose map peaks inside it, with its 95%
    /// patient-bootstrap interval.
    pub pointing_game: f64,
    pub pointing_game_ci95: Interval,
    /// Each patient's tumour slices and mean Dice.
    pub per_patient: BTreeMap<String, PatientDice>,
}

/// One patient's share of a [`Summary`].
#[derive(Clone, Debug, Serialize)]
pub struct PatientDice {
    pub tumour_slices: usize,
    pub mean_dice: f64,
    pub gated_mean_dice: f64,
}

pub fn summarise(scores: &[ImageScore], method: &str, block: usize, threshold: Threshold) -> Summary {
    let probs: Vec<f32> = scores.iter().map(|s| s.probability).collect();
    let labels: Vec<bool> = scores.iter().map(|s| s.label).collect();
    let confusion = Confusion::from_probs(&probs, &labels, GATE);
    let dices: Vec<f64> = scores.iter().filter_map(|s| s.dice).collect();
    let large: Vec<f64> = scores.iter().filter(|s| s.truth_px >= LARGE_MASK_PX).filter_map(|s| s.dice).collect();
    let scored: Vec<&ImageScore> = scores.iter().filter(|s| !s.sweep.is_empty()).collect();
    let names = SWEEP.iter().map(|t| format!("{t}")).chain(["otsu".to_string()]);
    let dice_by_threshold = names
        .enumerate()
        .map(|(k, name)| (name, metrics::mean(&scored.iter().map(|s| s.sweep[k]).collect::<Vec<_>>())))
        .collect();
    let patients = Patients::of(&scores.iter().map(|s| s.patient.as_str()).collect::<Vec<_>>());
    let dice: Vec<Option<f64>> = scores.iter().map(|s| s.dice).collect();
    let gated: Vec<Option<f64>> = scores.iter().map(|s| s.gated_dice).collect();
    let hits: Vec<Option<f64>> = scores.iter().map(|s| s.pointing_hit.map(|h| h as u8 as f64)).collect();
    let auc_at = |items: &[usize]| {
        let (p, l): (Vec<f32>, Vec<bool>) = items.iter().map(|&i| (probs[i], labels[i])).unzip();
        metrics::roc_auc(&p, &l)
    };
    let rate = |gate: bool| {
        let fp: Vec<f64> = scores.iter().filter_map(|s| s.false_positive(gate)).map(|b| b as u8 as f64).collect();
        metrics::mean(&fp)
    };
    // One pass: each patient's tumour slices' Dice, as cut and gated.
    let mut by_patient: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for s in scores {
        if let (Some(d), Some(g)) = (s.dice, s.gated_dice) {
            let entry = by_patient.entry(s.patient.as_str()).or_default();
            entry.0.push(d);
            entry.1.push(g);
        }
    }
    let per_patient: BTreeMap<String, PatientDice> = by_patient
        .into_iter()
        .map(|(name, (d, g))| (name.to_string(), PatientDice { tumour_slices: d.len(), mean_dice: metrics::mean(&d), gated_mean_dice: metrics::mean(&g) }))
        .collect();
    Summary {
        patients: patients.len(),
        mean_dice_ci95: patients.bootstrap(|items| mean_at(&dice, items)),
        patient_mean_dice: metrics::mean(&per_patient.values().map(|p| p.mean_dice).collect::<Vec<_>>()),
        auc_ci95: patients.bootstrap(auc_at),
        gated_mean_dice: metrics::mean(&gated.iter().flatten().copied().collect::<Vec<_>>()),
        gated_mean_dice_ci95: patients.bootstrap(|items| mean_at(&gated, items)),
        no_tumour_images: scores.iter().filter(|s| s.false_positive(false).is_some()).count(),
        false_positive_rate: rate(false),
        gated_false_positive_rate: rate(true),
        pointing_game: metrics::mean(&hits.iter().flatten().copied().collect::<Vec<_>>()),
        pointing_game_ci95: patients.bootstrap(|items| mean_at(&hits, items)),
        per_patient,
        images: scores.len(),
        tumour_images: labels.iter().filter(|&&l| l).count(),
        accuracy: confusion.accuracy(),
        auc: metrics::roc_auc(&probs, &labels),
        sensitivity: confusion.sensitivity(),
        specificity: confusion.specificity(),
        mean_dice: metrics::mean(&dices),
        mean_dice_ge50: metrics::mean(&large),
        method: method.into(),
        block,
        threshold: threshold.to_string(),
        dice_by_threshold,
    }
}

/// Two methods scored on the same images: the difference of their mean Dice (a - b), with a
/// paired patient bootstrap (both means from the same resample).
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub method: String,
    pub threshold: String,
    pub mean_dice: f64,
    pub gated_mean_dice: f64,
    /// This summary's method minus this one.
    pub difference: f64,
    pub difference_ci95: Interval,
    pub gated_difference: f64,
    pub gated_difference_ci95: Interval,
}

/// Compares scores `a` (the method reported) with `b` (a baseline) image by image.
pub fn compare(a: &[ImageScore], b: &[ImageScore], method: &str, threshold: Threshold) -> Comparison {
    assert!(a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.file == y.file), "a comparison needs the same images in the same order");
    let patients = Patients::of(&a.iter().map(|s| s.patient.as_str()).collect::<Vec<_>>());
    let column = |s: &[ImageScore], gated: bool| s.iter().map(|x| if gated { x.gated_dice } else { x.dice }).collect::<Vec<_>>();
    let (da, db, ga, gb) = (column(a, false), column(b, false), column(a, true), column(b, true));
    let all: Vec<usize> = (0..a.len()).collect();
    let diff = |x: &[Option<f64>], y: &[Option<f64>], items: &[usize]| mean_at(x, items) - mean_at(y, items);
    Comparison {
        method: method.into(),
        threshold: threshold.to_string(),
        mean_dice: mean_at(&db, &all),
        gated_mean_dice: mean_at(&gb, &all),
        difference: diff(&da, &db, &all),
        difference_ci95: patients.bootstrap(|items| diff(&da, &db, items)),
        gated_difference: diff(&ga, &gb, &all),
        gated_difference_ci95: patients.bootstrap(|items| diff(&ga, &gb, items)),
    }
}

/// The threshold (swept value or Otsu) with the best mean Dice, for choosing on validation data.
pub fn best_threshold(summary: &Summary) -> Option<(Threshold, f64)> {
    summary
        .dice_by_threshold
        .iter()
        .filter(|(_, d)| d.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1))
        .and_then(|(name, &d)| Threshold::parse(name).ok().map(|t| (t, d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_counts_what_each_cut_s_mask_holds() {
        // Values on and beside every cut, NaN, below 0 and above 1, and a random spread.
        let mut values = vec![f32::NAN, -0.5, -0.0, 1.0, 1.5, f32::INFINITY];
        for k in 0..=ScoreGrid::STEPS {
            let cut = k as f32 / ScoreGrid::STEPS as f32;
            values.extend([cut, f32::from_bits(cut.to_bits().wrapping_sub(1)), f32::from_bits(cut.to_bits() + 1), (k as f64 / 20.0 + 1e-9) as f32]);
        }
        let mut state = 12345u32;
        while values.len() < 64 * 64 {
            state = state.wrapping_mul(1664525).wrapping_add(1013904223);
            values.push((state >> 8) as f32 / (1u32 << 24) as f32);
        }
        let heat = Plane::new(64, 64, values);
        let truth = Mask::new(64, 64, (0..64 * 64).map(|i| (i * 7) % 3 == 0).collect());
        let got = Overlap::new(&heat, &truth);
        let cuts = (0..=ScoreGrid::STEPS).map(|k| Threshold::Fixed(k as f32 / ScoreGrid::STEPS as f32)).chain([Threshold::Otsu]);
        let want: Vec<[u32; 2]> = cuts
            .map(|t| t.apply(&heat))
            .map(|m| [m.area() as u32, m.bits.iter().zip(&truth.bits).filter(|(a, b)| **a && **b).count() as u32])
            .collect();
        assert_eq!(got.cuts, want);
        assert_eq!(got.truth, truth.area() as u32);
    }

    #[test]
    fn the_pointing_game_hits_where_the_peak_is_inside_and_misses_on_a_blank_map() {
        let truth = Mask::new(4, 1, vec![false, false, true, true]);
        assert!(points_inside(&Plane::new(4, 1, vec![0.1, 0.2, 0.9, 0.3]), &truth));
        assert!(!points_inside(&Plane::new(4, 1, vec![0.9, 0.2, 0.5, 0.3]), &truth));
        assert!(!points_inside(&Plane::zeros(4, 1), &Mask::new(4, 1, vec![true; 4])), "no evidence, no point");
        assert!(points_inside(&Plane::new(4, 1, vec![f32::NAN, 0.0, 0.5, 0.0]), &truth), "NaN is never the peak");
        let scores: Vec<ImageScore> = [(0.9, true), (0.1, false)]
            .iter()
            .map(|&(v, _)| ImageScore::new("x", 0.9, &Plane::new(4, 1, vec![v, 0.0, 0.5, 0.0]), Some(&truth), true, Threshold::Fixed(0.4)))
            .collect();
        assert_eq!(summarise(&scores, "m", 0, Threshold::Fixed(0.4)).pointing_game, 0.5);
    }

    #[test]
    fn formulas_in_names_are_defused_for_spreadsheets() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        assert_eq!(spreadsheet_safe("+1.png"), "'+1.png");
        assert_eq!(spreadsheet_safe("@a.png"), "'@a.png");
        assert_eq!(spreadsheet_safe("scan-1.png"), "scan-1.png");
    }

    #[test]
    fn summary_counts_dice_only_where_there_is_a_tumour() {
        let heat = Plane::new(4, 1, vec![0.0, 0.2, 0.8, 1.0]);
        let truth = Mask::new(4, 1, vec![false, false, true, true]);
        let t = Threshold::Fixed(0.5);
        let a = ImageScore::new("a", 0.9, &heat, Some(&truth), true, t);
        let b = ImageScore::new("b", 0.2, &heat, Some(&Mask::empty(4, 1)), false, t);
        let c = ImageScore::new("c", 0.7, &heat, None, false, t);
        assert_eq!(a.dice, Some(1.0));
        assert_eq!(b.dice, None);
        let s = summarise(&[a, b, c], "gradcam", 3, t);
        assert_eq!((s.images, s.tumour_images), (3, 1));
        assert_eq!(s.mean_dice, 1.0);
        assert!(s.mean_dice_ge50.is_nan());
        assert!((s.accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.dice_by_threshold["0.1"], 2.0 * 2.0 / 5.0);
        assert_eq!((s.no_tumour_images, s.false_positive_rate, s.gated_false_positive_rate), (1, 1.0, 0.0));
        assert_eq!(s.gated_mean_dice, 1.0);
        let (best, d) = best_threshold(&s).unwrap();
        assert_eq!(d, 1.0);
        // The chosen cut really gives that Dice on the map.
        assert_eq!(metrics::dice(&best.apply(&heat), &truth), 1.0);
    }

    #[test]
    fn gating_and_paired_comparisons_count_patients_not_slices() {
        let heat = Plane::new(4, 1, vec![0.0, 0.2, 0.8, 1.0]);
        let truth = Mask::new(4, 1, vec![false, false, true, true]);
        let t = Threshold::Fixed(0.5);
        // Patient a: three slices found (Dice 1); patient b: one slice the classifier missed.
        let a: Vec<ImageScore> = (0..4)
            .map(|i| ImageScore::new(&format!("{i}"), if i < 3 { 0.9 } else { 0.1 }, &heat, Some(&truth), true, t).of_patient(if i < 3 { "a" } else { "b" }))
            .collect();
        let s = summarise(&a, "m", 3, t);
        assert_eq!((s.patients, s.mean_dice, s.gated_mean_dice), (2, 1.0, 0.75));
        assert_eq!((s.per_patient["b"].mean_dice, s.per_patient["b"].gated_mean_dice), (1.0, 0.0));
        assert!(s.gated_mean_dice_ci95.low == 0.0 && s.gated_mean_dice_ci95.high == 1.0, "{}", s.gated_mean_dice_ci95);
        // A baseline whose masks are empty: the difference is 1 on every resample.
        let empty = Plane::zeros(4, 1);
        let b: Vec<ImageScore> = a.iter().map(|x| ImageScore::new(&x.file, x.probability, &empty, Some(&truth), true, t).of_patient(&x.patient)).collect();
        let c = compare(&a, &b, "empty", t);
        assert_eq!((c.mean_dice, c.difference), (0.0, 1.0));
        assert_eq!((c.difference_ci95.low, c.difference_ci95.high), (1.0, 1.0));
        assert_eq!(c.gated_difference, 0.75);
    }

    #[test]
    fn the_score_grid_agrees_with_scoring_at_each_threshold() {
        let heat = Plane::new(5, 1, vec![0.0, 0.3, 0.55, 0.8, 1.0]);
        let truth = Mask::new(5, 1, vec![false, false, true, true, false]);
        let grid = ScoreGrid::new(&heat, &truth).unwrap();
        assert_eq!(grid.dice.len(), ScoreGrid::STEPS + 2);
        for t in [Threshold::Fixed(0.0), Threshold::Fixed(0.55), Threshold::Fixed(0.8), Threshold::Fixed(1.0), Threshold::Otsu] {
            let mask = t.apply(&heat);
            assert_eq!(grid.at(t), Some((metrics::dice(&mask, &truth), metrics::iou(&mask, &truth))), "{t}");
        }
        assert_eq!(grid.at(Threshold::Fixed(0.33)), None, "off the grid");
        assert!(ScoreGrid::new(&heat, &Mask::empty(5, 1)).is_none());
    }
}
