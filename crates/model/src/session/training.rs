//! Training a classifier in the worker from a labelled folder the person gave: read the labels
//! ([`crate::data::labelled`], the CLI's rules), decode a few images per step, then one
//! mini-batch per step, val AUC at each epoch's end, the best epoch kept. The run writes its
//! own card, as `camseg train` does.

use crate::prelude::*;
use crate::card::{weights_bytes, LabelsInfo, ModelCard, TrainingInfo};
use crate::data::decode::decode_image;
use crate::data::ScanKind;
use crate::data::labelled::{self, Entry, LabelOptions, Labelled, ScanSlices};
use crate::data::upload::{split_volumes, FileBytes};
use crate::evaluate::GATE;
use crate::metrics::{balanced_gate, roc_auc, Confusion};
use crate::model::Classifier;
use crate::plane::Plane;
use crate::protocol::{Busy, WorkerInput, WorkerOutput};
use crate::train::{predict, Sample, TrainConfig, Trainer};
use super::sharing::{self, Sharing};
use crate::{Error, Result};
use burn::tensor::Device;
use std::collections::BTreeMap;

/// Images decoded per step.
const DECODE_CHUNK: usize = 8;
/// Most epochs a run may ask for.
pub const MAX_EPOCHS: usize = 100;

/// A labelled folder as given: its files by path (common top folder removed), and the
/// entries the label rules read.
#[derive(Default)]
pub struct Folder {
    files: BTreeMap<String, Vec<u8>>,
    entries: Vec<Entry>,
    csv: Option<(String, String)>,
    /// Volumes, cut into slices that are labelled images.
    scans: ScanSlices,
    /// Files that could not be read, by name and why.
    skipped: Vec<String>,
}

impl Folder {
    /// Opens zips, cuts volumes into slices, reads each image's size.
    pub fn new(files: Vec<FileBytes>) -> Folder {
        let mut problems = Vec::new();
        let (images, volumes) = split_volumes(files, &mut problems);
        // One common top folder is stripped from images and volumes alike.
        let mut paths: Vec<String> = images.iter().chain(&volumes).map(|f| f.path.clone()).collect();
        labelled::strip_common_folder(&mut paths);
        let volume_paths = paths.split_off(images.len());
        let volumes = volumes.into_iter().zip(volume_paths).map(|(v, path)| FileBytes { path, ..v }).collect();
        let scans = ScanSlices::cut(volumes, &mut problems);
        let mut folder = Folder { skipped: problems, entries: scans.entries.clone(), scans, ..Folder::default() };
        for (path, file) in paths.into_iter().zip(images) {
            if !path.contains('/') && path.to_ascii_lowercase().ends_with(".csv") {
                folder.csv = Some((path, String::from_utf8_lossy(&file.bytes).into_owned()));
                continue;
            }
            let size = image::ImageReader::new(std::io::Cursor::new(&file.bytes)).with_guessed_format().ok().and_then(|r| r.into_dimensions().ok()).map(|(w, h)| (w as usize, h as usize));
            folder.entries.push(Entry::file(path.clone(), size, labelled::fnv1a(&file.bytes)));
            folder.files.insert(path, file.bytes);
        }
        folder
    }

    fn csv(&self) -> Option<labelled::CsvText<'_>> {
        self.csv.as_ref().map(|(name, text)| labelled::CsvText { name, text })
    }

    /// The folder read with `options`, or why it cannot train; and the classes found.
    pub fn read(&self, options: &LabelOptions) -> (std::result::Result<Labelled, String>, Vec<String>) {
        let names = labelled::class_names(&self.entries, self.csv());
        let read = labelled::read(&self.entries, self.csv(), options).map(|mut set| {
            set.warnings.extend(self.skipped.iter().cloned());
            set
        });
        (read, names)
    }
}

/// What a run starts from: a model's card and weights, or nothing (scratch).
pub struct Start {
    pub card: Option<ModelCard>,
    pub model: Option<Classifier>,
}

struct BestEpoch {
    auc: f64,
    accuracy: f64,
    epoch: usize,
    model: Classifier,
    probs: Vec<f32>,
}

pub struct TrainJob {
    pub run: u64,
    set: Labelled,
    card: ModelCard,
    start: Option<Classifier>,
    config: TrainConfig,
    /// Images still to decode, as indices into `set.images`.
    next: usize,
    train: Vec<Sample>,
    val: Vec<Sample>,
    trainer: Option<Trainer>,
    /// The best epoch so far: its val AUC and accuracy, number, model and val probabilities.
    best: Option<BestEpoch>,
    balance_gate: bool,
    loss_sum: f64,
    started: f64,
    /// The peers taking shards of each step, where the run is shared.
    sharing: Option<Sharing>,
    /// An epoch just ended: its held-out check is the next piece of work.
    val_due: Option<crate::train::Progress>,
}

