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

/// The page's built-in demo sets. Each is a folder of `demo/` (`index.csv`, `images/`,
/// `masks/`) and is made for the shipped model of the same name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DemoSet {
    /// 12 FLAIR slices of training patients of the LGG MRI segmentation data.
    #[default]
    Lgg,
    /// 12 breast ultrasound images (4 benign, 4 malignant, 4 normal) of BUSI's train clusters.
    Busi,
    /// 12 synthetic phantoms made by `camseg phantom`.
    Phantom,
}

impl DemoSet {
    pub const ALL: [DemoSet; 3] = [DemoSet::Lgg, DemoSet::Busi, DemoSet::Phantom];

    /// Its folder under `demo/`, and the shipped model it is made for.
    pub fn name(self) -> &'static str {
        match self {
            DemoSet::Lgg => "lgg",
            DemoSet::Busi => "busi",
            DemoSet::Phantom => "phantom",
        }
    }

    pub fn parse(name: &str) -> Option<DemoSet> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    pub fn label(self) -> &'static str {
        match self {
            DemoSet::Lgg => "LGG FLAIR slices",
            DemoSet::Busi => "BUSI breast ultrasound",
            DemoSet::Phantom => "synthetic phantoms",
        }
    }

    /// What the page says it shows.
    pub fn about(self) -> &'static str {
        match self {
            DemoSet::Lgg => "real brain MRI (FLAIR) slices with their tumour outlines, 8 with a tumour and 4 without, from 12 patients the LGG model was trained on: it has seen these slices",
            DemoSet::Busi => "real breast ultrasound images with their lesion outlines, 4 benign, 4 malignant and 4 normal, from 12 clusters the BUSI model was trained on: it has seen these images. Lesions here are dark, and many images carry the sonographer's calipers",
            DemoSet::Phantom => "synthetic brain-like phantoms with exact masks, made by camseg for the phantom model (the LGG model has never seen anything like them)",
        }
    }

    /// Licence and attribution shown beside the images (the full text is in the set's folder).
    pub fn attribution(self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            DemoSet::Lgg => Some((
                "Images and masks: LGG MRI segmentation dataset (Buda et al. 2019; Kaggle mateuszbuda/lgg-mri-segmentation), from The Cancer Imaging Archive, TCGA-LGG collection. Licence CC BY-NC-SA 4.0.",
                &[
                    "Buda M, Saha A, Mazurowski MA. Association of genomic subtypes of lower-grade gliomas with shape features automatically extracted by a deep learning algorithm. Computers in Biology and Medicine 109 (2019) 218-225. doi:10.1016/j.compbiomed.2019.05.002",
                    "Mazurowski MA et al. Radiogenomics of lower-grade glioma. J Neuro-Oncology 133 (2017) 27-35. doi:10.1007/s11060-017-2420-1",
                    "Pedano N et al. Radiology data from The Cancer Genome Atlas Low Grade Glioma [TCGA-LGG] collection. The Cancer Imaging Archive (2016). doi:10.7937/K9/TCIA.2016.L4LTD3TK",
                ],
            )),
            DemoSet::Busi => Some((
                "Images and masks: Dataset of breast ultrasound images (BUSI; Al-Dhabyani et al. 2020), Baheya Hospital, Cairo. Licence CC BY 4.0.",
                &["Al-Dhabyani W, Gomaa M, Khaled H, Fahmy A. Dataset of breast ultrasound images. Data in Brief 28 (2020) 104863. doi:10.1016/j.dib.2019.104863"],
            )),
            DemoSet::Phantom => None,
        }
    }
}

/// How the heatmap is drawn and cut into a mask.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewSettings {
    pub threshold: Threshold,
    /// Heatmap opacity over the scan, 0..1.
    pub opacity: f32,
    pub colour_map: ColourMap,
    /// Screen pixels per image pixel; [`ViewSettings::FIT`] (the default) fits the whole image
    /// to its panel, whatever its size.
    pub zoom: u32,
    /// Draw the predicted mask on images the model calls "no tumour" too (off: gated away).
    pub masks_on_negatives: bool,
}

impl ViewSettings {
    /// The zoom that fits the whole image to its panel.
    pub const FIT: u32 = 0;
}

