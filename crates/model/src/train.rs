//! Training and fine-tuning on the model: a seeded, cancellable [`Trainer`] (Adam on
//! cross-entropy, cosine-decayed learning rate, light augmentation) and [`predict`]. Its
//! settings and progress reports are data ([`camseg_core::train`], re-exported here).

pub use camseg_core::train::*;

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

pub struct Trainer {
    model: Classifier,
    optim: ModuleOptimizer,
    config: TrainConfig,
    spec: InputSpec,
    /// The autodiff device the model trains on, and the plain one under it.
    device: Device,
    plain: Device,
    /// Sums of loss and of correct answers since the last read, kept on the device.
    unread: Option<Tensor<1>>,
    unread_steps: usize,
    unread_images: usize,
    /// The last figures read (loss, accuracy).
    last_read: (f32, f32),
    schedule: Schedule,
}

impl Trainer {
    /// Starts training `model` (fresh or loaded) on `samples.len()` samples. `device` is the
    /// plain device; the model is moved to training mode with autodiff on it.
    pub fn new(model: Classifier, spec: InputSpec, config: TrainConfig, samples: usize, device: &Device) -> Self {
        let optim = AdamConfig::new().with_weight_decay(Some(WeightDecayConfig::new(config.weight_decay as f32))).init();
        let schedule = Schedule::new(config.seed, samples, config.batch_size, config.epochs);
        // Inputs must live on the autodiff device too: batch norm takes its training path (batch
        // statistics, running averages updated) only for autodiff inputs.
        Self {
            model: model.train(),
            optim,
            config,
            spec,
            device: device.clone().autodiff(),
            plain: device.clone(),
            unread: None,
            unread_steps: 0,
            unread_images: 0,
            last_read: (f32::NAN, f32::NAN),
            schedule,
        }
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

    /// The model as it stands, in eval mode (for inference between epochs).
    pub fn model(&self) -> Classifier {
        self.model.valid()
    }

    pub fn into_model(self) -> Classifier {
        self.model.valid()
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
        if self.is_done() || samples.is_empty() {
            return Ok(None);
        }
        assert_eq!(samples.len(), self.schedule.samples(), "the trainer was set up for another sample count");
        let batch = self.schedule.batch();
        let planes: Vec<Plane> = batch
            .iter()
            .map(|&i| if self.config.augment { self.augment(&samples[i].input) } else { samples[i].input.clone() })
            .collect();
        let labels: Vec<i64> = batch.iter().map(|&i| samples[i].label as i64).collect();
        let x = self.spec.batch(&planes.iter().collect::<Vec<_>>(), &self.device);
        let targets = Tensor::<1, Int>::from_data(TensorData::new(labels.clone(), [labels.len()]), &self.device);

        let logits = self.model.forward(x);
        let loss = CrossEntropyLossConfig::new().init(&self.device).forward(logits.clone(), targets);
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let total = self.total_steps();
        let lr = self.config.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * self.schedule.steps_taken() as f64 / total as f64).cos());
        self.model = self.optim.step(lr, self.model.clone(), grads);

        // The step's loss and correct answers join the unread sums on the device; they are read
        // back only when due (a read makes the host wait for the device).
        let n = labels.len();
        let logits = logits.without_autodiff();
        let said_tumour = (logits.clone().narrow(1, 1, 1) - logits.narrow(1, 0, 1)).greater_equal_elem(0.0).float().reshape([n]);
        let truth = Tensor::<1>::from_data(TensorData::new(labels.iter().map(|&l| l as f32).collect::<Vec<_>>(), [n]), &self.plain);
        let wrong = (said_tumour - truth).abs().sum();
        let stats = Tensor::cat(vec![loss.without_autodiff().reshape([1]), wrong.reshape([1]).neg().add_scalar(n as f32)], 0);
        self.unread = Some(match self.unread.take() {
            Some(sum) => sum + stats,
            None => stats,
        });
        self.unread_steps += 1;
        self.unread_images += n;

        let (epoch, epoch_end) = self.schedule.advance();
        let read_steps = if epoch_end || self.unread_steps >= self.config.read_every.max(1) { self.read().await? } else { 0 };
        Ok(Some(Progress {
            epoch,
            epochs: self.config.epochs,
            step: self.schedule.steps_taken(),
            total_steps: total,
            loss: self.last_read.0,
            batch_accuracy: self.last_read.1,
            epoch_end,
            read_steps,
        }))
    }

    /// Reads the unread sums (one transfer) into `last_read`; returns the steps they cover.
    async fn read(&mut self) -> Result<usize> {
        let Some(sums) = self.unread.take() else { return Ok(0) };
        let values = read_floats(sums).await?;
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
