//! Training as data: its settings ([`TrainConfig`]), a labelled input ([`Sample`]) and what each
//! step reports ([`Progress`]). The trainer itself runs the model (`camseg-model`'s `train`):
//! one mini-batch per step, so the CLI can draw a progress bar and the page can yield and
//! cancel between steps. Seeded: the same seed, data and config give the same model on the
//! same backend.

use crate::plane::Plane;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// A prepared model input (see [`InputSpec::prepare`]) and its label (true = tumour).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

/// One worker's part of a training step shared out across the page's workers (data
/// parallelism): the gradient over its shard of the mini-batch, and what the step reports and
/// batch norm's running statistics take from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardGradient {
    /// Images in the shard (0 where a short last batch left this shard none).
    pub images: usize,
    /// Mean cross-entropy over the shard's images.
    pub loss: f32,
    pub correct: usize,
    /// The shard's mean loss's gradient, laid out as the network's parameters.
    #[serde(with = "crate::plane::floats_as_bytes")]
    pub grads: Vec<f32>,
    /// Each layer's batch mean and biased variance over the shard.
    pub stats: Vec<(Vec<f32>, Vec<f32>)>,
}

impl ShardGradient {
    /// The whole mini-batch's part from its shards', in shard order (so every worker that
    /// combines the same parts gets the same bits): gradients and losses weighted by images,
    /// the batch statistics pooled exactly (the variance adds the spread of the shards' means).
    /// One part is returned as it is: a pool of one trains as a single worker does.
    pub fn combine(parts: &[ShardGradient]) -> ShardGradient {
        let parts: Vec<&ShardGradient> = parts.iter().filter(|p| p.images > 0).collect();
        if let [one] = parts[..] {
            return one.clone();
        }
        let images: usize = parts.iter().map(|p| p.images).sum();
        let Some(first) = parts.first() else {
            return ShardGradient { images: 0, loss: f32::NAN, correct: 0, grads: Vec::new(), stats: Vec::new() };
        };
        let weight = |p: &ShardGradient| p.images as f32 / images as f32;
        let mut grads = vec![0.0f32; first.grads.len()];
        for p in &parts {
            let w = weight(p);
            grads.iter_mut().zip(&p.grads).for_each(|(g, v)| *g += w * v);
        }
        let stats = (0..first.stats.len())
            .map(|l| {
                let channels = first.stats[l].0.len();
                let mean: Vec<f32> = (0..channels).map(|c| parts.iter().map(|p| weight(p) * p.stats[l].0[c]).sum()).collect();
                let var = (0..channels).map(|c| parts.iter().map(|p| weight(p) * (p.stats[l].1[c] + (p.stats[l].0[c] - mean[c]).powi(2))).sum()).collect();
                (mean, var)
            })
            .collect();
        let loss = parts.iter().map(|p| weight(p) * p.loss).sum();
        ShardGradient { images, loss, correct: parts.iter().map(|p| p.correct).sum(), grads, stats }
    }
}

/// The images of a mini-batch of `batch` that shard `shard` of `shards` takes: a contiguous
/// run, the runs as even as they can be.
pub fn shard_range(batch: usize, shard: usize, shards: usize) -> std::ops::Range<usize> {
    let shards = shards.max(1);
    (shard * batch / shards)..((shard + 1) * batch / shards)
}

/// Which samples each training step takes: a seeded order, shuffled again after each epoch,
/// cut into mini-batches in turn. Both trainers (the classifier's and the segmenter's) keep
/// their epochs with it, and draw their augmentations from its stream ([`Schedule::rng`]), so
/// one seed fixes both.
pub struct Schedule {
    rng: StdRng,
    order: Vec<usize>,
    cursor: usize,
    step: usize,
    batch_size: usize,
    epochs: usize,
}

