//! The worker's side of the page: one device, the models the page sent (as bytes, built on
//! the device when used), the decoded images, and the long jobs (decoding a drop, analysing,
//! fine-tuning). It speaks only [`crate::protocol`], so it runs the same in the browser's
//! worker and in native tests.
//!
//! Work is cut into short steps: the worker's loop takes every waiting message
//! ([`Session::accept`], quick) before each [`Session::step`], so a newer request, a cancel
//! or a Clear takes effect within one step, and results of superseded work are never sent.

use crate::prelude::*;
use crate::card::ModelCard;
use crate::cam::CamMethod;
use crate::data::upload::{decode_pair, pair, split_volumes, Pair};
use crate::data::Channel;
use crate::evaluate::{Overlap, ScoreGrid};
use crate::masks::{Mask, Threshold};
use crate::model::Classifier;
use crate::pipeline::analyse;
use crate::plane::Plane;
use crate::protocol::{Backend, Busy, Finding, ImageQuestion, ItemId, ModelId, NewItem, VolumeId, VolumeInfo, WorkerInput, WorkerOutput};
use crate::volume::open::{self, Source};
use crate::volume::{nifti, slice_name, View, Volume, Window};
use crate::{Error, Result};
use burn::tensor::Device;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

/// Milliseconds from some fixed origin (`performance.now()` in the browser).
pub type Clock = fn() -> f64;

/// Images decoded per step: a few, so a cancel or Clear is not kept waiting.
const DECODE_CHUNK: usize = 4;
/// Images analysed per step after the first (which goes alone, for a fast first heatmap).
const ANALYSE_CHUNK: usize = 4;

struct Stored {
    image: Rc<Plane>,
    truth: Option<Mask>,
    /// The latest heatmap sent to the page (the fine-tune filters use it).
    heatmap: Option<Plane>,
    /// The latest probability sent with it (a volume's exported mask is gated by it).
    probability: Option<f32>,
}

struct DecodeJob {
    request: u64,
    demo: bool,
    channel: Channel,
    pairs: VecDeque<Pair>,
    /// Volumes to read, one per step.
    sources: VecDeque<Source>,
    total: usize,
    items: Vec<NewItem>,
    volumes: Vec<VolumeInfo>,
    problems: Vec<String>,
}

impl DecodeJob {
    fn left(&self) -> usize {
        self.pairs.len() + self.sources.len()
    }
}

/// A volume and how the page currently cuts it.
struct StoredVolume {
    scan: Volume,
    labels: Option<Volume>,
    view: View,
    window: Window,
    slices: Vec<ItemId>,
}

struct AnalysisJob {
    generation: u64,
    model: ModelId,
    method: CamMethod,
    block: usize,
    queue: VecDeque<ItemId>,
    done: usize,
    started: f64,
}

pub struct Session {
    device: Device,
    backend: Backend,
    clock: Clock,
    models: BTreeMap<ModelId, (ModelCard, Vec<u8>)>,
    /// The one model built on the device, by id.
    built: Option<(ModelId, Classifier)>,
    items: BTreeMap<ItemId, Stored>,
    next_item: u64,
    volumes: BTreeMap<VolumeId, StoredVolume>,
    next_volume: u64,
    decoding: VecDeque<DecodeJob>,
    analysis: Option<AnalysisJob>,
    tune: Option<finetuning::TuneJob>,
    /// The labelled folder last given for training, and the run training on it.
    folder: training::Folder,
    training: Option<training::TrainJob>,
    /// The latest trust check asked for (one image; a newer request replaces it).
    trust: Option<ImageQuestion>,
    /// The latest "how is this heatmap made" asked for.
    explain: Option<ImageQuestion>,
    /// The trust checks of many images under way.
    trust_all: Option<questions::TrustAllJob>,
    /// Both backends being timed on the first images, when the GPU's speed is not known.
    trial: Option<trial::Trial>,
    /// Workers of the pool this one can reach directly (the main worker's helpers, or a
    /// helper's main worker).
    peers: std::collections::BTreeSet<usize>,
    /// This worker's shard of a run another worker coordinates.
    shard: Option<sharing::ShardJob>,
}

