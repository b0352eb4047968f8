//! Training as data: its settings ([`TrainConfig`]), a labelled input ([`Sample`]) and what each
//! step reports ([`Progress`]). The trainer itself runs the model (`camseg-model`'s `train`):
//! one mini-batch per step, so the CLI can draw a progress bar and the page can yield and
//! cancel between steps. Seeded: the same seed, data and config give the same model on the
//! same backend.

use crate::plane::Plane;
use serde::{Deserialize, Serialize};

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
    /// Read the loss and accuracy back from the device every this many steps (and at each
    /// epoch's end); between reads they stay on the device. A read waits for the device to
    /// finish, which on a GPU leaves it idle: the CLI reads once an epoch, the page (which
    /// draws every step) at every step.
    #[serde(default = "every_step")]
    pub read_every: usize,
}

fn every_step() -> usize {
    1
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self { epochs: 10, batch_size: 32, learning_rate: 1e-3, weight_decay: 1e-4, seed: 42, augment: true, contrast: 1.0, read_every: 1 }
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
    /// Mean loss over the steps read at this step (the last read's where nothing was read).
    pub loss: f32,
    /// Accuracy over the images of those steps' mini-batches.
    pub batch_accuracy: f32,
    /// True when this step finished an epoch.
    pub epoch_end: bool,
    /// How many steps `loss` and `batch_accuracy` cover: 0 when this step read nothing (see
    /// [`TrainConfig::read_every`]), 1 when every step is read.
    #[serde(default = "every_step")]
    pub read_steps: usize,
}
