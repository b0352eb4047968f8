//! What the page shows, as plain data, and how each event changes it ([`PageState::reduce`],
//! pure). Everything the page derives from it (the table's rows, Dice at the current
//! threshold, the CSV, the batch curve) is a pure function here too, so it is tested natively.
//! The model itself lives in the engine, not here: state holds only what the model said.

use crate::card::ModelCard;
use crate::cam::CamMethod;
use crate::finetune::Labelled;
use crate::masks::Mask;
use crate::plane::Plane;
pub use crate::protocol::{Backend, Busy};
use crate::protocol::{ItemId, ModelId, VolumeInfo};
use crate::volume::score::{volume_dice, SliceCounts, VolumeDice};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageState {
    pub backend: Option<Backend>,
    /// Why the page is not on WebGPU, when it is not.
    pub backend_note: Option<String>,
    /// How many workers analyse, and why that many (the pool's size in words).
    pub workers: Option<String>,
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
    pub trust: asked::Asked<crate::faithfulness::ImageTrust>,
    /// The trust checks of every lesion image, averaged beside the batch's Dice.
    pub trust_batch: trust_batch::TrustBatch,
    /// How the heatmap on screen is made (the teaching view).
    pub steps: asked::Asked<crate::cam::steps::CamSteps>,
    /// The channel picked in that view, to follow its part through the steps.
    pub steps_channel: Option<usize>,
    pub status: String,
    pub error: Option<String>,
    /// Milliseconds from page start to the first heatmap.
    pub first_heatmap_ms: Option<f64>,
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
            Action::BackendMeasured { backend, note } => {
                self.backend = Some(backend);
                self.backend_note = Some(note);
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
            Action::TrustBatch(action) => self.trust_batch = std::mem::take(&mut self.trust_batch).reduce(action),
            Action::Explain(action) => {
                if matches!(action, asked::Asking::Requested { .. }) {
                    self.steps_channel = None;
                }
                self.steps = self.steps.clone().reduce(action)
            }
            Action::ChannelPicked(c) => self.steps_channel = (self.steps_channel != Some(c)).then_some(c),
            Action::Train(action) => self.training = self.training.clone().reduce(action),
            Action::ModelRenamed { id, name } => {
                if let Some(entry) = self.models.iter_mut().find(|m| m.id == id) {
                    entry.card.name = name;
                }
            }
            Action::ModelKeeping { id, keeping } => {
                if let Some(stored) = self.models.iter_mut().find(|m| m.id == id).and_then(|m| m.stored.as_mut()) {
                    stored.keeping = keeping;
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
                    // Averages over images no longer shown would read as these images'.
                    self.trust_batch = Default::default();
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
                self.trust_batch = Default::default();
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
            Action::Workers(note) => self.workers = Some(note),
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
        self.current().is_some_and(|i| i.shows_mask(&self.view))
    }

    /// The predicted mask of the image on screen, as drawn (`None` while gated away).
    pub fn predicted_mask(&self) -> Option<Mask> {
        self.current()?.predicted_mask(&self.view)
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
    /// The first `n` images of the filter experiment as its filter makes them (the page's
    /// previews), cut from their heatmaps at the current threshold.
    pub fn tune_previews(&self, n: usize) -> Vec<Plane> {
        let labelled: Vec<Labelled> = self.tune_inputs().take(n).collect();
        let Some(card) = self.card() else { return Vec::new() };
        crate::finetune::filtered_images(&labelled, self.finetune.filter, crate::finetune::SEED, &card.input)
    }

    pub fn tune_items(&self) -> Vec<ItemId> {
        self.items.iter().filter(|i| i.truth.is_some() && i.result.is_some()).map(|i| i.id).collect()
    }

    /// The model's own file stem for downloads, e.g. `lgg`.
    pub fn model_stem(&self) -> String {
        let name = self.card().map(|c| c.name.as_str()).unwrap_or("model");
        let stem: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
        stem.split('-').filter(|s| !s.is_empty()).collect::<Vec<_>>().join("-")
    }
}

mod demo;
mod finetune;
mod items;
mod shown;
mod table;
mod view;
mod action;
pub mod asked;
pub mod reply;
pub mod training;
pub mod trust_batch;

pub use action::Action;
pub use demo::DemoSet;
pub use finetune::{FineTune, TunePhase};
pub use items::{Analysed, Item, Keeping, ModelEntry, Stored};
pub use view::{SortKey, ViewSettings};
pub use table::{BatchSummary, Row};

#[cfg(test)]
mod tests;
