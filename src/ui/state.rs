//! What the page shows, as plain data, and how each event changes it ([`PageState::reduce`],
//! pure). Everything the page derives from it (the table's rows, Dice at the current
//! threshold, the CSV, the batch curve) is a pure function here too, so it is tested natively.
//! The model itself lives in the engine, not here: state holds only what the model said.

use crate::card::ModelCard;
use crate::cam::CamMethod;
use crate::evaluate::{ImageScore, SWEEP};
use crate::filters::Filter;
use crate::finetune::Labelled;
use crate::masks::{Mask, Threshold};
use crate::metrics::{self, Confusion};
use crate::plane::Plane;
use crate::render::ColourMap;
use crate::train::Progress;
use std::rc::Rc;

/// Which compute backend the page runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    WebGpu,
    Cpu,
}

impl Backend {
    pub fn label(self) -> &'static str {
        match self {
            Backend::WebGpu => "WebGPU",
            Backend::Cpu => "CPU",
        }
    }
}

/// A model the picker offers: shipped with the page, loaded by the user, or fine-tuned here.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelEntry {
    /// Where it came from, e.g. `models/lgg` or `your file`.
    pub source: String,
    pub card: ModelCard,
}

/// What the model said about one image, for the method and layer it was computed with.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysed {
    pub probability: f32,
    /// In [0, 1], at the image's size.
    pub heatmap: Rc<Plane>,
}

/// One loaded image.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub name: String,
    pub image: Rc<Plane>,
    pub truth: Option<Rc<Mask>>,
    pub result: Option<Analysed>,
}

impl Item {
    /// The true class, when known from a mask (an empty mask = no tumour).
    pub fn label(&self) -> Option<bool> {
        self.truth.as_ref().map(|m| !m.is_empty())
    }
}

/// How the heatmap is drawn and cut into a mask.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewSettings {
    pub threshold: Threshold,
    /// Heatmap opacity over the scan, 0..1.
    pub opacity: f32,
    pub colour_map: ColourMap,
    /// Screen pixels per image pixel.
    pub zoom: u32,
}

impl Default for ViewSettings {
    fn default() -> Self {
        Self { threshold: Threshold::Fixed(0.5), opacity: 0.5, colour_map: ColourMap::Turbo, zoom: 3 }
    }
}

/// Columns of the batch table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    File,
    Probability,
    Predicted,
    Truth,
    Dice,
}

/// Long work under way (analysing a batch, fine-tuning), for the progress line.
#[derive(Clone, Debug, PartialEq)]
pub struct Busy {
    pub what: String,
    pub done: usize,
    pub total: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TunePhase {
    Idle,
    Running,
    Done,
    Cancelled,
}

/// The filter-and-fine-tune experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct FineTune {
    pub filter: Filter,
    pub epochs: usize,
    pub phase: TunePhase,
    pub step: usize,
    pub total_steps: usize,
    /// Loss and mini-batch accuracy at every step, for the live curves.
    pub losses: Vec<f32>,
    pub accuracies: Vec<f32>,
    pub trained_on: usize,
    pub held_out: usize,
    pub accuracy_before: Option<f64>,
    pub accuracy_after: Option<f64>,
    /// Whether the fine-tuned model has been made the current one.
    pub kept: bool,
}

