//! The models the picker offers and the images the page shows, with what the model said.

use crate::card::ModelCard;
use crate::evaluate::{Overlap, ScoreGrid};
use crate::masks::{Mask, Threshold};
use crate::plane::Plane;
use crate::protocol::{Finding, ItemId, ModelId, NewItem};
use crate::metrics;
use std::rc::Rc;

/// A model the picker offers: shipped with the page, loaded by the user, or fine-tuned here.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelEntry {
    pub id: ModelId,
    /// Where it came from, e.g. `models/lgg` or `your file`.
    pub source: String,
    /// Its name in `models/index.json` when it ships with the page (its weights are fetched
    /// from `models/NAME.bpk` when first chosen); `None` for models made or loaded here, whose
    /// weights the worker already has.
    pub shipped: Option<String>,
    pub card: ModelCard,
    /// Whether the worker has its weights.
    pub ready: bool,
    /// Its key in the browser's own storage, for models trained here (they survive a reload
    /// and can be renamed or deleted).
    pub stored: Option<String>,
}

/// What the model said about one image, for the method and layer it was computed with.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysed {
    pub probability: f32,
    /// In [0, 1], at the image's size.
    pub heatmap: Rc<Plane>,
    /// Dice and IoU at every slider threshold, computed once by the worker.
    pub scores: Option<Rc<ScoreGrid>>,
    /// Pixel counts behind them (a volume's 3D Dice sums them).
    pub overlap: Option<Rc<Overlap>>,
}

impl From<Finding> for Analysed {
    fn from(f: Finding) -> Self {
        Self { probability: f.probability, heatmap: Rc::new(f.heatmap), scores: f.scores.map(Rc::new), overlap: f.overlap.map(Rc::new) }
    }
}

/// One loaded image.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub id: ItemId,
    pub name: String,
    pub image: Rc<Plane>,
    pub truth: Option<Rc<Mask>>,
    pub result: Option<Analysed>,
}

impl From<NewItem> for Item {
    fn from(n: NewItem) -> Self {
        Self { id: n.id, name: n.name, image: Rc::new(n.image), truth: n.truth.map(Rc::new), result: None }
    }
}

impl Item {
    /// The image as the worker knows it (to give a new worker the images the page shows).
    pub fn to_new(&self) -> NewItem {
        NewItem { id: self.id, name: self.name.clone(), image: (*self.image).clone(), truth: self.truth.as_deref().cloned() }
    }

    /// Dice and IoU of its result against its true mask at `threshold` (a look-up on the
    /// slider's grid); `None` without a result or a tumour in the mask.
    pub fn scores(&self, threshold: Threshold) -> Option<(f64, f64)> {
        let result = self.result.as_ref()?;
        let grid = result.scores.as_ref()?;
        grid.at(threshold).or_else(|| {
            let truth = self.truth.as_ref()?;
            let mask = threshold.apply(&result.heatmap);
            Some((metrics::dice(&mask, truth), metrics::iou(&mask, truth)))
        })
    }

    /// The true class, when known from a mask (an empty mask = no tumour).
    pub fn label(&self) -> Option<bool> {
        self.truth.as_ref().map(|m| !m.is_empty())
    }

    /// Whether the model calls it "no tumour" (p < 0.5): its mask is gated away.
    pub fn gated(&self) -> bool {
        self.result.as_ref().is_some_and(|r| r.probability < crate::evaluate::GATE)
    }

    /// Dice with the mask gated by the answer: as cut where the model says tumour, 0 where it
    /// misses one (its mask is emptied); `None` without a result or a tumour in the mask.
    pub fn gated_dice(&self, threshold: Threshold) -> Option<f64> {
        let dice = self.scores(threshold)?.0;
        Some(if self.gated() { 0.0 } else { dice })
    }

    /// On an image whose true mask is empty: whether its mask as cut at `threshold` is not
    /// empty (a false-positive mask), a look-up in its pixel counts; `None` without a result
    /// or a known empty mask.
    pub fn mask_on_negative(&self, threshold: Threshold) -> Option<bool> {
        let result = self.result.as_ref()?;
        if self.label()? {
            return None;
        }
        let predicted = match result.overlap.as_ref().and_then(|o| o.at(threshold)) {
            Some([p, _]) => p as usize,
            None => threshold.apply(&result.heatmap).area(),
        };
        Some(predicted > 0)
    }
}