/// What the person chose for a run besides the data and the start.
pub struct Recipe {
    /// What a model trained from scratch reads (a start model brings its own).
    pub scan: ScanKind,
    pub epochs: usize,
    /// Move the head's bias so that p = 0.5 falls at val's best balanced accuracy
    /// ([`crate::metrics::balanced_gate`]).
    pub balance_gate: bool,
}

impl TrainJob {
    /// A run on `set` (read with `options`), from `start`, as `recipe` says, named `name`.
    pub fn new(run: u64, set: Labelled, options: &LabelOptions, start: Start, recipe: Recipe, name: &str, now: f64) -> Result<TrainJob> {
        let Recipe { scan, epochs, balance_gate } = recipe;
        let arch = start.card.as_ref().map(|c| c.architecture.clone()).unwrap_or_default();
        let mut card = ModelCard::new(name, arch.clone());
        card.input.scan = scan.settings();
        if let Some(from) = &start.card {
            card.input = from.input.clone();
            card.cam = from.cam.clone();
        }
        let positive: Vec<String> = set.classes.iter().filter(|c| c.positive).map(|c| c.name.clone()).collect();
        card.training = TrainingInfo {
            command: format!("trained in the page: {epochs} epochs, val share {}, seed {}, from {}", options.val_share, options.seed, start.card.as_ref().map_or("scratch".to_string(), |c| c.name.clone())),
            seed: options.seed,
            epochs,
            data: "files given to the page".into(),
            train_images: set.images.iter().filter(|i| i.split == "train").count(),
            negatives: "all".into(),
            seconds: 0.0,
            labels: Some(LabelsInfo { layout: set.layout, options: LabelOptions { positive, ..options.clone() }, classes: set.classes.clone() }),
        };
        if !set.images.iter().any(|i| i.split == "train") {
            return Err(Error::Invalid("no image is in the train split".into()));
        }
        // The CLI's default recipe, so a page run and `camseg train` agree.
        let config = TrainConfig { epochs: epochs.clamp(1, MAX_EPOCHS), seed: options.seed, ..TrainConfig::default() };
        Ok(TrainJob { run, set, card, start: start.model, config, next: 0, train: Vec::new(), val: Vec::new(), trainer: None, best: None, balance_gate, loss_sum: 0.0, started: now, sharing: None, val_due: None })
    }

    /// One short piece of the run. `peers`: the workers that can take a shard of each step
    /// when the run starts on the CPU ([`super::sharing`]).
    pub async fn step(&mut self, folder: &Folder, device: &Device, now: f64, peers: &[usize]) -> Result<Vec<WorkerOutput>> {
        let run = self.run;
        if self.next < self.set.images.len() {
            return Ok(vec![self.decode_some(folder)]);
        }
        if let Some(progress) = self.val_due.take() {
            return self.held_out_epoch(progress, device).await;
        }
        let Some(trainer) = &mut self.trainer else {
            if self.train.is_empty() {
                return Err(Error::Invalid("no train image could be decoded".into()));
            }
            device.seed(self.config.seed);
            let model = self.start.take().unwrap_or_else(|| self.card.architecture.init(device));
            let mut out = Vec::new();
            let trainer = Trainer::new(model, self.card.input.clone(), self.config.clone(), self.train.len(), device);
            // Shards of a step pass between workers on plain slices only (not a network that
            // trains with burn's autodiff, such as EfficientNet-Lite0's).
            if !peers.is_empty() && trainer.is_plain() {
                let weights = weights_bytes(&trainer.model(), &self.card.architecture).await?;
                out.extend(sharing::joins(run, peers, &self.card, &weights, &self.config, &self.train));
                self.sharing = Some(Sharing::new(peers));
            }
            let workers = self.sharing.as_ref().map_or(1, Sharing::shards);
            out.push(WorkerOutput::TrainStarted { run, train: self.train.len(), val: self.val.len(), total_steps: trainer.total_steps(), workers });
            self.trainer = Some(trainer);
            self.started = now;
            return Ok(out);
        };
        let mut out = Vec::new();
        let progress = match &mut self.sharing {
            Some(sharing) => match sharing.turn(trainer, &self.train, run, &mut out).await? {
                None => return Ok(out), // waiting for a peer's part
                Some(progress) => progress,
            },
            None => trainer.step(&self.train).await?,
        };
        let Some(progress) = progress else {
            out.push(self.finish(now).await?);
            return Ok(out);
        };
        if progress.read_steps > 0 {
            self.loss_sum += progress.loss as f64 * progress.read_steps as f64;
        }
        out.push(WorkerOutput::TrainStep { run, progress: progress.clone() });
        // The held-out check is a step of its own, so that the peers have the step's whole
        // gradient (sent with this step's messages) and go on meanwhile.
        if progress.epoch_end {
            self.val_due = Some(progress);
        }
        Ok(out)
    }