impl Default for FineTune {
    fn default() -> Self {
        Self {
            filter: Filter::KeepHot,
            epochs: 3,
            phase: TunePhase::Idle,
            step: 0,
            total_steps: 0,
            losses: Vec::new(),
            accuracies: Vec::new(),
            trained_on: 0,
            held_out: 0,
            accuracy_before: None,
            accuracy_after: None,
            kept: false,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageState {
    pub backend: Option<Backend>,
    /// Why the page is not on WebGPU, when it is not.
    pub backend_note: Option<String>,
    pub models: Vec<ModelEntry>,
    /// Index into `models` of the model in use.
    pub model: Option<usize>,
    pub method: Option<CamMethod>,
    pub block: usize,
    pub view: ViewSettings,
    pub items: Vec<Item>,
    /// True while the items are the built-in demo set (a first upload replaces them).
    pub demo: bool,
    pub selected: usize,
    pub sort: Option<(SortKey, bool)>,
    /// Bumped whenever results go stale (model, method, layer or backend changed), so late
    /// results computed for the old setting are dropped.
    pub generation: u64,
    pub busy: Option<Busy>,
    pub finetune: FineTune,
    pub status: String,
    pub error: Option<String>,
    /// Milliseconds from page start to the first heatmap.
    pub first_heatmap_ms: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    BackendChosen { backend: Backend, note: Option<String> },
    /// The GPU went away: the page goes on on the CPU, keeping images (results are recomputed).
    BackendLost { note: String },
    ModelAdded(ModelEntry),
    ModelChosen(usize),
    MethodChosen(CamMethod),
    BlockChosen(usize),
    ThresholdChosen(Threshold),
    OpacityChosen(f32),
    ColourMapChosen(ColourMap),
    ZoomChosen(u32),
    ItemsLoaded { items: Vec<Item>, demo: bool },
    Cleared,
    Analysed { generation: u64, index: usize, result: Analysed, millis: f64 },
    Selected(usize),
    SortedBy(SortKey),
    Working(Option<Busy>),
    Status(String),
    FilterChosen(Filter),
    EpochsChosen(usize),
    TuneStarted { trained_on: usize, held_out: usize, accuracy_before: f64, total_steps: usize },
    TuneStep(Progress),
    TuneFinished { accuracy_after: f64 },
    TuneCancelled,
    TuneKept(ModelEntry),
    Failed(String),
    Dismissed,
}

impl PageState {
    /// The pure update: the new state after `action`.
    pub fn reduce(mut self, action: Action) -> PageState {
        match action {
            Action::BackendChosen { backend, note } => {
                if self.backend.is_some_and(|b| b != backend) {
                    self.invalidate();
                }
                self.backend = Some(backend);
                self.backend_note = note;
            }
            Action::BackendLost { note } => {
                self.backend = Some(Backend::Cpu);
                self.backend_note = Some(note.clone());
                self.invalidate();
                self.error = Some(format!("{note}. Continuing on the CPU; your images are kept and re-analysed."));
            }
            Action::ModelAdded(entry) => {
                self.models.push(entry);
                let index = self.models.len() - 1;
                self = self.reduce(Action::ModelChosen(index));
            }
            Action::ModelChosen(index) if index < self.models.len() => {
                let cam = &self.models[index].card.cam;
                self.method = Some(cam.method);
                self.block = cam.block;
                self.view.threshold = cam.threshold;
                self.model = Some(index);
                self.finetune = FineTune { filter: self.finetune.filter, epochs: self.finetune.epochs, ..FineTune::default() };
                self.invalidate();
            }
            Action::ModelChosen(_) => {}
            Action::MethodChosen(method) => {
                self.method = Some(method);
                self.invalidate();
            }
            Action::BlockChosen(block) => {
                if self.blocks().is_some_and(|n| block < n) {
                    self.block = block;
                    self.invalidate();
                }
            }
            Action::ThresholdChosen(t) => self.view.threshold = t,
            Action::OpacityChosen(o) => self.view.opacity = o.clamp(0.0, 1.0),
            Action::ColourMapChosen(map) => self.view.colour_map = map,
            Action::ZoomChosen(z) => self.view.zoom = z.clamp(1, 8),
            Action::ItemsLoaded { items, demo } => {
                if self.demo || demo {
                    self.items.clear();
                    self.selected = 0;
                }
                if demo {
                    // A visitor's first look should be at a tumour.
                    self.selected = items.iter().position(|i| i.label() == Some(true)).unwrap_or(0);
                } else if !items.is_empty() {
                    self.selected = self.items.len();
                }
                self.items.extend(items);
                self.demo = demo;
                self.finetune.phase = TunePhase::Idle;
            }
            Action::Cleared => {
                self.items.clear();
                self.selected = 0;
                self.demo = false;
                self.finetune.phase = TunePhase::Idle;
            }
            Action::Analysed { generation, index, result, millis } => {
                if generation == self.generation && index < self.items.len() {
                    self.items[index].result = Some(result);
                    self.first_heatmap_ms.get_or_insert(millis);
                }
            }
            Action::Selected(index) => {
                if index < self.items.len() {
                    self.selected = index;
                }
            }
            Action::SortedBy(key) => {
                self.sort = match self.sort {
                    Some((k, ascending)) if k == key => Some((key, !ascending)),
                    _ => Some((key, true)),
                }
            }
            Action::Working(busy) => self.busy = busy,
            Action::Status(text) => self.status = text,
            Action::FilterChosen(filter) => self.finetune.filter = filter,
            Action::EpochsChosen(epochs) => self.finetune.epochs = epochs.clamp(1, 50),
            Action::TuneStarted { trained_on, held_out, accuracy_before, total_steps } => {
                self.finetune = FineTune {
                    filter: self.finetune.filter,
                    epochs: self.finetune.epochs,
                    phase: TunePhase::Running,
                    total_steps,
                    trained_on,
                    held_out,
                    accuracy_before: Some(accuracy_before),
                    ..FineTune::default()
                };
            }
            Action::TuneStep(p) => {
                if self.finetune.phase == TunePhase::Running {
                    self.finetune.step = p.step;
                    self.finetune.total_steps = p.total_steps;
                    self.finetune.losses.push(p.loss);
                    self.finetune.accuracies.push(p.batch_accuracy);
                }
            }
            Action::TuneFinished { accuracy_after } => {
                self.finetune.phase = TunePhase::Done;
                self.finetune.accuracy_after = Some(accuracy_after);
            }
            Action::TuneCancelled => {
                if self.finetune.phase == TunePhase::Running {
                    self.finetune.phase = TunePhase::Cancelled;
                }
            }
            Action::TuneKept(entry) => {
                let tune = self.finetune.clone();
                self = self.reduce(Action::ModelAdded(entry));
                self.finetune = FineTune { kept: true, ..tune };
            }
            Action::Failed(message) => {
                self.error = Some(message);
                self.busy = None;
            }
            Action::Dismissed => self.error = None,
        }
        self
    }

    /// Results no longer match the model or CAM setting: drop them and ignore late ones.
    fn invalidate(&mut self) {
        self.generation += 1;
        for item in &mut self.items {
            item.result = None;
        }
    }

    pub fn card(&self) -> Option<&ModelCard> {
        self.model.and_then(|i| self.models.get(i)).map(|m| &m.card)
    }

    /// Conv blocks of the current model (the layers a CAM can explain).
    pub fn blocks(&self) -> Option<usize> {
        self.card().map(|c| c.architecture.blocks())
    }

    pub fn current(&self) -> Option<&Item> {
        self.items.get(self.selected)
    }

    /// Indices of images still waiting for the model.
    pub fn pending(&self) -> Vec<usize> {
        let first = self.selected.min(self.items.len());
        // The image on screen first, so its heatmap appears before the batch finishes.
        let order = (first..self.items.len()).chain(0..first);
        order.filter(|&i| self.items[i].result.is_none()).collect()
    }

    /// An item's scores at the current threshold.
    pub fn score(&self, index: usize) -> Option<ImageScore> {
        let item = self.items.get(index)?;
        let result = item.result.as_ref()?;
        let label = item.label().unwrap_or(result.probability >= 0.5);
        Some(ImageScore::new(&item.name, result.probability, &result.heatmap, item.truth.as_deref(), label, self.view.threshold))
    }

    /// The predicted mask of the image on screen.
    pub fn predicted_mask(&self) -> Option<Mask> {
        let result = self.current()?.result.as_ref()?;
        Some(self.view.threshold.apply(&result.heatmap))
    }

    /// What the filter experiment works on: each analysed image with a true mask (so a known
    /// label), with its hot mask at the current threshold. The previews and the run both take
    /// it, so the images shown are the images trained on.
    /// Lazy: the previews take only the first few.
    pub fn tune_inputs(&self) -> impl Iterator<Item = Labelled> + '_ {
        self.items.iter().filter_map(|item| {
            let label = item.label()?;
            Some(Labelled { image: item.image.clone(), hot: self.view.threshold.apply(&item.result.as_ref()?.heatmap), label })
        })
    }

    /// IoU of the image on screen (Dice comes with [`Self::score`]).
    pub fn current_iou(&self) -> Option<f64> {
        let truth = self.current()?.truth.as_ref().filter(|t| !t.is_empty())?;
        Some(metrics::iou(&self.predicted_mask()?, truth))
    }

    /// Table rows, in the chosen order.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = self
            .items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let score = self.score(index);
                Row {
                    index,
                    file: item.name.clone(),
                    probability: item.result.as_ref().map(|r| r.probability),
                    predicted: item.result.as_ref().map(|r| r.probability >= 0.5),
                    truth: item.label(),
                    dice: score.as_ref().and_then(|s| s.dice),
                    iou: score.and_then(|s| s.iou),
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
                };
                if ascending { order } else { order.reverse() }
            });
        }
        rows
    }

    /// Accuracy over images with a known class, mean Dice over images with a tumour mask.
    pub fn summary(&self) -> BatchSummary {
        BatchSummary::of(&self.rows())
    }

    /// Mean Dice over the batch at each sweep threshold (x) and with Otsu.
    pub fn dice_curve(&self) -> (Vec<(f32, f64)>, Option<f64>) {
        let sweeps: Vec<Vec<f64>> = (0..self.items.len()).filter_map(|i| self.score(i)).filter(|s| !s.sweep.is_empty()).map(|s| s.sweep).collect();
        if sweeps.is_empty() {
            return (Vec::new(), None);
        }
        let column = |k: usize| metrics::mean(&sweeps.iter().map(|s| s[k]).collect::<Vec<_>>());
        let curve = SWEEP.iter().enumerate().map(|(k, &t)| (t, column(k))).collect();
        (curve, Some(column(SWEEP.len())))
    }

    /// The batch table as CSV (what the export button downloads).
    pub fn csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let opt = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
        let class = |v: Option<bool>| v.map(|t| if t { "tumour" } else { "no tumour" }).unwrap_or("").to_string();
        let method = self.method.map(|m| m.name()).unwrap_or("");
        let threshold = self.view.threshold.to_string();
        let block = self.block.to_string();
        w.write_record(["file", "probability", "predicted", "truth", "dice", "iou", "method", "block", "threshold"]).expect("csv to memory");
        for r in self.rows() {
            w.write_record([r.file.clone(), opt(r.probability.map(f64::from)), class(r.predicted), class(r.truth), opt(r.dice), opt(r.iou), method.into(), block.clone(), threshold.clone()])
                .expect("csv to memory");
        }
        String::from_utf8(w.into_inner().expect("csv to memory")).expect("csv is utf-8")
    }

    /// The model's own file stem for downloads, e.g. `lgg`.
    pub fn model_stem(&self) -> String {
        let name = self.card().map(|c| c.name.as_str()).unwrap_or("model");
        let stem: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
        stem.split('-').filter(|s| !s.is_empty()).collect::<Vec<_>>().join("-")
    }
}