impl Session {
    pub fn new(device: Device, backend: Backend, clock: Clock) -> Self {
        Self {
            device,
            backend,
            clock,
            models: BTreeMap::new(),
            built: None,
            items: BTreeMap::new(),
            next_item: 0,
            volumes: BTreeMap::new(),
            next_volume: 0,
            decoding: VecDeque::new(),
            analysis: None,
            tune: None,
            folder: training::Folder::default(),
            training: None,
            trust: None,
            explain: None,
            trust_all: None,
            trial: None,
            peers: Default::default(),
            shard: None,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether [`Session::step`] has work to do.
    pub fn busy(&self) -> bool {
        let training = self.training.as_ref().is_some_and(|t| !t.waiting());
        let shard = self.shard.as_ref().is_some_and(sharing::ShardJob::ready);
        !self.decoding.is_empty() || self.analysis.is_some() || self.tune.is_some() || training || shard || self.trust.is_some() || self.explain.is_some() || self.trust_all.is_some()
    }

    /// Takes one message: quick bookkeeping only; the work itself happens in [`Session::step`].
    pub fn accept(&mut self, input: WorkerInput) -> Vec<WorkerOutput> {
        match input {
            // The worker's loop picks the device before the session exists; a second Start
            // changes nothing.
            WorkerInput::Start { .. } => Vec::new(),
            WorkerInput::AddModel { model, card_json, weights } => vec![self.add_model(model, &card_json, weights)],
            WorkerInput::Decode { request, files, channel, demo } => {
                let mut problems = Vec::new();
                let (images, volume_files) = split_volumes(files, &mut problems);
                let pairs: VecDeque<Pair> = pair(images, &mut problems).into();
                let sources: VecDeque<Source> = open::group(volume_files, &mut problems).into();
                let total = pairs.len() + sources.len();
                self.decoding.push_back(DecodeJob { request, demo, channel, pairs, sources, total, items: Vec::new(), volumes: Vec::new(), problems });
                Vec::new()
            }
            WorkerInput::Restore { items } => {
                for item in items {
                    self.next_item = self.next_item.max(item.id.0 + 1);
                    self.items.insert(item.id, Stored { image: Rc::new(item.image), truth: item.truth, heatmap: None, probability: None });
                }
                Vec::new()
            }
            WorkerInput::Forget { items } => {
                for id in &items {
                    self.items.remove(id);
                }
                self.volumes.retain(|_, v| !v.slices.iter().any(|id| items.contains(id)));
                if let Some(job) = &mut self.analysis {
                    job.queue.retain(|id| !items.contains(id));
                }
                Vec::new()
            }
            WorkerInput::Adopt { item, probability, heatmap } => {
                if let Some(stored) = self.items.get_mut(&item) {
                    stored.heatmap = Some(heatmap);
                    stored.probability = Some(probability);
                }
                Vec::new()
            }
            WorkerInput::Analyse { generation, model, method, block, items } => {
                let queue: VecDeque<ItemId> = items.into_iter().filter(|id| self.items.contains_key(id)).collect();
                self.analysis = Some(AnalysisJob { generation, model, method, block, queue, done: 0, started: (self.clock)() });
                Vec::new()
            }
            WorkerInput::FineTune { run, model, items, filter, threshold, epochs } => {
                let mut out: Vec<WorkerOutput> = self.tune.take().map(|old| WorkerOutput::TuneCancelled { run: old.run }).into_iter().collect();
                match self.tune_job(run, model, &items, filter, threshold, epochs) {
                    Ok(job) => self.tune = Some(job),
                    Err(e) => out.push(WorkerOutput::TuneFailed { run, message: e.to_string() }),
                }
                out
            }
            WorkerInput::CancelTune { run } => match self.tune.take() {
                Some(job) if job.run == run => vec![WorkerOutput::TuneCancelled { run }],
                other => {
                    self.tune = other;
                    Vec::new()
                }
            },
            WorkerInput::Reslice { request, volume, view, window } => vec![self.reslice(request, volume, view, window)],
            WorkerInput::ExportMask { volume, threshold, gated } => vec![self.export_mask(volume, threshold, gated)],
            // A few milliseconds for a 256 px picture: answered at once.
            WorkerInput::EncodePng(picture) => vec![WorkerOutput::Encoded { bytes: picture.png(), file_name: picture.file_name }],
            input @ (WorkerInput::ReadLabels { .. } | WorkerInput::Train { .. } | WorkerInput::CancelTrain { .. }) => self.accept_training(input),
            WorkerInput::Trust(question) => {
                self.trust = Some(question);
                Vec::new()
            }
            WorkerInput::Explain(question) => {
                self.explain = Some(question);
                Vec::new()
            }
            input @ (WorkerInput::TrustAll { .. } | WorkerInput::CancelTrustAll { .. }) => self.accept_trust_all(input),
            input @ (WorkerInput::PeerJoined { .. } | WorkerInput::PeerLost { .. } | WorkerInput::FromPeer { .. }) => self.accept_peer(input),
            WorkerInput::UseCpu { note } => {
                let mut out = self.fall_back_to_cpu();
                out.push(WorkerOutput::BackendChosen { backend: Backend::Cpu, note: Some(note) });
                out
            }
        }
    }

    /// One short piece of work: a few images decoded, a few analysed, or one training step.
    pub async fn step(&mut self) -> Vec<WorkerOutput> {
        // A coordinator waits on this worker's part: it goes first.
        if self.shard.as_ref().is_some_and(sharing::ShardJob::ready) {
            return self.shard_step().await;
        }
        if !self.decoding.is_empty() {
            return self.decode_step();
        }
        if self.analysis.is_some() {
            return match self.analysis_step().await {
                Ok(out) => out,
                Err(e) => {
                    self.analysis = None;
                    self.failure(e, None)
                }
            };
        }
        if let Some(run) = self.tune.as_ref().map(|t| t.run) {
            return match self.tune_step().await {
                Ok(out) => out,
                Err(e) => {
                    self.tune = None;
                    self.failure(e, Some(run))
                }
            };
        }
        if let Some(question) = self.explain.take() {
            return vec![self.explain_step(question).await];
        }
        if let Some(question) = self.trust.take() {
            return vec![self.trust_step(question).await];
        }
        if self.trust_all.is_some() {
            return self.trust_all_step().await;
        }
        if self.training.is_some() {
            return self.training_step().await;
        }
        Vec::new()
    }

    fn add_model(&mut self, model: ModelId, card_json: &str, weights: Vec<u8>) -> WorkerOutput {
        // Built once on the CPU to check it: a bad file is refused here, not at first use. On
        // the CPU that build is kept: the model just added is the one the page uses next, and
        // building it again would delay its first heatmap.
        let checked = ModelCard::from_json(card_json).and_then(|card| card.load_checked(weights.clone(), &Device::flex()).map(|built| (card, built)));
        match checked {
            Ok((card, built)) => {
                self.models.insert(model, (card, weights));
                if self.backend == Backend::Cpu {
                    self.built = Some((model, built));
                } else if self.built.as_ref().is_some_and(|(id, _)| *id == model) {
                    self.built = None;
                }
                WorkerOutput::ModelAccepted { model }
            }
            Err(e) => WorkerOutput::ModelRejected { model, message: e.to_string() },
        }
    }

    /// The model `id` on the device, built from its bytes when it is not the one built.
    fn model(&mut self, id: ModelId) -> Result<(ModelCard, Classifier)> {
        let (card, bytes) = self.models.get(&id).ok_or_else(|| Error::Invalid(format!("model {} has not been sent to the worker", id.0)))?;
        let card = card.clone();
        if let Some((built, model)) = &self.built {
            if *built == id {
                return Ok((card, model.clone()));
            }
        }
        let model = card.load(bytes.clone(), &self.device)?;
        self.built = Some((id, model.clone()));
        Ok((card, model))
    }

    fn decode_step(&mut self) -> Vec<WorkerOutput> {
        let Some(mut job) = self.decoding.pop_front() else { return Vec::new() };
        if !job.pairs.is_empty() {
            for p in (0..DECODE_CHUNK).filter_map(|_| job.pairs.pop_front()) {
                if let Some(loaded) = decode_pair(&p, job.channel, &mut job.problems) {
                    let id = self.store(loaded.image.clone(), loaded.truth.clone());
                    job.items.push(NewItem { id, name: loaded.name, image: loaded.image, truth: loaded.truth });
                }
            }
        } else if let Some(source) = job.sources.pop_front() {
            for scan in open::read(&source, &mut job.problems) {
                let window = scan.volume.default_window();
                let (info, mut items) = self.add_volume(scan.volume, scan.labels, View::default(), window);
                job.items.append(&mut items);
                job.volumes.push(info);
            }
        }
        if job.left() > 0 {
            let done = job.total - job.left();
            let total = job.total;
            self.decoding.push_front(job);
            return vec![WorkerOutput::Busy(Some(Busy { what: "decoding".into(), done, total }))];
        }
        let mut out = vec![WorkerOutput::Loaded { request: job.request, demo: job.demo, items: job.items, volumes: job.volumes, problems: job.problems }];
        out.extend(self.idle_note());
        out
    }

    /// Keeps a decoded image under a new id.
    fn store(&mut self, image: Plane, truth: Option<Mask>) -> ItemId {
        let id = ItemId(self.next_item);
        self.next_item += 1;
        self.items.insert(id, Stored { image: Rc::new(image), truth, heatmap: None, probability: None });
        id
    }

    /// Keeps a volume and cuts it into slice items.
    fn add_volume(&mut self, scan: Volume, labels: Option<Volume>, view: View, window: Window) -> (VolumeInfo, Vec<NewItem>) {
        let id = VolumeId(self.next_volume);
        self.next_volume += 1;
        let mut stored = StoredVolume { scan, labels, view, window, slices: Vec::new() };
        let items = self.cut(&mut stored);
        let info = Self::info(id, &stored);
        self.volumes.insert(id, stored);
        (info, items)
    }

    /// The slices of a volume in its view and window, as new items.
    fn cut(&mut self, volume: &mut StoredVolume) -> Vec<NewItem> {
        let count = volume.scan.slices(volume.view);
        let mut items = Vec::with_capacity(count);
        for k in 0..count {
            let image = volume.scan.slice(volume.view, k, volume.window);
            let truth = volume.labels.as_ref().map(|l| l.label_slice(volume.view, k));
            let id = self.store(image.clone(), truth.clone());
            items.push(NewItem { id, name: slice_name(&volume.scan.name, volume.view, k, count), image, truth });
        }
        volume.slices = items.iter().map(|i| i.id).collect();
        items
    }

    fn info(id: VolumeId, v: &StoredVolume) -> VolumeInfo {
        VolumeInfo {
            id,
            name: v.scan.name.clone(),
            format: v.scan.format.clone(),
            dims: v.scan.dims,
            spacing: v.scan.geometry.spacing(),
            view: v.view,
            window: v.window,
            slices: v.slices.clone(),
            labelled: v.labels.is_some(),
        }
    }

    fn reslice(&mut self, request: u64, id: VolumeId, view: View, window: Window) -> WorkerOutput {
        let Some(mut volume) = self.volumes.remove(&id) else {
            return WorkerOutput::Failed { message: "that volume is no longer loaded".into() };
        };
        if !(window.low.is_finite() && window.high.is_finite() && window.high > window.low) {
            self.volumes.insert(id, volume);
            return WorkerOutput::Failed { message: format!("window {} to {} is empty: its top must be above its bottom", window.low, window.high) };
        }
        for old in &volume.slices {
            self.items.remove(old);
        }
        if let Some(job) = &mut self.analysis {
            job.queue.retain(|q| !volume.slices.contains(q));
        }
        volume.view = view;
        volume.window = window;
        let items = self.cut(&mut volume);
        let info = Self::info(id, &volume);
        self.volumes.insert(id, volume);
        WorkerOutput::Resliced { request, volume: info, items }
    }

    fn export_mask(&self, id: VolumeId, threshold: Threshold, gated: bool) -> WorkerOutput {
        let Some(volume) = self.volumes.get(&id) else {
            return WorkerOutput::Failed { message: "that volume is no longer loaded".into() };
        };
        let stored: Vec<&Stored> = volume.slices.iter().filter_map(|s| self.items.get(s)).collect();
        let done = stored.iter().filter(|s| s.heatmap.is_some()).count();
        if done < volume.slices.len() {
            return WorkerOutput::Failed { message: format!("{}: {done} of {} slices are analysed; the mask is exported once every slice is", volume.scan.name, volume.slices.len()) };
        }
        let masks: Vec<Option<Mask>> = stored
            .iter()
            .map(|s| {
                let called = s.probability.unwrap_or(0.0) >= crate::evaluate::GATE;
                s.heatmap.as_ref().filter(|_| called || !gated).map(|h| threshold.apply(h))
            })
            .collect();
        let voxels = volume.scan.voxels_from_slices(volume.view, &masks);
        let stem = nifti::stem(volume.scan.name.trim_end_matches('/')).rsplit('/').next().unwrap_or("volume").to_string();
        WorkerOutput::Exported { volume: id, file_name: format!("{stem}_camseg_mask.nii.gz"), bytes: nifti::write_mask(&volume.scan, &voxels) }
    }

    async fn analysis_step(&mut self) -> Result<Vec<WorkerOutput>> {
        let Some(job) = &mut self.analysis else { return Ok(Vec::new()) };
        let take = if job.done == 0 { 1 } else { ANALYSE_CHUNK };
        let ids: Vec<ItemId> = (0..take).filter_map(|_| job.queue.pop_front()).collect();
        let (generation, model_id, method, block) = (job.generation, job.model, job.method, job.block);
        let (card, model) = self.model(model_id)?;
        // Images forgotten since the request are skipped.
        let present: Vec<ItemId> = ids.iter().filter(|id| self.items.contains_key(id)).copied().collect();
        let images: Vec<Rc<Plane>> = present.iter().filter_map(|id| self.items.get(id)).map(|s| s.image.clone()).collect();
        let refs: Vec<&Plane> = images.iter().map(|p| p.as_ref()).collect();
        let start = (self.clock)();
        let analyses = if refs.is_empty() { Vec::new() } else { analyse(&model, &card.input, &refs, block, method, &self.device).await? };
        let measured = self.trial_step(model_id, &refs, block, method, (self.clock)() - start).await?;
        let mut out = Vec::new();
        for (id, analysis) in present.iter().zip(analyses) {
            let stored = self.items.get_mut(id).expect("present above");
            let overlap = stored.truth.as_ref().map(|t| Overlap::new(&analysis.heatmap, t));
            let scores = overlap.as_ref().and_then(ScoreGrid::from_overlap);
            stored.heatmap = Some(analysis.heatmap.clone());
            stored.probability = Some(analysis.probability);
            let finding = Finding { probability: analysis.probability, heatmap: analysis.heatmap, scores, overlap };
            out.push(WorkerOutput::Analysed { generation, item: *id, finding });
        }
        out.extend(measured);
        let job = self.analysis.as_mut().expect("still here");
        job.done += ids.len();
        if job.queue.is_empty() {
            let job = self.analysis.take().expect("still here");
            out.push(WorkerOutput::AnalysisDone { generation, images: job.done, millis: (self.clock)() - job.started, backend: self.backend });
            out.extend(self.idle_note());
        }
        // No progress note between chunks: the page counts the batch over all its workers.
        Ok(out)
    }

    /// An error from a job: on WebGPU the device is suspect, so the session goes on on the CPU
    /// (images, models and results are kept; the page asks again); on the CPU it is reported.
    fn failure(&mut self, error: Error, run: Option<u64>) -> Vec<WorkerOutput> {
        let mut out = Vec::new();
        if let Some(run) = run {
            out.push(WorkerOutput::TuneFailed { run, message: error.to_string() });
        } else if self.backend == Backend::Cpu {
            out.push(WorkerOutput::Failed { message: error.to_string() });
        }
        if self.backend == Backend::WebGpu {
            out.extend(self.fall_back_to_cpu());
            out.push(WorkerOutput::BackendLost { note: format!("WebGPU failed ({error})") });
        }
        out.extend(self.idle_note());
        out
    }

    /// Goes on on the CPU: models are rebuilt there from their bytes; a fine-tune running on
    /// the GPU is cancelled (its model lives on that device).
    fn fall_back_to_cpu(&mut self) -> Vec<WorkerOutput> {
        let mut out = Vec::new();
        if self.backend == Backend::WebGpu {
            self.device = Device::flex();
            self.backend = Backend::Cpu;
            self.built = None;
            self.trial = None;
            self.analysis = None;
            if let Some(job) = self.tune.take() {
                out.push(WorkerOutput::TuneCancelled { run: job.run });
            }
            if let Some(job) = self.training.take() {
                out.push(WorkerOutput::TrainCancelled { run: job.run });
            }
        }
        out
    }

    fn idle_note(&self) -> Option<WorkerOutput> {
        (self.decoding.is_empty() && self.analysis.is_none()).then_some(WorkerOutput::Busy(None))
    }
}

mod finetuning;
mod questions;
mod sharing;
mod training;
mod trial;

#[cfg(test)]
mod tests;