    /// The held-out figures at an epoch's end; the best epoch by val AUC is kept.
    async fn held_out_epoch(&mut self, progress: crate::train::Progress, device: &Device) -> Result<Vec<WorkerOutput>> {
        let trainer = self.trainer.as_ref().expect("an epoch ends only once training has started");
        let model = trainer.model();
        let loss = self.loss_sum / trainer.steps_per_epoch() as f64;
        self.loss_sum = 0.0;
        let (auc, accuracy, probs) = self.held_out(&model, device).await?;
        // As the CLI: the later epoch wins ties; with no AUC (one class in val) the latest.
        if self.best.as_ref().is_none_or(|b| auc.is_nan() || auc >= b.auc || b.auc.is_nan()) {
            self.best = Some(BestEpoch { auc, accuracy, epoch: progress.epoch + 1, model, probs });
        }
        Ok(vec![WorkerOutput::TrainEpoch { run: self.run, epoch: progress.epoch, loss, val_auc: auc, val_accuracy: accuracy }])
    }

    /// The run's trainer once it has started (the tests compare it with the peers').
    #[cfg(test)]
    pub fn trainer(&self) -> Option<&Trainer> {
        self.trainer.as_ref()
    }

    /// Whether the run waits on a peer's part (the worker then sleeps until a message).
    pub fn waiting(&self) -> bool {
        self.val_due.is_none() && self.sharing.as_ref().is_some_and(Sharing::waiting)
    }

    /// Peer `peer`'s part of a step.
    pub fn receive(&mut self, peer: usize, step: usize, shard: usize, part: crate::train::ShardGradient) {
        let taken = self.trainer.as_ref().map_or(usize::MAX, Trainer::steps_taken);
        if let Some(sharing) = &mut self.sharing {
            sharing.receive(peer, step, shard, part, taken);
        }
    }

    /// Peer `peer` is gone (dead, or it could not join): its shard is computed here.
    pub fn lose(&mut self, peer: usize) {
        if let Some(sharing) = &mut self.sharing {
            sharing.lose(peer);
        }
    }

    /// What the peers are told when the run ends, however it ends.
    pub fn leave(&self) -> Vec<WorkerOutput> {
        self.sharing.as_ref().map(|s| s.leave(self.run)).unwrap_or_default()
    }

    fn decode_some(&mut self, folder: &Folder) -> WorkerOutput {
        let end = (self.next + DECODE_CHUNK).min(self.set.images.len());
        for image in &self.set.images[self.next..end] {
            // The label rules read this file's size already; one that still fails is named.
            let decoded = match (folder.scans.image(&image.file), folder.files.get(&image.file)) {
                (Some(slice), _) => Ok(slice),
                (None, Some(bytes)) => decode_image(bytes, &image.file, self.card.input.channel),
                (None, None) => Err(Error::Invalid(format!("{}: no longer among the files given", image.file))),
            };
            match decoded {
                Ok(plane) => {
                    let sample = Sample { input: self.card.input.prepare(&plane), label: image.positive };
                    if image.split == "val" { self.val.push(sample) } else if image.split == "train" { self.train.push(sample) }
                }
                Err(e) => self.set.warnings.push(e.to_string()),
            }
        }
        self.next = end;
        WorkerOutput::Busy(Some(Busy { what: "reading the training images".into(), done: end, total: self.set.images.len() }))
    }

    /// Val AUC, accuracy at the gate, and the probabilities.
    async fn held_out(&self, model: &Classifier, device: &Device) -> Result<(f64, f64, Vec<f32>)> {
        if self.val.is_empty() {
            return Ok((f64::NAN, f64::NAN, Vec::new()));
        }
        let inputs: Vec<&Plane> = self.val.iter().map(|s| &s.input).collect();
        let probs = predict(model, &self.card.input, &inputs, 32, device).await?;
        let labels = self.val_labels();
        Ok((roc_auc(&probs, &labels), Confusion::from_probs(&probs, &labels, GATE).accuracy(), probs))
    }

