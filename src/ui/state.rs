//! What the page shows, as plain data, and how each event changes it ([`PageState::reduce`],
//! pure). Everything the page derives from it (the table's rows, Dice at the current
//! threshold, the CSV, the batch curve) is a pure function here too, so it is tested natively.
//! The model itself lives in the engine, not here: state holds only what the model said.

use crate::card::ModelCard;
use crate::cam::CamMethod;
use crate::evaluate::{spreadsheet_safe, Overlap, ScoreGrid, SWEEP};
use crate::filters::Filter;
use crate::finetune::Labelled;
use crate::masks::{Mask, Threshold};
use crate::metrics::{self, Confusion};
use crate::plane::Plane;
pub use crate::protocol::{Backend, Busy};
use crate::protocol::{Finding, ItemId, ModelId, NewItem, VolumeInfo};
use crate::volume::score::{volume_dice, SliceCounts, VolumeDice};
use crate::render::ColourMap;
use crate::train::Progress;
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
    /// The current run (each start is a new one; late messages of older runs are dropped).
    pub run: u64,
    /// The model being fine-tuned: what a kept result is named and licensed after.
    pub model: Option<ModelId>,
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
    /// The fine-tuned weights, until kept or replaced.
    pub weights: Option<Rc<Vec<u8>>>,
    /// Whether the fine-tuned model has been made the current one.
    pub kept: bool,
}

