//! The card's CAM default chosen on val (by `camseg train` and `camseg card`), what it was
//! chosen from, and the chosen default's figures on a split that only reports.

use crate::eval::score_records;
use burn::tensor::Device;
use camseg::cam::CamMethod;
use camseg::card::{CamDefaults, MethodDefault, ModelCard};
use camseg::data::{Dataset, Negatives, Record};
use camseg::evaluate::{best_threshold, summarise, ImageScore, SWEEP};
use camseg::model::Classifier;
use camseg::Result;

/// The CAM method, block (the last two) and cut whose masks segment the validation tumours
/// best, and that mean Dice. Every method competes, the classifier-free `intensity` too: the
/// default is what val says, whatever it credits. Each method's own best block and cut go
/// into `per_method`. None without validation tumours.
pub fn choose_cam(model: &Classifier, card: &ModelCard, ds: &Dataset, val: &[Record], device: &Device) -> Result<Option<Choice>> {
    let last = card.architecture.blocks() - 1;
    if !ds.has_lesion_masks(val) {
        eprintln!("val has no lesion masks: the card keeps the default CAM settings, and no Dice is recorded");
        return Ok(None);
    }
    let mut per_method: Vec<MethodDefault> = Vec::new();
    let mut candidates = Candidates::default();
    for method in CamMethod::FROM_BLOCKS {
        for block in last.saturating_sub(1)..=last {
            let scores = score_records(model, &card.input, ds, val, method, block, card.cam.threshold, 32, device)?;
            candidates.add(method, block, &scores);
            let summary = summarise(&scores, method.name(), block, card.cam.threshold);
            if let Some((threshold, dice)) = best_threshold(&summary) {
                eprintln!("val: {} block {block} best threshold {threshold}: mean Dice {dice:.4}", method.name());
                let best = MethodDefault { method, block, threshold, val_mean_dice: dice };
                match per_method.iter_mut().find(|d| d.method == method) {
                    Some(d) if dice > d.val_mean_dice => *d = best,
                    Some(_) => {}
                    None => per_method.push(best),
                }
            }
        }
    }
    // Ties go to the earlier method in `CamMethod::FROM_BLOCKS`.
    let best = per_method.iter().fold(None::<&MethodDefault>, |b, d| if b.is_none_or(|b| d.val_mean_dice > b.val_mean_dice) { Some(d) } else { b });
    Ok(best.cloned().map(|b| Choice { cam: CamDefaults { method: b.method, block: b.block, threshold: b.threshold, per_method: per_method.clone() }, dice: b.val_mean_dice, candidates }))
}

/// The CAM default val chose, its val mean Dice, and everything it was chosen from.
pub struct Choice {
    pub cam: CamDefaults,
    pub dice: f64,
    pub candidates: Candidates,
}

/// Every (method, block, cut) the choice weighed, with each val lesion image's Dice under it:
/// what a split-half check of the choice needs (`camseg card --choice-scores`,
/// `scripts/split-half.py`).
#[derive(Default)]
pub struct Candidates {
    /// Each scored image's cluster (or patient), in the order of every column.
    clusters: Vec<String>,
    columns: Vec<(String, Vec<f64>)>,
}

impl Candidates {
    fn add(&mut self, method: CamMethod, block: usize, scores: &[ImageScore]) {
        let scored: Vec<_> = scores.iter().filter(|s| !s.sweep.is_empty()).collect();
        if self.clusters.is_empty() {
            self.clusters = scored.iter().map(|s| s.patient.clone()).collect();
        }
        let cuts = SWEEP.iter().map(|t| t.to_string()).chain(["otsu".to_string()]);
        for (k, cut) in cuts.enumerate() {
            self.columns.push((format!("{} block {block} {cut}", method.name()), scored.iter().map(|s| s.sweep[k]).collect()));
        }
    }

    /// One row per image: its cluster, then its Dice under each candidate.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let header = std::iter::once("cluster").chain(self.columns.iter().map(|(name, _)| name.as_str()));
        w.write_record(header).expect("writing to memory");
        for (i, cluster) in self.clusters.iter().enumerate() {
            let row = self.columns.iter().map(|(_, dice)| format!("{:.5}", dice[i]));
            w.write_record(std::iter::once(camseg::evaluate::spreadsheet_safe(cluster).into_owned()).chain(row)).expect("writing to memory");
        }
        w.into_inner().expect("writing to memory")
    }
}

/// Scores the card's CAM default on `split` and records the figures as `<split>_<name>`.
pub fn report(model: &Classifier, card: &mut ModelCard, ds: &Dataset, split: &str, negatives: Negatives, device: &Device) -> Result<()> {
    let records = ds.select(split, negatives)?;
    let scores = score_records(model, &card.input, ds, &records, card.cam.method, card.cam.block, card.cam.threshold, 32, device)?;
    let s = summarise(&scores, card.cam.method.name(), card.cam.block, card.cam.threshold);
    for (k, v) in [
        ("accuracy", s.accuracy),
        ("auc", s.auc),
        ("sensitivity", s.sensitivity),
        ("specificity", s.specificity),
        ("mean_dice", s.mean_dice),
        ("mean_dice_ge50", s.mean_dice_ge50),
        ("gated_mean_dice", s.gated_mean_dice),
        ("false_mask_rate", s.false_positive_rate),
        ("gated_false_mask_rate", s.gated_false_positive_rate),
    ] {
        card.metrics.insert(format!("{split}_{k}"), v);
    }
    Ok(())
}