impl Schedule {
    pub fn new(seed: u64, samples: usize, batch_size: usize, epochs: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..samples).collect();
        order.shuffle(&mut rng);
        Self { rng, order, cursor: 0, step: 0, batch_size: batch_size.max(1), epochs }
    }

    pub fn samples(&self) -> usize {
        self.order.len()
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.samples().div_ceil(self.batch_size)
    }

    pub fn total_steps(&self) -> usize {
        self.steps_per_epoch() * self.epochs
    }

    /// Steps taken so far.
    pub fn steps_taken(&self) -> usize {
        self.step
    }

    pub fn is_done(&self) -> bool {
        self.step >= self.total_steps()
    }

    /// The samples of the next step.
    pub fn batch(&self) -> Vec<usize> {
        self.order[self.cursor..(self.cursor + self.batch_size).min(self.samples())].to_vec()
    }

    /// The stream augmentations draw from.
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// Marks [`Self::batch`] taken: the epoch of that step, and whether it ended the epoch
    /// (the order is then shuffled for the next).
    pub fn advance(&mut self) -> (usize, bool) {
        let epoch = self.step / self.steps_per_epoch();
        self.step += 1;
        self.cursor = (self.cursor + self.batch_size).min(self.samples());
        let epoch_end = self.cursor >= self.samples();
        if epoch_end {
            self.cursor = 0;
            self.order.shuffle(&mut self.rng);
        }
        (epoch, epoch_end)
    }
}

#[cfg(test)]
mod tests {
    use super::{shard_range, ShardGradient};

    #[test]
    fn shards_cover_a_batch_once_and_pool_its_statistics_exactly() {
        for (batch, shards) in [(32, 2), (16, 3), (1, 2), (7, 4)] {
            let covered: Vec<usize> = (0..shards).flat_map(|k| shard_range(batch, k, shards)).collect();
            assert_eq!(covered, (0..batch).collect::<Vec<_>>(), "{batch} images in {shards} shards");
        }
        // One channel; shard values {1, 3} and {5, 7, 9}: the whole batch's mean 5, biased variance 8.
        let part = |values: &[f32], grad: f32| {
            let mean = values.iter().sum::<f32>() / values.len() as f32;
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / values.len() as f32;
            ShardGradient { images: values.len(), loss: grad, correct: 1, grads: vec![grad], stats: vec![(vec![mean], vec![var])] }
        };
        let whole = ShardGradient::combine(&[part(&[1.0, 3.0], 1.0), part(&[5.0, 7.0, 9.0], 2.0)]);
        assert_eq!((whole.images, whole.correct), (5, 2));
        assert!((whole.stats[0].0[0] - 5.0).abs() < 1e-6 && (whole.stats[0].1[0] - 8.0).abs() < 1e-5, "{:?}", whole.stats);
        assert!((whole.grads[0] - 1.6).abs() < 1e-6 && (whole.loss - 1.6).abs() < 1e-6);
        let empty = ShardGradient { images: 0, loss: f32::NAN, correct: 0, grads: Vec::new(), stats: Vec::new() };
        let alone = part(&[1.0, 2.0], 0.5);
        assert_eq!(ShardGradient::combine(&[alone.clone(), empty]), alone, "an empty shard changes nothing");
    }

    use super::*;

    #[test]
    fn each_epoch_takes_every_sample_once_in_a_seeded_order() {
        let mut s = Schedule::new(7, 10, 4, 3);
        assert_eq!((s.steps_per_epoch(), s.total_steps()), (3, 9));
        let mut epochs = vec![Vec::new(); 3];
        let mut ends = Vec::new();
        while !s.is_done() {
            let batch = s.batch();
            let (epoch, end) = s.advance();
            epochs[epoch].extend(batch);
            ends.push(end);
        }
        assert_eq!(ends, [false, false, true].repeat(3));
        for taken in &epochs {
            let mut sorted = taken.clone();
            sorted.sort();
            assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        }
        assert_ne!(epochs[0], epochs[1], "shuffled again after an epoch");
        let mut again = Schedule::new(7, 10, 4, 3);
        assert_eq!(again.batch(), epochs[0][..4]);
        again.advance();
        assert_eq!(again.batch(), epochs[0][4..8]);
    }
}