impl Default for FineTune {
    fn default() -> Self {
        Self {
            run: 0,
            model: None,
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
            weights: None,
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
    /// The model in use.
    pub model: Option<ModelId>,
    pub method: Option<CamMethod>,
    pub block: usize,
    pub view: ViewSettings,
    pub items: Vec<Item>,
    /// Volumes loaded (NIfTI, DICOM); their slices are among `items`.
    pub volumes: Vec<VolumeInfo>,
    /// Analyse only the slice on screen of each volume, not every slice (for large volumes
    /// on a slow device).
    pub shown_slice_only: bool,
    /// True while the items are the built-in demo set (a first upload replaces them).
    pub demo: bool,
    /// The image on screen.
    pub selected: Option<ItemId>,
    pub sort: Option<(SortKey, bool)>,
    /// Bumped whenever the work to do changes (images loaded or cleared; model, method, layer
    /// or backend changed), so the page asks again and late results of old requests are dropped.
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
    /// The shipped models, the first becoming the current one.
    ModelsListed(Vec<ModelEntry>),
    /// A model joins the picker and becomes the current one.
    ModelAdded(ModelEntry),
    /// The worker has the model's weights.
    ModelReady(ModelId),
    ModelChosen(ModelId),
    MethodChosen(CamMethod),
    BlockChosen(usize),
    ThresholdChosen(Threshold),
    OpacityChosen(f32),
    ColourMapChosen(ColourMap),
    ZoomChosen(u32),
    ItemsLoaded { items: Vec<Item>, volumes: Vec<VolumeInfo>, demo: bool },
    /// A volume cut again (another view or window): its new slices replace the old ones.
    Resliced { volume: VolumeInfo, items: Vec<Item> },
    /// Step through the current volume's slices (arrow keys).
    SliceStep(i64),
    ShownSliceOnly(bool),
    Cleared,
    Analysed { generation: u64, item: ItemId, result: Analysed, millis: f64 },
    Selected(ItemId),
    SortedBy(SortKey),
    Working(Option<Busy>),
    Status(String),
    FilterChosen(Filter),
    EpochsChosen(usize),
    /// The person pressed Fine-tune: run `run` on `model` is asked of the worker.
    TuneRequested { run: u64, model: ModelId },
    TuneStarted { run: u64, trained_on: usize, held_out: usize, accuracy_before: f64, total_steps: usize },
    TuneStep { run: u64, progress: Progress },
    TuneFinished { run: u64, accuracy_after: f64, weights: Rc<Vec<u8>> },
    TuneCancelled { run: u64 },
    TuneFailed { run: u64, message: String },
    /// The fine-tuned model joins the picker (its card made from the tuned model's own).
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
                    self.stop_tune();
                }
                self.backend = Some(backend);
                self.backend_note = note;
            }
            Action::BackendLost { note } => {
                self.backend = Some(Backend::Cpu);
                self.backend_note = Some(note.clone());
                self.invalidate();
                self.stop_tune();
                self.error = Some(format!("{note}. Continuing on the CPU; your images are kept and re-analysed."));
            }
            Action::ModelAdded(entry) => {
                let id = entry.id;
                self.models.retain(|m| m.id != id);
                self.models.push(entry);
                self = self.reduce(Action::ModelChosen(id));
            }
            Action::ModelsListed(entries) => {
                let first = entries.first().map(|e| e.id);
                self.models.extend(entries);
                if let Some(id) = first {
                    self = self.reduce(Action::ModelChosen(id));
                }
            }
            Action::ModelReady(id) => {
                if let Some(m) = self.models.iter_mut().find(|m| m.id == id) {
                    m.ready = true;
                }
            }
            Action::ModelChosen(id) => {
                if let Some(entry) = self.models.iter().find(|m| m.id == id) {
                    let cam = &entry.card.cam;
                    self.method = Some(cam.method);
                    self.block = cam.block;
                    self.view.threshold = cam.threshold;
                    self.model = Some(id);
                    // A run on another model is over for the page; a finished one stays.
                    if self.finetune.phase == TunePhase::Running {
                        self.stop_tune();
                    }
                    self.invalidate();
                }
            }
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
            Action::ItemsLoaded { items, volumes, demo } => {
                if self.demo || demo {
                    self.items.clear();
                    self.volumes.clear();
                    self.selected = None;
                }
                self.volumes.extend(volumes);
                let first = if demo {
                    // A visitor's first look should be at a tumour.
                    items.iter().find(|i| i.label() == Some(true)).or(items.first())
                } else {
                    items.first()
                };
                if let Some(first) = first {
                    self.selected = Some(first.id);
                }
                self.items.extend(items);
                self.demo = demo;
                self.generation += 1;
            }
            Action::Resliced { volume, items } => {
                let Some(slot) = self.volumes.iter().position(|v| v.id == volume.id) else { return self };
                let old = std::mem::replace(&mut self.volumes[slot], volume);
                let at = self.items.iter().position(|i| old.slices.contains(&i.id)).unwrap_or(self.items.len());
                // The slice on screen stays at the same depth through the volume.
                let shown = self.selected.and_then(|id| old.slices.iter().position(|s| *s == id));
                self.items.retain(|i| !old.slices.contains(&i.id));
                let count = items.len();
                if let Some(k) = shown.filter(|_| count > 0) {
                    let k = (k * count / old.slices.len().max(1)).min(count - 1);
                    self.selected = Some(items[k].id);
                }
                self.items.splice(at..at, items);
                self.generation += 1;
            }
            Action::SliceStep(delta) => {
                if let Some((volume, k)) = self.current_slice() {
                    let k = (k as i64 + delta).clamp(0, volume.slices.len() as i64 - 1) as usize;
                    self.selected = Some(volume.slices[k]);
                    if self.shown_slice_only {
                        self.generation += 1;
                    }
                }
            }
            Action::ShownSliceOnly(only) => {
                self.shown_slice_only = only;
                self.generation += 1;
            }
            Action::Cleared => {
                self.items.clear();
                self.volumes.clear();
                self.selected = None;
                self.demo = false;
                self.generation += 1;
                self.busy = None;
            }
            Action::Analysed { generation, item, result, millis } => {
                if generation == self.generation {
                    if let Some(it) = self.items.iter_mut().find(|i| i.id == item) {
                        it.result = Some(result);
                        self.first_heatmap_ms.get_or_insert(millis);
                    }
                }
            }
            Action::Selected(id) => {
                if self.items.iter().any(|i| i.id == id) {
                    self.selected = Some(id);
                    if self.shown_slice_only && self.volume_of(id).is_some() {
                        self.generation += 1;
                    }
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
            Action::TuneRequested { run, model } => {
                self.finetune = FineTune { run, model: Some(model), phase: TunePhase::Running, filter: self.finetune.filter, epochs: self.finetune.epochs, ..FineTune::default() };
            }
            Action::TuneStarted { run, trained_on, held_out, accuracy_before, total_steps } => {
                if self.tune_is(run) {
                    let t = &mut self.finetune;
                    (t.trained_on, t.held_out, t.accuracy_before, t.total_steps) = (trained_on, held_out, Some(accuracy_before), total_steps);
                }
            }
            Action::TuneStep { run, progress: p } => {
                if self.tune_is(run) {
                    self.finetune.step = p.step;
                    self.finetune.total_steps = p.total_steps;
                    self.finetune.losses.push(p.loss);
                    self.finetune.accuracies.push(p.batch_accuracy);
                }
            }
            Action::TuneFinished { run, accuracy_after, weights } => {
                if self.tune_is(run) {
                    self.finetune.phase = TunePhase::Done;
                    self.finetune.accuracy_after = Some(accuracy_after);
                    self.finetune.weights = Some(weights);
                }
            }
            Action::TuneCancelled { run } => {
                if self.tune_is(run) {
                    self.finetune.phase = TunePhase::Cancelled;
                }
            }
            Action::TuneFailed { run, message } => {
                if self.tune_is(run) {
                    self.finetune.phase = TunePhase::Idle;
                    self.error = Some(message);
                }
            }
            Action::TuneKept(entry) => {
                let tune = self.finetune.clone();
                self = self.reduce(Action::ModelAdded(entry));
                self.finetune = FineTune { kept: true, weights: None, ..tune };
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

    /// A running fine-tune is over for the page (its images or device changed): late messages
    /// of its run are ignored. The app tells the worker.
    fn stop_tune(&mut self) {
        if self.finetune.phase == TunePhase::Running {
            self.finetune.phase = TunePhase::Cancelled;
        }
    }

    fn tune_is(&self, run: u64) -> bool {
        self.finetune.run == run && self.finetune.phase == TunePhase::Running
    }

    pub fn entry(&self, id: ModelId) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.id == id)
    }

    /// The model in use.
    pub fn current_model(&self) -> Option<&ModelEntry> {
        self.model.and_then(|id| self.entry(id))
    }

    pub fn card(&self) -> Option<&ModelCard> {
        self.current_model().map(|m| &m.card)
    }

    /// Conv blocks of the current model (the layers a CAM can explain).
    pub fn blocks(&self) -> Option<usize> {
        self.card().map(|c| c.architecture.blocks())
    }

    pub fn current(&self) -> Option<&Item> {
        let id = self.selected?;
        self.items.iter().find(|i| i.id == id)
    }

    /// Images still waiting for the model, the one on screen first (its heatmap should not
    /// wait for the batch). With `shown_slice_only`, a volume's other slices wait.
    pub fn pending(&self) -> Vec<ItemId> {
        let first = self.items.iter().position(|i| Some(i.id) == self.selected).unwrap_or(0);
        let order = self.items[first..].iter().chain(&self.items[..first]);
        let wanted = |i: &&Item| !self.shown_slice_only || Some(i.id) == self.selected || self.volume_of(i.id).is_none();
        order.filter(|i| i.result.is_none()).filter(wanted).map(|i| i.id).collect()
    }

    /// The volume an item is a slice of, and which slice.
    pub fn volume_of(&self, id: ItemId) -> Option<(&VolumeInfo, usize)> {
        self.volumes.iter().find_map(|v| v.slices.iter().position(|s| *s == id).map(|k| (v, k)))
    }

    /// The volume on screen and the slice shown.
    pub fn current_slice(&self) -> Option<(&VolumeInfo, usize)> {
        self.volume_of(self.selected?)
    }

    /// A volume's 3D Dice at the current threshold from its analysed slices, and how many
    /// slices are analysed; `None` without labels or off the slider's grid.
    pub fn volume_dice(&self, volume: &VolumeInfo) -> (Option<VolumeDice>, usize) {
        let results: Vec<&Analysed> = volume.slices.iter().filter_map(|id| self.items.iter().find(|i| i.id == *id)?.result.as_ref()).collect();
        let done = results.len();
        if !volume.labelled || done < volume.slices.len() {
            return (None, done);
        }
        let slices = results.iter().filter_map(|r| Some(SliceCounts { probability: r.probability, overlap: r.overlap.as_deref()? }));
        (volume_dice(slices, self.view.threshold), done)
    }

    /// (Dice, IoU) of the image on screen at the current threshold.
    pub fn current_scores(&self) -> Option<(f64, f64)> {
        self.current()?.scores(self.view.threshold)
    }

    /// The predicted mask of the image on screen.
    pub fn predicted_mask(&self) -> Option<Mask> {
        let result = self.current()?.result.as_ref()?;
        Some(self.view.threshold.apply(&result.heatmap))
    }

    /// What the filter experiment works on: each analysed image with a true mask (so a known
    /// label), with its hot mask at the current threshold. The page previews the first few;
    /// the worker runs the experiment on the same images, cut the same way.
    pub fn tune_inputs(&self) -> impl Iterator<Item = Labelled> + '_ {
        self.items.iter().filter_map(|item| {
            let label = item.label()?;
            Some(Labelled { image: item.image.clone(), hot: self.view.threshold.apply(&item.result.as_ref()?.heatmap), label })
        })
    }