    fn val_labels(&self) -> Vec<bool> {
        self.val.iter().map(|s| s.label).collect()
    }

    async fn finish(&mut self, now: f64) -> Result<WorkerOutput> {
        let BestEpoch { auc, mut accuracy, epoch, mut model, probs } = self.best.take().ok_or_else(|| Error::Invalid("training ended before its first epoch".into()))?;
        let seconds = (now - self.started) / 1000.0;
        let mut card = self.card.clone();
        let mut gate = String::new();
        if self.balance_gate {
            let labels = self.val_labels();
            match balanced_gate(&probs, &labels) {
                Some((shift, cut)) => {
                    model = model.with_lesion_logit_shift(shift);
                    accuracy = Confusion::from_probs(&probs, &labels, cut).accuracy();
                    card.metrics.insert("gate_shift_logit".into(), shift as f64);
                    gate = format!(" Gate balanced on val: p {cut:.3} reads 0.5 (logit shift {shift:+.2}).");
                }
                None => gate = " The gate was not balanced: val lacks lesion or normal images.".into(),
            }
        }
        card.metrics.insert("val_auc".into(), auc);
        card.metrics.insert("val_accuracy".into(), accuracy);
        card.metrics.insert("best_epoch".into(), epoch as f64);
        card.training.seconds = seconds;
        card.description = format!(
            "Trained in this browser on {} images ({} held out as val); best epoch {epoch}, val AUC {auc:.3}.{gate}{}",
            self.train.len(),
            self.val.len(),
            if self.set.warnings.is_empty() { String::new() } else { format!(" Warnings: {}", self.set.warnings.join("; ")) }
        );
        let weights = weights_bytes(&model, &card.architecture).await?;
        Ok(WorkerOutput::TrainFinished { run: self.run, card_json: card.to_json(), weights, seconds })
    }
}

impl super::Session {
    /// `ReadLabels`, `Train` and `CancelTrain`.
    pub(super) fn accept_training(&mut self, input: WorkerInput) -> Vec<WorkerOutput> {
        match input {
            WorkerInput::ReadLabels { request, files, options } => {
                if let Some(files) = files {
                    self.folder = Folder::new(files);
                }
                let (read, classes) = self.folder.read(&options);
                vec![WorkerOutput::LabelsRead { request, summary: read.map(|s| s.summary()), classes }]
            }
            WorkerInput::Train { run, options, from, scan, epochs, balance_gate, name } => {
                let mut out: Vec<WorkerOutput> = Vec::new();
                if let Some(old) = self.training.take() {
                    out.extend(old.leave());
                    out.push(WorkerOutput::TrainCancelled { run: old.run });
                }
                let job = self.folder.read(&options).0.map_err(Error::Invalid).and_then(|set| {
                    let start = match from {
                        Some(id) => self.model(id).map(|(card, model)| Start { card: Some(card), model: Some(model) })?,
                        None => Start { card: None, model: None },
                    };
                    TrainJob::new(run, set, &options, start, Recipe { scan, epochs, balance_gate }, &name, (self.clock)())
                });
                match job {
                    Ok(job) => self.training = Some(job),
                    Err(e) => out.push(WorkerOutput::TrainFailed { run, message: e.to_string() }),
                }
                out
            }
            WorkerInput::CancelTrain { run } => match self.training.take() {
                Some(job) if job.run == run => {
                    let mut out = job.leave();
                    out.push(WorkerOutput::TrainCancelled { run });
                    out
                }
                other => {
                    self.training = other;
                    Vec::new()
                }
            },
            _ => Vec::new(),
        }
    }

    pub(super) async fn training_step(&mut self) -> Vec<WorkerOutput> {
        let Some(mut job) = self.training.take() else { return Vec::new() };
        let now = (self.clock)();
        let peers: Vec<usize> = self.peers.iter().copied().collect();
        match job.step(&self.folder, &self.device, now, &peers).await {
            Ok(mut out) => {
                let finished = out.iter().any(|o| matches!(o, WorkerOutput::TrainFinished { .. }));
                if finished {
                    out.extend(job.leave());
                } else {
                    self.training = Some(job);
                }
                out
            }
            Err(e) => {
                let mut out = job.leave();
                out.push(WorkerOutput::TrainFailed { run: job.run, message: e.to_string() });
                if self.backend == crate::protocol::Backend::WebGpu {
                    out.extend(self.fall_back_to_cpu());
                    out.push(WorkerOutput::BackendLost { note: format!("WebGPU failed while training ({e})") });
                }
                out
            }
        }
    }
}
