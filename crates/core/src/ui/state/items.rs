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
    /// Its place in the browser's own storage, for models trained here (they survive a reload
    /// and can be renamed or deleted).
    pub stored: Option<Stored>,
}

/// A model trained here, in the browser's own storage under `key`.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub key: String,
    pub keeping: Keeping,
}

/// Where its last write to storage stands: the page says "kept" only once the write is done,
/// so a reload never loses a model the page called kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keeping {
    /// Being written, renamed or removed.
    Saving,
    Kept,
    /// The storage refused the last write (the page says why; the model works in this tab).
    Refused,
}

impl Stored {
    pub fn saving(key: String) -> Self {
        Self { key, keeping: Keeping::Saving }
    }
}

/// What the model said about one image, for the method and layer it was computed with.
#[derive(Clone, Debug)]
pub struct Analysed {
    pub probability: f32,
    /// In [0, 1], at the image's size.
    pub heatmap: Rc<Plane>,
    /// Dice and IoU at every slider threshold, computed once by the worker.
    pub scores: Option<Rc<ScoreGrid>>,
    /// Pixel counts behind them (a volume's 3D Dice sums them).
    pub overlap: Option<Rc<Overlap>>,
}

/// Equal by value, with the shared planes compared by pointer first: views compare their props
/// on every page render, and a 256 px map compared value by value costs a tenth of a millisecond.
impl PartialEq for Analysed {
    fn eq(&self, other: &Self) -> bool {
        self.probability == other.probability && same(&self.heatmap, &other.heatmap) && same_option(&self.scores, &other.scores) && same_option(&self.overlap, &other.overlap)
    }
}

fn same<T: PartialEq>(a: &Rc<T>, b: &Rc<T>) -> bool {
    Rc::ptr_eq(a, b) || a == b
}

fn same_option<T: PartialEq>(a: &Option<Rc<T>>, b: &Option<Rc<T>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        _ => false,
    }
}

impl From<Finding> for Analysed {
    fn from(f: Finding) -> Self {
        Self { probability: f.probability, heatmap: Rc::new(f.heatmap), scores: f.scores.map(Rc::new), overlap: f.overlap.map(Rc::new) }
    }
}

/// One loaded image.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: ItemId,
    pub name: String,
    pub image: Rc<Plane>,
    pub truth: Option<Rc<Mask>>,
    pub result: Option<Analysed>,
}

/// By value, the planes by pointer first (as [`Analysed`]).
impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.name == other.name && same(&self.image, &other.image) && same_option(&self.truth, &other.truth) && self.result == other.result
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_compare_by_value_whether_or_not_they_share_their_planes() {
        let plane = |v: f32| Rc::new(Plane::new(4, 4, vec![v; 16]));
        let analysed = |heat: Rc<Plane>| Analysed { probability: 0.9, heatmap: heat, scores: None, overlap: None };
        let item = |image: Rc<Plane>, heat: Rc<Plane>| Item { id: ItemId(1), name: "a.png".into(), image, truth: None, result: Some(analysed(heat)) };
        let (image, heat) = (plane(0.5), plane(0.2));
        let a = item(image.clone(), heat.clone());
        assert_eq!(a, item(image.clone(), heat.clone()), "the same planes");
        assert_eq!(a, item(plane(0.5), plane(0.2)), "equal planes, not shared");
        assert_ne!(a, item(image.clone(), plane(0.3)), "another heatmap");
        assert_ne!(a, item(plane(0.6), heat), "another image");
    }
}