    /// The images the filter experiment would use, by id.
    pub fn tune_items(&self) -> Vec<ItemId> {
        self.items.iter().filter(|i| i.truth.is_some() && i.result.is_some()).map(|i| i.id).collect()
    }

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
                    predicted: item.result.as_ref().map(|r| r.probability >= 0.5),
                    truth: item.label(),
                    dice: scores.map(|s| s.0),
                    iou: scores.map(|s| s.1),
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

    /// Mean Dice over the batch at each sweep threshold (x) and with Otsu, from the score grids.
    pub fn dice_curve(&self) -> (Vec<(f32, f64)>, Option<f64>) {
        let grids: Vec<&ScoreGrid> = self.items.iter().filter_map(|i| i.result.as_ref()?.scores.as_deref()).collect();
        if grids.is_empty() {
            return (Vec::new(), None);
        }
        let mean_at = |t: Threshold| metrics::mean(&grids.iter().filter_map(|g| g.at(t)).map(|s| s.0).collect::<Vec<_>>());
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
        w.write_record(["file", "probability", "predicted", "truth", "dice", "iou", "method", "block", "threshold"]).expect("csv to memory");
        for r in self.rows() {
            w.write_record([spreadsheet_safe(&r.file).into_owned(), opt(r.probability.map(f64::from)), class(r.predicted), class(r.truth), opt(r.dice), opt(r.iou), method.into(), block.clone(), threshold.clone()])
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
    pub id: ItemId,
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
