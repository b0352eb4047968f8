//! Training and fine-tuning: Adam on cross-entropy, cosine-decayed learning rate, light
//! augmentation. A [`Trainer`] advances one mini-batch per [`Trainer::step`], so the CLI can
//! draw a progress bar and the page can yield to the browser and cancel between steps;
//! [`train`] wraps it with a progress callback. Seeded: the same seed, data and config give the
//! same model on the same backend.

#[cfg(feature = "model")]
use crate::cam::read_floats;
#[cfg(feature = "model")]
use crate::model::Classifier;
use crate::plane::Plane;
// The model and what runs it (burn): not in the page's own build.
#[cfg(feature = "model")]
use {
    crate::data::InputSpec,
    crate::Result,
    burn::module::Module,
    burn::nn::loss::CrossEntropyLossConfig,
    burn::optim::decay::WeightDecayConfig,
    burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer},
    burn::tensor::activation::softmax,
    burn::tensor::{Device, Int, Tensor, TensorData},
    rand::rngs::StdRng,
    rand::seq::SliceRandom,
    rand::{RngExt, SeedableRng},
};
use serde::{Deserialize, Serialize};
#[cfg(feature = "model")]
use std::ops::ControlFlow;

/// A prepared model input (see [`InputSpec::prepare`]) and its label (true = tumour).
#[derive(Clone, Debug)]
pub struct Sample {
    pub input: Plane,
    pub label: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub seed: u64,
    /// Random flips, rotations (+-15 deg), zoom (+-10%), shifts (+-4%) and brightness (+-10%).
    pub augment: bool,
    /// With `augment`, also a random contrast change: intensities raised to a power drawn
    /// log-uniformly from [1/contrast, contrast] (1 = off). Scanners and patients differ in
    /// FLAIR contrast more than in brightness, which the head-mean normalisation removes.
    pub contrast: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self { epochs: 10, batch_size: 32, learning_rate: 1e-3, weight_decay: 1e-4, seed: 42, augment: true, contrast: 1.0 }
    }
}

/// What one step reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// 0-based epoch of the step just taken.
    pub epoch: usize,
    pub epochs: usize,
    /// Steps taken so far, over all epochs.
    pub step: usize,
    pub total_steps: usize,
    pub loss: f32,
    /// Accuracy on this step's mini-batch.
    pub batch_accuracy: f32,
    /// True when this step finished an epoch.
    pub epoch_end: bool,
}

#[cfg(feature = "model")]
pub struct Trainer {
    model: Classifier,
    optim: ModuleOptimizer,
    config: TrainConfig,
    spec: InputSpec,
    device: Device,
    rng: StdRng,
    order: Vec<usize>,
    cursor: usize,
    step: usize,
    samples: usize,
}

#[cfg(feature = "model")]
impl Trainer {
    /// Starts training `model` (fresh or loaded) on `samples.len()` samples. `device` is the
    /// plain device; the model is moved to training mode with autodiff on it.
    pub fn new(model: Classifier, spec: InputSpec, config: TrainConfig, samples: usize, device: &Device) -> Self {
        let optim = AdamConfig::new().with_weight_decay(Some(WeightDecayConfig::new(config.weight_decay as f32))).init();
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut order: Vec<usize> = (0..samples).collect();
        order.shuffle(&mut rng);
        // Inputs must live on the autodiff device too: batch norm takes its training path (batch
        // statistics, running averages updated) only for autodiff inputs.
        Self { model: model.train(), optim, config, spec, device: device.clone().autodiff(), rng, order, cursor: 0, step: 0, samples }
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.samples.div_ceil(self.config.batch_size.max(1))
    }

    pub fn total_steps(&self) -> usize {
        self.steps_per_epoch() * self.config.epochs
    }

    pub fn is_done(&self) -> bool {
        self.step >= self.total_steps()
    }

    /// The model as it stands, in eval mode (for inference between epochs).
    pub fn model(&self) -> Classifier {
        self.model.valid()
    }

    pub fn into_model(self) -> Classifier {
        self.model.valid()
    }

    fn augment(&mut self, plane: &Plane) -> Plane {
        let mut p = if self.rng.random::<bool>() { plane.flipped_horizontally() } else { plane.clone() };
        let max_shift = p.width as f32 * 0.04;
        let angle = self.rng.random_range(-15f32..15.0).to_radians();
        let scale = self.rng.random_range(0.9f32..1.1);
        let (dx, dy) = (self.rng.random_range(-max_shift..=max_shift), self.rng.random_range(-max_shift..=max_shift));
        p = p.transformed(angle, scale, dx, dy);
        let gain = self.rng.random_range(0.9f32..1.1);
        p.data.iter_mut().for_each(|v| *v *= gain);
        if self.config.contrast > 1.0 {
            let spread = self.config.contrast.ln();
            let power = self.rng.random_range(-spread..spread).exp();
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
        assert_eq!(samples.len(), self.samples, "the trainer was set up for another sample count");
        let end = (self.cursor + self.config.batch_size).min(self.samples);
        let batch: Vec<usize> = self.order[self.cursor..end].to_vec();
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
        let lr = self.config.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * self.step as f64 / total as f64).cos());
        self.model = self.optim.step(lr, self.model.clone(), grads);

        let loss = read_floats(loss.without_autodiff()).await?[0];
        let probs = read_floats(softmax(logits.without_autodiff(), 1)).await?;
        let correct = labels.iter().enumerate().filter(|(k, &l)| (probs[2 * k + 1] >= 0.5) == (l == 1)).count();

        let epoch = self.step / self.steps_per_epoch();
        self.step += 1;
        self.cursor = end;
        let epoch_end = self.cursor >= self.samples;
        if epoch_end {
            self.cursor = 0;
            self.order.shuffle(&mut self.rng);
        }
        Ok(Some(Progress {
            epoch,
            epochs: self.config.epochs,
            step: self.step,
            total_steps: total,
            loss,
            batch_accuracy: correct as f32 / labels.len() as f32,
            epoch_end,
        }))
    }
}

/// Trains to the end, or until `on_progress` breaks. Returns the model in eval mode and
/// whether it was cancelled.
#[cfg(feature = "model")]
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
#[cfg(feature = "model")]
pub async fn predict(model: &Classifier, spec: &InputSpec, inputs: &[&Plane], batch: usize, device: &Device) -> Result<Vec<f32>> {
    let mut probs = Vec::with_capacity(inputs.len());
    for chunk in inputs.chunks(batch.max(1)) {
        let logits = model.forward(spec.batch(chunk, device));
        let p = read_floats(softmax(logits, 1)).await?;
        probs.extend(p.chunks(2).map(|c| c[1]));
    }
    Ok(probs)
}
