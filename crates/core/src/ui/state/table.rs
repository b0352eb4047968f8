//! The batch table as the page shows it and exports it: rows (look-ups of scores computed once,
//! when each result arrived), their order, the batch summary, the Dice curve and the CSV.

use super::{ItemId, PageState, SortKey};
use crate::evaluate::{spreadsheet_safe, ScoreGrid, SWEEP};
use crate::masks::Threshold;
use crate::metrics::{self, Confusion};

impl PageState {
    /// Table rows, in the chosen order. Each row is a look-up: scores were computed once,
    /// when each result arrived.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = self
            .items
            .iter()
            .map(|item| {
                let scores = item.scores(self.view.threshold);
                Row {
                    id: item.id,
                    file: item.name.clone(),
                    probability: item.result.as_ref().map(|r| r.probability),
                    predicted: item.result.as_ref().map(|r| r.probability >= crate::evaluate::GATE),
                    truth: item.label(),
                    dice: scores.map(|s| s.0),
                    iou: scores.map(|s| s.1),
                    gated_dice: item.gated_dice(self.view.threshold),
                    mask_on_negative: item.mask_on_negative(self.view.threshold),
                }
            })
            .collect();
        if let Some((key, ascending)) = self.sort {
            let f = |v: Option<f64>| v.unwrap_or(f64::NEG_INFINITY);
            let b = |v: Option<bool>| v.map(|b| b as i8).unwrap_or(-1);
            rows.sort_by(|x, y| {
                let order = match key {
                    SortKey::File => x.file.cmp(&y.file),
                    SortKey::Probability => f(x.probability.map(f64::from)).total_cmp(&f(y.probability.map(f64::from))),
                    SortKey::Predicted => b(x.predicted).cmp(&b(y.predicted)),
                    SortKey::Truth => b(x.truth).cmp(&b(y.truth)),
                    SortKey::Dice => f(x.dice).total_cmp(&f(y.dice)),
                    SortKey::GatedDice => f(x.gated_dice).total_cmp(&f(y.gated_dice)),
                };
                if ascending { order } else { order.reverse() }
            });
        }
        rows
    }

    /// Mean Dice over the batch at each sweep threshold (x) and with Otsu, from the score grids;
    /// `gated`: a tumour the model calls "no tumour" scores 0 (its mask is emptied).
    pub fn dice_curve(&self, gated: bool) -> (Vec<(f32, f64)>, Option<f64>) {
        let grids: Vec<(&ScoreGrid, bool)> = self.items.iter().filter_map(|i| Some((i.result.as_ref()?.scores.as_deref()?, gated && i.gated()))).collect();
        if grids.is_empty() {
            return (Vec::new(), None);
        }
        let mean_at = |t: Threshold| metrics::mean(&grids.iter().filter_map(|(g, zero)| g.at(t).map(|s| if *zero { 0.0 } else { s.0 })).collect::<Vec<_>>());
        let curve = SWEEP.iter().map(|&t| (t, mean_at(Threshold::Fixed(t)))).collect();
        (curve, Some(mean_at(Threshold::Otsu)))
    }

    /// The batch table as CSV (what the export button downloads).
    pub fn csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let opt = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
        let class = |v: Option<bool>| v.map(|t| if t { "tumour" } else { "no tumour" }).unwrap_or("").to_string();
        let method = self.method.map(|m| m.name()).unwrap_or("");
        let threshold = self.view.threshold.to_string();
        let block = self.block.to_string();
        w.write_record(["file", "probability", "predicted", "truth", "dice", "iou", "gated_dice", "method", "block", "threshold"]).expect("csv to memory");
        for r in self.rows() {
            w.write_record([spreadsheet_safe(&r.file).into_owned(), opt(r.probability.map(f64::from)), class(r.predicted), class(r.truth), opt(r.dice), opt(r.iou), opt(r.gated_dice), method.into(), block.clone(), threshold.clone()])
                .expect("csv to memory");
        }
        String::from_utf8(w.into_inner().expect("csv to memory")).expect("csv is utf-8")
    }
}

/// One row of the batch table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub id: ItemId,
    pub file: String,
    pub probability: Option<f32>,
    pub predicted: Option<bool>,
    pub truth: Option<bool>,
    pub dice: Option<f64>,
    pub iou: Option<f64>,
    /// Dice with the mask emptied where the model says "no tumour" (a miss scores 0).
    pub gated_dice: Option<f64>,
    /// On an image with an empty true mask: whether its mask as cut is not empty.
    pub mask_on_negative: Option<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BatchSummary {
    pub images: usize,
    pub analysed: usize,
    pub with_class: usize,
    pub accuracy: Option<f64>,
    /// Images with a non-empty true mask (the ones Dice is defined for).
    pub scored: usize,
    pub mean_dice: Option<f64>,
    /// The same with each mask gated by the model's answer (misses score 0).
    pub mean_gated_dice: Option<f64>,
    /// Analysed images whose true mask is empty, and how many of them get a mask: as cut, and
    /// gated (only those the model also calls "tumour").
    pub negatives: usize,
    pub negative_masks: usize,
    pub negative_masks_gated: usize,
}

impl BatchSummary {
    /// The summary of table rows already computed (scoring every image is the costly part).
    pub fn of(rows: &[Row]) -> BatchSummary {
        let known: Vec<&Row> = rows.iter().filter(|r| r.truth.is_some() && r.probability.is_some()).collect();
        let probs: Vec<f32> = known.iter().map(|r| r.probability.unwrap_or(0.0)).collect();
        let labels: Vec<bool> = known.iter().map(|r| r.truth.unwrap_or(false)).collect();
        let dice: Vec<f64> = rows.iter().filter_map(|r| r.dice).collect();
        let gated: Vec<f64> = rows.iter().filter_map(|r| r.gated_dice).collect();
        let negatives: Vec<&Row> = rows.iter().filter(|r| r.mask_on_negative.is_some()).collect();
        let with_mask = |gate: bool| negatives.iter().filter(|r| r.mask_on_negative == Some(true) && (!gate || r.predicted == Some(true))).count();
        BatchSummary {
            images: rows.len(),
            analysed: rows.iter().filter(|r| r.probability.is_some()).count(),
            with_class: known.len(),
            accuracy: (!known.is_empty()).then(|| Confusion::from_probs(&probs, &labels, crate::evaluate::GATE).accuracy()),
            scored: dice.len(),
            mean_dice: (!dice.is_empty()).then(|| metrics::mean(&dice)),
            mean_gated_dice: (!gated.is_empty()).then(|| metrics::mean(&gated)),
            negatives: negatives.len(),
            negative_masks: with_mask(false),
            negative_masks_gated: with_mask(true),
        }
    }

    /// The share of images with an empty true mask that get a (false-positive) mask: as cut,
    /// or gated by the answer.
    pub fn false_mask_rate(&self, gated: bool) -> Option<f64> {
        let n = if gated { self.negative_masks_gated } else { self.negative_masks };
        (self.negatives > 0).then(|| n as f64 / self.negatives as f64)
    }
}
