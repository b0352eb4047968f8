//! The trust checks of every lesion image (one run, for one model, method and block), and
//! their averages beside the batch's Dice. Plain data with a pure update; the checks run in
//! the worker.

use crate::cam::CamMethod;
use crate::faithfulness::TrustFigures;
use crate::protocol::{ItemId, ModelId};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrustBatch {
    pub run: u64,
    /// What the run checks: `None` before the first run.
    pub setting: Option<(ModelId, CamMethod, usize)>,
    pub total: usize,
    pub running: bool,
    /// Each image's figures, or why it could not be checked, in the order they came.
    pub answers: Vec<(ItemId, Result<TrustFigures, String>)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TrustBatchAction {
    Started { run: u64, model: ModelId, method: CamMethod, block: usize, total: usize },
    Answered { run: u64, item: ItemId, result: Result<TrustFigures, String> },
    Done { run: u64 },
}

/// The batch's averages: what the Trust panel says of one image, over many.
#[derive(Clone, Debug, PartialEq)]
pub struct TrustAverages {
    pub images: usize,
    pub deletion_auc: f64,
    pub road_auc: f64,
    pub insertion_auc: f64,
    /// Hits and images with a lesion mask (the pointing game is n/a without one).
    pub pointing: (usize, usize),
    /// Images whose map fails the randomisation check.
    pub failing: usize,
    /// Images that could not be checked.
    pub errors: usize,
}

impl TrustBatch {
    pub fn reduce(self, action: TrustBatchAction) -> TrustBatch {
        match action {
            TrustBatchAction::Started { run, model, method, block, total } => TrustBatch { run, setting: Some((model, method, block)), total, running: total > 0, answers: Vec::new() },
            TrustBatchAction::Answered { run, item, result } if run == self.run => {
                let mut answers = self.answers;
                answers.push((item, result));
                TrustBatch { answers, ..self }
            }
            TrustBatchAction::Done { run } if run == self.run => TrustBatch { running: false, ..self },
            _ => self,
        }
    }

    /// Whether the figures are for this model, method and block.
    pub fn is_for(&self, model: Option<ModelId>, method: Option<CamMethod>, block: usize) -> bool {
        matches!((self.setting, model, method), (Some((m, me, b)), Some(model), Some(method)) if m == model && me == method && b == block)
    }

    /// The averages over the images checked; `None` before any.
    pub fn averages(&self) -> Option<TrustAverages> {
        let ok: Vec<&TrustFigures> = self.answers.iter().filter_map(|(_, r)| r.as_ref().ok()).collect();
        if ok.is_empty() {
            return None;
        }
        let mean = |f: fn(&TrustFigures) -> f64| ok.iter().map(|t| f(t)).sum::<f64>() / ok.len() as f64;
        let pointed: Vec<bool> = ok.iter().filter_map(|t| t.pointing_hit).collect();
        Some(TrustAverages {
            images: ok.len(),
            deletion_auc: mean(|t| t.deletion_auc),
            road_auc: mean(|t| t.road_auc),
            insertion_auc: mean(|t| t.insertion_auc),
            pointing: (pointed.iter().filter(|&&h| h).count(), pointed.len()),
            failing: ok.iter().filter(|t| t.fails_randomisation).count(),
            errors: self.answers.len() - ok.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(deletion: f64, hit: Option<bool>, fails: bool) -> TrustFigures {
        TrustFigures { deletion_auc: deletion, road_auc: 0.5, insertion_auc: 0.8, pointing_hit: hit, fails_randomisation: fails }
    }

    #[test]
    fn averages_count_only_checked_images_and_the_pointing_game_only_with_masks() {
        let b = TrustBatch::default().reduce(TrustBatchAction::Started { run: 2, model: ModelId(0), method: CamMethod::GradCam, block: 3, total: 4 });
        assert!(b.running && b.averages().is_none());
        let b = [(1, Ok(figures(0.2, Some(true), false))), (2, Ok(figures(0.4, None, true))), (3, Err("gone".to_string())), (4, Ok(figures(0.3, Some(false), false)))]
            .into_iter()
            .fold(b, |b, (i, r)| b.reduce(TrustBatchAction::Answered { run: 2, item: ItemId(i), result: r }));
        let b = b.reduce(TrustBatchAction::Answered { run: 1, item: ItemId(9), result: Ok(figures(1.0, Some(true), true)) });
        let a = b.averages().unwrap();
        assert_eq!((a.images, a.pointing, a.failing, a.errors), (3, (1, 2), 1, 1), "the old run's answer is dropped");
        assert!((a.deletion_auc - 0.3).abs() < 1e-12);
        let b = b.reduce(TrustBatchAction::Done { run: 2 });
        assert!(!b.running);
        assert!(b.is_for(Some(ModelId(0)), Some(CamMethod::GradCam), 3) && !b.is_for(Some(ModelId(0)), Some(CamMethod::GradCam), 2));
    }
}