/// One row of the batch table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Index into `items`.
    pub index: usize,
    pub file: String,
    pub probability: Option<f32>,
    pub predicted: Option<bool>,
    pub truth: Option<bool>,
    pub dice: Option<f64>,
    pub iou: Option<f64>,
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
}

impl BatchSummary {
    /// The summary of table rows already computed (scoring every image is the costly part).
    pub fn of(rows: &[Row]) -> BatchSummary {
        let known: Vec<&Row> = rows.iter().filter(|r| r.truth.is_some() && r.probability.is_some()).collect();
        let probs: Vec<f32> = known.iter().map(|r| r.probability.unwrap_or(0.0)).collect();
        let labels: Vec<bool> = known.iter().map(|r| r.truth.unwrap_or(false)).collect();
        let dice: Vec<f64> = rows.iter().filter_map(|r| r.dice).collect();
        BatchSummary {
            images: rows.len(),
            analysed: rows.iter().filter(|r| r.probability.is_some()).count(),
            with_class: known.len(),
            accuracy: (!known.is_empty()).then(|| Confusion::from_probs(&probs, &labels, 0.5).accuracy()),
            scored: dice.len(),
            mean_dice: (!dice.is_empty()).then(|| metrics::mean(&dice)),
        }
    }
}

#[cfg(test)]
mod tests;
