//! Training and fine-tuning on the model: a seeded, cancellable [`Trainer`] (Adam on
//! cross-entropy, cosine-decayed learning rate, light augmentation) and [`predict`]. Its
//! settings and progress reports are data ([`camseg_core::train`], re-exported here).
//!
//! On the CPU a step runs on plain slices ([`backprop`]); on a GPU, burn's autodiff runs it.

pub use camseg_core::train::*;

pub mod backprop;

use backprop::{Adam, Network};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::cam::read_floats;
use crate::data::{Batch, InputSpec};
use crate::model::Classifier;
use crate::plane::Plane;
use {

    crate::Result,
    burn::module::Module,
    burn::nn::loss::CrossEntropyLossConfig,
    burn::optim::decay::WeightDecayConfig,
    burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer},
    burn::tensor::activation::softmax,
    burn::tensor::{Device, Int, Tensor, TensorData},
    rand::RngExt,
};
use std::ops::ControlFlow;

/// A mini-batch drawn for a step on plain slices: its inputs [n][size * size], labels and
/// dropout masks [n][features], and the steps taken before it (the step's number between
/// workers).
pub struct Drawn {
    x: Vec<f32>,
    labels: Vec<bool>,
    keep: Option<Vec<f32>>,
    pub step: usize,
}

pub struct Trainer {
    engine: Engine,
    config: TrainConfig,
    spec: InputSpec,
    unread_steps: usize,
    unread_images: usize,
    /// The last figures read (loss, accuracy).
    last_read: (f32, f32),
    schedule: Schedule,
}

/// What runs the steps.
enum Engine {
    /// burn's autodiff, on any device.
    Autodiff {
        model: Classifier,
        optim: ModuleOptimizer,
        /// The autodiff device the model trains on, and the plain one under it.
        device: Device,
        plain: Device,
        /// Sums of loss and of correct answers since the last read, kept on the device.
        unread: Option<Tensor<1>>,
    },
    /// [`backprop`]'s plain slices, on the CPU.
    Plain {
        /// The model the network came from, to write the trained values into.
        template: Classifier,
        net: Network,
        adam: Adam,
        /// Dropout's stream, apart from the schedule's so that augmentations stay as they were.
        dropout: StdRng,
        /// Sums of loss and of correct answers since the last read.
        unread: (f64, f64),
    },
}

impl Trainer {
    /// Starts training `model` (fresh or loaded) on `samples.len()` samples: on plain slices
    /// where `device` is the CPU, else with burn's autodiff on it.
    pub fn new(model: Classifier, spec: InputSpec, config: TrainConfig, samples: usize, device: &Device) -> Self {
        // The device first: reading a GPU model's weights back synchronously is not allowed in
        // the page.
        let plain = if *device == Device::flex() { Network::new(&model, spec.size) } else { None };
        match plain {
            Some(net) => {
                let adam = Adam::new(net.params.len(), config.weight_decay as f32);
                let dropout = StdRng::seed_from_u64(config.seed ^ 0x5eed_d209_0u64);
                Self::with_engine(Engine::Plain { template: model, net, adam, dropout, unread: (0.0, 0.0) }, spec, config, samples)
            }
            None => Self::on_autodiff(model, spec, config, samples, device),
        }
    }

    /// As [`Trainer::new`], but always with burn's autodiff (the benchmark's reference).
    pub fn on_autodiff(model: Classifier, spec: InputSpec, config: TrainConfig, samples: usize, device: &Device) -> Self {
        let optim = AdamConfig::new().with_weight_decay(Some(WeightDecayConfig::new(config.weight_decay as f32))).init();
        // Inputs must live on the autodiff device too: batch norm takes its training path (batch
        // statistics, running averages updated) only for autodiff inputs.
        let engine = Engine::Autodiff { model: model.train(), optim, device: device.clone().autodiff(), plain: device.clone(), unread: None };
        Self::with_engine(engine, spec, config, samples)
    }

    fn with_engine(engine: Engine, spec: InputSpec, config: TrainConfig, samples: usize) -> Self {
        let schedule = Schedule::new(config.seed, samples, config.batch_size, config.epochs);
        Self { engine, config, spec, unread_steps: 0, unread_images: 0, last_read: (f32::NAN, f32::NAN), schedule }
    }

    /// Whether the steps run on plain slices (else burn's autodiff).
    pub fn is_plain(&self) -> bool {
        matches!(self.engine, Engine::Plain { .. })
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.schedule.steps_per_epoch()
    }

    pub fn total_steps(&self) -> usize {
        self.schedule.total_steps()
    }

    pub fn is_done(&self) -> bool {
        self.schedule.is_done()
    }

    /// Steps taken so far, over all epochs.
    pub fn steps_taken(&self) -> usize {
        self.schedule.steps_taken()
    }

    /// The trained parameters as one vector, on plain slices (`None` on a GPU).
    #[cfg(test)]
    pub fn params(&self) -> Option<&[f32]> {
        match &self.engine {
            Engine::Plain { net, .. } => Some(&net.params),
            Engine::Autodiff { .. } => None,
        }
    }