impl Default for ViewSettings {
    fn default() -> Self {
        Self { threshold: Threshold::Fixed(0.5), opacity: 0.5, colour_map: ColourMap::Turbo, zoom: ViewSettings::FIT, masks_on_negatives: false }
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
    GatedDice,
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

impl FineTune {
    /// A finished run whose model is not kept: the next run would replace it, so the panel
    /// says so before the person starts one.
    pub fn unkept(&self) -> bool {
        self.phase == TunePhase::Done && !self.kept && self.weights.is_some()
    }
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
    /// True while the items are a built-in demo set (a first upload replaces them).
    pub demo: bool,
    /// The demo set shown, or last asked for.
    pub demo_set: DemoSet,
    /// The image on screen.
    pub selected: Option<ItemId>,
    pub sort: Option<(SortKey, bool)>,
    /// Bumped whenever the work to do changes (images loaded or cleared; model, method, layer
    /// or backend changed), so the page asks again and late results of old requests are dropped.
    pub generation: u64,
    pub busy: Option<Busy>,
    pub finetune: FineTune,
    pub training: training::Training,
    pub trust: trust::TrustCheck,
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
    /// Models kept in the browser from earlier visits join the picker (the current one stays).
    ModelsRestored(Vec<ModelEntry>),
    /// The worker has the model's weights.
    ModelReady(ModelId),
    ModelChosen(ModelId),
    MethodChosen(CamMethod),
    BlockChosen(usize),
    ThresholdChosen(Threshold),
    OpacityChosen(f32),
    ColourMapChosen(ColourMap),
    ZoomChosen(u32),
    /// Draw masks on images called "no tumour" too.
    MasksOnNegatives(bool),
    /// Another demo set is asked for (it replaces the images); its own shipped model is chosen.
    DemoChosen(DemoSet),
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
    Train(training::TrainAction),
    Trust(trust::TrustAction),
    /// A model trained here got a new name (its card's).
    ModelRenamed { id: ModelId, name: String },
    /// A model trained here was deleted; the first model is chosen if it was the current one.
    ModelDeleted(ModelId),
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
            Action::ModelsRestored(entries) => {
                let ids: Vec<ModelId> = entries.iter().map(|e| e.id).collect();
                self.models.retain(|m| !ids.contains(&m.id));
                self.models.extend(entries);
            }
            Action::Trust(action) => self.trust = self.trust.clone().reduce(action),
            Action::Train(action) => self.training = self.training.clone().reduce(action),
            Action::ModelRenamed { id, name } => {
                if let Some(entry) = self.models.iter_mut().find(|m| m.id == id) {
                    entry.card.name = name;
                }
            }
            Action::ModelDeleted(id) => {
                self.models.retain(|m| m.id != id);
                if self.training.from == Some(id) {
                    self.training.from = None;
                }
                if self.model == Some(id) {
                    self.model = None;
                    if let Some(first) = self.models.first().map(|m| m.id) {
                        self = self.reduce(Action::ModelChosen(first));
                    }
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
                // The card's own block and cut for this method, where val chose one.
                if let Some(own) = self.card().map(|c| c.cam.for_method(method)) {
                    (self.block, self.view.threshold) = own;
                }
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
            Action::ZoomChosen(z) => self.view.zoom = z.min(8),
            Action::MasksOnNegatives(show) => self.view.masks_on_negatives = show,
            Action::DemoChosen(set) => {
                self.demo_set = set;
                let own = self.models.iter().find(|m| m.shipped.as_deref() == Some(set.name())).map(|m| m.id);
                if let Some(id) = own.filter(|id| self.model != Some(*id)) {
                    self = self.reduce(Action::ModelChosen(id));
                }
            }
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
    /// The demo set that picking model `id` should bring on screen: its own, while a demo set
    /// of another model is shown (each shipped model opens on its own demo); None when the
    /// person's own images are shown, or the model has no demo.
    pub fn demo_for_model(&self, id: ModelId) -> Option<DemoSet> {
        let own = self.models.iter().find(|m| m.id == id)?.shipped.as_deref().and_then(DemoSet::parse)?;
        (self.demo && own != self.demo_set).then_some(own)
    }

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

    /// Whether the image on screen has its mask drawn: it is called "tumour", or masks on
    /// "no tumour" images are asked for.
    pub fn shows_mask(&self) -> bool {
        self.current().is_some_and(|i| i.result.is_some() && (!i.gated() || self.view.masks_on_negatives))
    }

    /// The predicted mask of the image on screen, as drawn (`None` while gated away).
    pub fn predicted_mask(&self) -> Option<Mask> {
        let result = self.current()?.result.as_ref()?;
        self.shows_mask().then(|| self.view.threshold.apply(&result.heatmap))
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

pub mod training;
pub mod trust;

#[cfg(test)]
mod tests;