    /// The model as it stands, in eval mode (for inference between epochs).
    pub fn model(&self) -> Classifier {
        match &self.engine {
            Engine::Autodiff { model, .. } => model.valid(),
            Engine::Plain { template, net, .. } => net.write_into(template),
        }
    }

    pub fn into_model(self) -> Classifier {
        self.model()
    }

    fn augment(&mut self, plane: &Plane) -> Plane {
        let contrast = self.config.contrast;
        let rng = self.schedule.rng();
        let mut p = if rng.random::<bool>() { plane.flipped_horizontally() } else { plane.clone() };
        let max_shift = p.width as f32 * 0.04;
        let angle = rng.random_range(-15f32..15.0).to_radians();
        let scale = rng.random_range(0.9f32..1.1);
        let (dx, dy) = (rng.random_range(-max_shift..=max_shift), rng.random_range(-max_shift..=max_shift));
        p = p.transformed(angle, scale, dx, dy);
        let gain = rng.random_range(0.9f32..1.1);
        p.data.iter_mut().for_each(|v| *v *= gain);
        if contrast > 1.0 {
            let spread = contrast.ln();
            let power = rng.random_range(-spread..spread).exp();
            p = p.powered(power);
        }
        p
    }

    /// One optimisation step on the next mini-batch of `samples` (the same slice every call).
    /// Returns `None` once all epochs are done.
    pub async fn step(&mut self, samples: &[Sample]) -> Result<Option<Progress>> {
        if self.is_plain() {
            let Some(drawn) = self.draw(samples) else { return Ok(None) };
            let whole = self.shard_gradient(&drawn, 0, 1);
            return self.apply(&drawn, &whole).await.map(Some);
        }
        if self.is_done() || samples.is_empty() {
            return Ok(None);
        }
        let (batch, planes) = self.next_batch(samples);
        let lr = self.learning_rate();
        let Engine::Autodiff { model, optim, device, plain, unread } = &mut self.engine else { unreachable!("plain steps returned above") };
        let labels: Vec<i64> = batch.iter().map(|&i| samples[i].label as i64).collect();
        let x = self.spec.batch(&planes.iter().collect::<Vec<_>>(), device);
        let targets = Tensor::<1, Int>::from_data(TensorData::new(labels.clone(), [labels.len()]), &*device);
        let logits = model.forward(x);
        let loss = CrossEntropyLossConfig::new().init(device).forward(logits.clone(), targets);
        let grads = GradientsParams::from_grads(loss.backward(), &*model);
        *model = optim.step(lr, model.clone(), grads);

        // The step's loss and correct answers join the unread sums on the device; they are
        // read back only when due (a read makes the host wait for the device).
        let n = labels.len();
        let logits = logits.without_autodiff();
        let said_tumour = (logits.clone().narrow(1, 1, 1) - logits.narrow(1, 0, 1)).greater_equal_elem(0.0).float().reshape([n]);
        let truth = Tensor::<1>::from_data(TensorData::new(labels.iter().map(|&l| l as f32).collect::<Vec<_>>(), [n]), &*plain);
        let wrong = (said_tumour - truth).abs().sum();
        let stats = Tensor::cat(vec![loss.without_autodiff().reshape([1]), wrong.reshape([1]).neg().add_scalar(n as f32)], 0);
        *unread = Some(match unread.take() {
            Some(sum) => sum + stats,
            None => stats,
        });
        self.finish_step(n).await.map(Some)
    }

    /// The next mini-batch's samples and their inputs (augmented where the config says).
    fn next_batch(&mut self, samples: &[Sample]) -> (Vec<usize>, Vec<Plane>) {
        assert_eq!(samples.len(), self.schedule.samples(), "the trainer was set up for another sample count");
        let batch = self.schedule.batch();
        let planes = batch.iter().map(|&i| if self.config.augment { self.augment(&samples[i].input) } else { samples[i].input.clone() }).collect();
        (batch, planes)
    }

    /// The cosine-decayed learning rate of the next step.
    fn learning_rate(&self) -> f64 {
        let total = self.total_steps();
        self.config.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * self.schedule.steps_taken() as f64 / total as f64).cos())
    }

    /// On plain slices: the next mini-batch drawn (its augmentations and dropout masks, which
    /// move the seeded streams), its gradient not yet taken. `None` once all epochs are done,
    /// or on a GPU (there [`Trainer::step`] runs whole steps).
    ///
    /// Workers sharing a run each hold a trainer made alike and draw every batch whole, so
    /// their streams stay in step; each then takes its own [`Trainer::shard_gradient`].
    pub fn draw(&mut self, samples: &[Sample]) -> Option<Drawn> {
        if self.is_done() || samples.is_empty() || !self.is_plain() {
            return None;
        }
        let step = self.steps_taken();
        let (batch, planes) = self.next_batch(samples);
        let Engine::Plain { net, dropout, .. } = &mut self.engine else { return None };
        let size = net.input_size();
        let mut x = Vec::with_capacity(planes.len() * size * size);
        for p in &planes {
            assert_eq!((p.width, p.height), (size, size), "plane not prepared for this model");
            x.extend_from_slice(&p.data);
        }
        let labels: Vec<bool> = batch.iter().map(|&i| samples[i].label).collect();
        let p = net.dropout;
        let keep = (p > 0.0).then(|| (0..labels.len() * net.features()).map(|_| if dropout.random::<f32>() < p { 0.0 } else { 1.0 / (1.0 - p) }).collect::<Vec<f32>>());
        Some(Drawn { x, labels, keep, step })
    }

    /// The gradient over shard `shard` of `shards` of a drawn mini-batch ([`shard_range`]).
    pub fn shard_gradient(&mut self, drawn: &Drawn, shard: usize, shards: usize) -> ShardGradient {
        let Engine::Plain { net, .. } = &mut self.engine else { panic!("shard gradients are taken on plain slices") };
        let images = shard_range(drawn.labels.len(), shard, shards);
        if images.is_empty() {
            return ShardGradient { images: 0, loss: f32::NAN, correct: 0, grads: Vec::new(), stats: Vec::new() };
        }
        let pixels = net.input_size() * net.input_size();
        let features = net.features();
        let x = &drawn.x[images.start * pixels..images.end * pixels];
        let keep = drawn.keep.as_ref().map(|k| &k[images.start * features..images.end * features]);
        let step = net.step(x, &drawn.labels[images.clone()], keep);
        ShardGradient { images: images.len(), loss: step.loss, correct: step.correct, grads: step.grads, stats: step.stats }
    }

    /// Takes the step of a drawn mini-batch with its whole gradient (one shard's, or the
    /// shards' [`ShardGradient::combine`]d): Adam, the running statistics, the progress.
    pub async fn apply(&mut self, drawn: &Drawn, whole: &ShardGradient) -> Result<Progress> {
        let lr = self.learning_rate();
        let Engine::Plain { net, adam, unread, .. } = &mut self.engine else { panic!("shard gradients are applied on plain slices") };
        assert_eq!(whole.images, drawn.labels.len(), "the gradient covers the whole mini-batch");
        net.remember(&whole.stats);
        adam.step(&mut net.params, &whole.grads, lr);
        unread.0 += whole.loss as f64;
        unread.1 += whole.correct as f64;
        self.finish_step(drawn.labels.len()).await
    }

    /// The step's bookkeeping: the schedule moves on, the sums are read when due.
    async fn finish_step(&mut self, images: usize) -> Result<Progress> {
        self.unread_steps += 1;
        self.unread_images += images;
        let total = self.total_steps();
        let (epoch, epoch_end) = self.schedule.advance();
        let read_steps = if epoch_end || self.unread_steps >= self.config.read_every.max(1) { self.read().await? } else { 0 };
        Ok(Progress {
            epoch,
            epochs: self.config.epochs,
            step: self.schedule.steps_taken(),
            total_steps: total,
            loss: self.last_read.0,
            batch_accuracy: self.last_read.1,
            epoch_end,
            read_steps,
        })
    }

    /// Reads the unread sums (one transfer) into `last_read`; returns the steps they cover.
    async fn read(&mut self) -> Result<usize> {
        let values = match &mut self.engine {
            Engine::Autodiff { unread, .. } => match unread.take() {
                Some(sums) => read_floats(sums).await?,
                None => return Ok(0),
            },
            Engine::Plain { unread, .. } if self.unread_steps > 0 => {
                let (loss, correct) = std::mem::take(unread);
                vec![loss as f32, correct as f32]
            }
            Engine::Plain { .. } => return Ok(0),
        };
        let steps = std::mem::take(&mut self.unread_steps);
        let images = std::mem::take(&mut self.unread_images);
        self.last_read = (values[0] / steps as f32, values[1] / images as f32);
        Ok(steps)
    }
}

/// Trains to the end, or until `on_progress` breaks. Returns the model in eval mode and
/// whether it was cancelled.
pub async fn train(
    model: Classifier,
    spec: &InputSpec,
    config: &TrainConfig,
    samples: &[Sample],
    device: &Device,
    mut on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<(Classifier, bool)> {
    let mut trainer = Trainer::new(model, spec.clone(), config.clone(), samples.len(), device);
    while let Some(progress) = trainer.step(samples).await? {
        if on_progress(&progress).is_break() {
            return Ok((trainer.into_model(), true));
        }
    }
    Ok((trainer.into_model(), false))
}

/// Tumour probabilities of prepared inputs, in batches. `model` must be in eval mode.
pub async fn predict(model: &Classifier, spec: &InputSpec, inputs: &[&Plane], batch: usize, device: &Device) -> Result<Vec<f32>> {
    let mut probs = Vec::with_capacity(inputs.len());
    for chunk in inputs.chunks(batch.max(1)) {
        let logits = model.forward(spec.batch(chunk, device));
        let p = read_floats(softmax(logits, 1)).await?;
        probs.extend(p.chunks(2).map(|c| c[1]));
    }
    Ok(probs)
}
