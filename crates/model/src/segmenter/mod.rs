//! A small fully supervised U-Net: the yardstick for CAM masks. Trained on true
//! masks it is the supervised ceiling; trained on CAM pseudo-labels ([`pseudo_labels`]) it shows
//! how much a segmenter can learn from the classifier's heatmaps alone.
//!
//! ```text
//! input [N,1,S,S] (the classifier's InputSpec: bilinear resize + head-mean normalisation)
//!   down 0: (conv3x3 -> BN -> ReLU) x2                         -> [N, w0, S,   S  ] --skip--+
//!   down 1: maxpool2 -> (conv3x3 -> BN -> ReLU) x2             -> [N, w1, S/2, S/2] --skip-+|
//!   ...                                                                                    ||
//!   down k: maxpool2 -> ... (bottleneck)                       -> [N, wk, S/2^k, S/2^k]    ||
//!   up k-1: convT2x2/2 (wk -> w(k-1)), concat skip, (conv3x3 -> BN -> ReLU) x2  <----------+|
//!   ...                                                                                     |
//!   up 0:   convT2x2/2 (w1 -> w0),     concat skip, (conv3x3 -> BN -> ReLU) x2  <-----------+
//!   head: conv1x1 -> [N,1,S,S] logits
//! ```
//! The transposed convs halve the channels before the concatenation (as the original U-Net
//! does), which keeps the decoder's convs no wider than the encoder's.

use crate::data::InputSpec;
use crate::plane::Plane;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
// The model and what runs it (burn): not in the page's own build.
use {
    crate::cam::{read_floats, CamMethod},
    crate::masks::{Mask, Threshold},
    crate::model::{Classifier, ConvBlock},
    burn::module::Module,
    burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig},
    burn::nn::pool::{MaxPool2d, MaxPool2dConfig},
    burn::nn::{BatchNormConfig, PaddingConfig2d},
    burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer},
    burn::tensor::activation::{log_sigmoid, sigmoid},
    burn::tensor::{Device, Tensor, TensorData},
    crate::train::Schedule,
    rand::RngExt,
};

/// Written into every segmenter card; a card with another value is not one.
pub const FORMAT: &str = "camseg-segmenter/1";

/// The U-Net's shape. Travels in the card so weights are read into the shape they came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmenterConfig {
    /// Side of the square input; divisible by 2^(levels - 1).
    pub input_size: usize,
    /// Channels of each encoder level (the decoder mirrors them).
    pub widths: Vec<usize>,
}

impl Default for SegmenterConfig {
    fn default() -> Self {
        Self { input_size: 128, widths: vec![16, 32, 64, 128] }
    }
}

impl SegmenterConfig {
    /// Largest values a card may ask for (a card is a file from anywhere; building allocates).
    pub const MAX_INPUT: usize = 1024;
    pub const MAX_WIDTH: usize = 1024;
    pub const MAX_LEVELS: usize = 8;
    /// Multiply-accumulates of one image (~40x the default U-Net's).
    pub const MAX_MACS: u64 = 20_000_000_000;

    pub fn levels(&self) -> usize {
        self.widths.len()
    }

    /// Checks the config describes a buildable network of a sane size, before anything is built.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(Error::Model(why));
        if self.widths.is_empty() {
            return bad("segmenter needs at least one level".into());
        }
        if self.levels() > Self::MAX_LEVELS {
            return bad(format!("segmenter has {} levels; at most {} are supported", self.levels(), Self::MAX_LEVELS));
        }
        if let Some(w) = self.widths.iter().find(|&&w| w == 0 || w > Self::MAX_WIDTH) {
            return bad(format!("segmenter has a level {w} channels wide; 1 to {} are supported", Self::MAX_WIDTH));
        }
        if self.input_size > Self::MAX_INPUT {
            return bad(format!("input size {} is larger than the {} px supported", self.input_size, Self::MAX_INPUT));
        }
        let cells = 1usize << (self.levels() - 1);
        if self.input_size < cells || !self.input_size.is_multiple_of(cells) {
            return bad(format!("input size {} is not divisible by {cells}", self.input_size));
        }
        if self.macs() > Self::MAX_MACS {
            return bad(format!("segmenter needs {} G multiply-adds per image; at most {} G are supported", self.macs() / 1_000_000_000, Self::MAX_MACS / 1_000_000_000));
        }
        Ok(())
    }

    /// Multiply-accumulates of one forward pass (for sizing runs).
    pub fn macs(&self) -> u64 {
        let cells = |k: usize| ((self.input_size >> k) * (self.input_size >> k)) as u64;
        let conv = |cin: usize, cout: usize, k: usize, taps: u64| (cin * cout) as u64 * taps * cells(k);
        let mut total = 0;
        let mut cin = 1;
        for (k, &w) in self.widths.iter().enumerate() {
            total += conv(cin, w, k, 9) + conv(w, w, k, 9);
            cin = w;
        }
        for k in (0..self.levels() - 1).rev() {
            let w = self.widths[k];
            // Transposed 2x2/2: each output cell takes one tap of each input channel.
            total += conv(self.widths[k + 1], w, k, 1) + conv(2 * w, w, k, 9) + conv(w, w, k, 9);
        }
        total + conv(self.widths[0], 1, 0, 1)
    }

    pub fn init(&self, device: &Device) -> Segmenter {
        let block = |cin: usize, w: usize| ConvBlock {
            convs: vec![
                Conv2dConfig::new([cin, w], [3, 3]).with_padding(PaddingConfig2d::Same).with_bias(false).init(device),
                Conv2dConfig::new([w, w], [3, 3]).with_padding(PaddingConfig2d::Same).with_bias(false).init(device),
            ],
            norms: vec![BatchNormConfig::new(w).init(device), BatchNormConfig::new(w).init(device)],
        };
        let down = self.widths.iter().scan(1, |cin, &w| Some(block(std::mem::replace(cin, w), w))).collect();
        // Decoder from the coarsest level to the finest.
        let levels = (0..self.levels() - 1).rev();
        Segmenter {
            down,
            up: levels
                .clone()
                .map(|k| ConvTranspose2dConfig::new([self.widths[k + 1], self.widths[k]], [2, 2]).with_stride([2, 2]).init(device))
                .collect(),
            decode: levels.map(|k| block(2 * self.widths[k], self.widths[k])).collect(),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            head: Conv2dConfig::new([self.widths[0], 1], [1, 1]).init(device),
        }
    }
}

#[derive(Module, Debug)]
pub struct Segmenter {
    /// Encoder levels, finest first.
    pub down: Vec<ConvBlock>,
    /// Upsampling of the decoder, coarsest first.
    pub up: Vec<ConvTranspose2d>,
    pub decode: Vec<ConvBlock>,
    pub pool: MaxPool2d,
    pub head: Conv2d,
}

impl Segmenter {
    /// Tumour logits [N,1,S,S] for prepared inputs [N,1,S,S].
    pub fn forward(&self, mut x: Tensor<4>) -> Tensor<4> {
        let mut skips = Vec::with_capacity(self.down.len());
        for (k, block) in self.down.iter().enumerate() {
            if k > 0 {
                x = crate::inference::max_pool2(&self.pool, x);
            }
            x = block.forward(x);
            skips.push(x.clone());
        }
        skips.pop(); // the bottleneck is `x` itself
        for (up, block) in self.up.iter().zip(&self.decode) {
            let skip = skips.pop().expect("one skip per decoder level");
            x = block.forward(Tensor::cat(vec![skip, up.forward(x)], 1));
        }
        self.head.forward(x)
    }
}

/// Binary cross-entropy on the logits plus soft Dice over the whole batch, as one scalar.
/// BCE alone under-segments small tumours (the background dominates every batch); Dice alone
/// gives weak gradients early on. `targets` hold 0 or 1; `weights` hold 1 where a pixel counts
/// and 0 where its label is unsure (pseudo-labels leave the CAM's fringe out), so both terms
/// see only the counted pixels. With every weight 1 this is plain BCE + soft Dice.
pub fn loss(logits: Tensor<4>, targets: Tensor<4>, weights: Tensor<4>) -> Tensor<1> {
    // -[y log s(x) + (1 - y) log s(-x)], stable for large |x|.
    let per_pixel = targets.clone() * log_sigmoid(logits.clone()) + (targets.clone().neg() + 1.0) * log_sigmoid(logits.clone().neg());
    let counted = weights.clone().sum().clamp_min(1.0);
    let bce = (per_pixel * weights.clone()).sum().neg() / counted;
    let p = sigmoid(logits) * weights.clone();
    let y = targets * weights;
    let inter = (p.clone() * y.clone()).sum();
    let soft_dice = (inter * 2.0 + 1.0) / (p.sum() + y.sum() + 1.0);
    bce + soft_dice.neg() + 1.0
}

/// A prepared input, its target mask and the weight of each pixel in the loss, all [S,S]
/// (target values 0 or 1; weight 1 = counted, 0 = left out).
#[derive(Clone, Debug)]
pub struct SegSample {
    pub input: Plane,
    pub target: Plane,
    pub weight: Plane,
}

impl SegSample {
    /// `image` (decoded, any size) and its mask (true or pseudo) as the network sees them: the
    /// mask goes through the same bilinear resize and is cut at 0.5. Every pixel counts.
    pub fn new(spec: &InputSpec, image: &Plane, mask: &Mask) -> SegSample {
        let target = Self::resized(spec, image, mask);
        let weight = Plane::new(spec.size, spec.size, vec![1.0; spec.size * spec.size]);
        SegSample { input: spec.prepare(image), target, weight }
    }

    /// As [`SegSample::new`] from a [`PseudoLabel`]: its unsure pixels (resized the same way)
    /// weigh 0, so the network, not the label, decides there.
    pub fn from_pseudo(spec: &InputSpec, image: &Plane, label: &PseudoLabel) -> SegSample {
        let mut sample = Self::new(spec, image, &label.mask);
        let unsure = Self::resized(spec, image, &label.unsure);
        sample.weight.data.iter_mut().zip(&unsure.data).for_each(|(w, u)| *w -= u);
        sample
    }

    fn resized(spec: &InputSpec, image: &Plane, mask: &Mask) -> Plane {
        assert_eq!((image.width, image.height), (mask.width, mask.height), "a mask must have its image's size");
        let mut target = mask.to_plane().resize_bilinear(spec.size, spec.size);
        target.data.iter_mut().for_each(|v| *v = if *v >= 0.5 { 1.0 } else { 0.0 });
        target
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegTrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
    /// Random horizontal flips and shifts (up to 4% of the side), the same for image and mask.
    pub augment: bool,
}

impl Default for SegTrainConfig {
    fn default() -> Self {
        Self { epochs: 10, batch_size: 16, learning_rate: 1e-3, seed: 42, augment: true }
    }
}

/// What one step reports.
#[derive(Clone, Debug, PartialEq)]
pub struct SegProgress {
    /// 0-based epoch of the step just taken.
    pub epoch: usize,
    pub step: usize,
    pub total_steps: usize,
    pub loss: f32,
    /// True when this step finished an epoch.
    pub epoch_end: bool,
}

/// Adam on [`loss`], one mini-batch per [`SegTrainer::step`] (as [`crate::train::Trainer`]).
pub struct SegTrainer {
    model: Segmenter,
    optim: ModuleOptimizer,
    config: SegTrainConfig,
    size: usize,
    device: Device,
    schedule: Schedule,
}

impl SegTrainer {
    pub fn new(model: Segmenter, config: SegTrainConfig, size: usize, samples: usize, device: &Device) -> Self {
        let schedule = Schedule::new(config.seed, samples, config.batch_size, config.epochs);
        // On the autodiff device, so batch norm takes its training path (see train::Trainer).
        let optim = AdamConfig::new().init();
        Self { model: model.train(), optim, config, size, device: device.clone().autodiff(), schedule }
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.schedule.steps_per_epoch()
    }

    pub fn total_steps(&self) -> usize {
        self.schedule.total_steps()
    }

    /// The model as it stands, in eval mode.
    pub fn model(&self) -> Segmenter {
        self.model.valid()
    }

    /// The same flip and shift for the image, its mask and its weights (shifted-in pixels
    /// weigh 0).
    fn augment(&mut self, s: &SegSample) -> (Plane, Plane, Plane) {
        let rng = self.schedule.rng();
        let flip = rng.random::<bool>();
        let max = (s.input.width as f32 * 0.04).round() as i64;
        let (dx, dy) = (rng.random_range(-max..=max) as isize, rng.random_range(-max..=max) as isize);
        let apply = |p: &Plane| shifted(&if flip { p.flipped_horizontally() } else { p.clone() }, dx, dy);
        (apply(&s.input), apply(&s.target), apply(&s.weight))
    }

    /// One optimisation step on the next mini-batch; `None` once all epochs are done.
    pub async fn step(&mut self, samples: &[SegSample]) -> Result<Option<SegProgress>> {
        if self.schedule.is_done() || samples.is_empty() {
            return Ok(None);
        }
        assert_eq!(samples.len(), self.schedule.samples(), "the trainer was set up for another sample count");
        let batch = self.schedule.batch();
        let (mut inputs, mut targets, mut weights) = (Vec::new(), Vec::new(), Vec::new());
        for &i in &batch {
            let s = &samples[i];
            let (x, y, w) = if self.config.augment { self.augment(s) } else { (s.input.clone(), s.target.clone(), s.weight.clone()) };
            inputs.push(x);
            targets.push(y);
            weights.push(w);
        }
        let [x, y, w] = [&inputs, &targets, &weights].map(|planes| stack(planes, self.size, &self.device));
        let loss = loss(self.model.forward(x), y, w);
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self.optim.step(self.config.learning_rate, self.model.clone(), grads);
        let loss = read_floats(loss.without_autodiff()).await?[0];

        let (epoch, epoch_end) = self.schedule.advance();
        Ok(Some(SegProgress { epoch, step: self.schedule.steps_taken(), total_steps: self.total_steps(), loss, epoch_end }))
    }
}

/// `p` moved by (`dx`, `dy`) whole pixels, zero where nothing moved in.
fn shifted(p: &Plane, dx: isize, dy: isize) -> Plane {
    let (w, h) = (p.width as isize, p.height as isize);
    let mut out = Plane::zeros(p.width, p.height);
    for y in 0..h {
        let sy = y - dy;
        if !(0..h).contains(&sy) {
            continue;
        }
        for x in 0..w {
            let sx = x - dx;
            if (0..w).contains(&sx) {
                out.data[(y * w + x) as usize] = p.data[(sy * w + sx) as usize];
            }
        }
    }
    out
}

fn stack(planes: &[Plane], size: usize, device: &Device) -> Tensor<4> {
    let mut values = Vec::with_capacity(planes.len() * size * size);
    for p in planes {
        assert_eq!((p.width, p.height), (size, size), "plane not prepared for this segmenter");
        values.extend_from_slice(&p.data);
    }
    Tensor::from_data(TensorData::new(values, [planes.len(), 1, size, size]), device)
}

/// Images per forward pass in [`segment`] (memory, not speed, sets it).
pub const SEGMENT_BATCH: usize = 16;

/// Tumour probability maps of decoded images (any size): each image is prepared with `spec`,
/// segmented, and its sigmoid map upsampled bilinearly to the image's own size, in [0, 1].
/// `model` must be in eval mode (as [`load`] and [`SegTrainer::model`] give it).
pub async fn segment(model: &Segmenter, spec: &InputSpec, images: &[&Plane], device: &Device) -> Result<Vec<Plane>> {
    let mut maps = Vec::with_capacity(images.len());
    let s = spec.size;
    for chunk in images.chunks(SEGMENT_BATCH) {
        let prepared: Vec<Plane> = chunk.iter().map(|im| spec.prepare(im)).collect();
        let probs = read_floats(sigmoid(model.forward(stack(&prepared, s, device)))).await?;
        for (im, p) in chunk.iter().zip(probs.chunks(s * s)) {
            let mut map = Plane::new(s, s, p.to_vec()).resize_bilinear(im.width, im.height);
            map.data.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
            maps.push(map);
        }
    }
    Ok(maps)
}

/// How a classifier's CAM becomes a training label: its map by `method` at `block`, cut at
/// `threshold` for the mask. With `unsure_from`, the pixels whose map lies at or above that
/// value but outside the mask are left out of the loss: a CAM spills round the lesion (on LGG
/// val its masks are about twice the tumour's area), so its fringe is neither tumour nor
/// background, and the network decides there from what it learnt on the sure pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CamLabelRule {
    pub method: CamMethod,
    pub block: usize,
    pub threshold: Threshold,
    pub unsure_from: Option<f32>,
}

/// A pseudo-label at its image's size: the mask, and the unsure pixels (disjoint from it).
#[derive(Clone, Debug, PartialEq)]
pub struct PseudoLabel {
    pub mask: Mask,
    pub unsure: Mask,
}

/// CAM pseudo-labels for training without true masks: for each image the index calls tumour
/// (`tumour[i]`), the classifier's heatmap by `rule`; for the others an empty mask, every
/// pixel sure. It is given images and labels only, so no true mask can reach the targets.
pub async fn pseudo_labels(classifier: &Classifier, spec: &InputSpec, images: &[&Plane], tumour: &[bool], rule: CamLabelRule, device: &Device) -> Result<Vec<PseudoLabel>> {
    assert_eq!(images.len(), tumour.len(), "one label per image");
    let empty = |im: &Plane| Mask::empty(im.width, im.height);
    let mut labels: Vec<PseudoLabel> = images.iter().map(|im| PseudoLabel { mask: empty(im), unsure: empty(im) }).collect();
    let positive: Vec<usize> = (0..images.len()).filter(|&i| tumour[i]).collect();
    // CAM keeps activations and gradients of the whole batch: modest batches.
    for chunk in positive.chunks(32) {
        let batch: Vec<&Plane> = chunk.iter().map(|&i| images[i]).collect();
        let analyses = crate::pipeline::analyse(classifier, spec, &batch, rule.block, rule.method, device).await?;
        for (&i, a) in chunk.iter().zip(&analyses) {
            let mask = a.mask(rule.threshold);
            let mut unsure = match rule.unsure_from {
                Some(from) => Threshold::Fixed(from).apply(&a.heatmap),
                None => empty(images[i]),
            };
            unsure.bits.iter_mut().zip(&mask.bits).for_each(|(u, &m)| *u &= !m);
            labels[i] = PseudoLabel { mask, unsure };
        }
    }
    Ok(labels)
}

/// Mean Dice of probability maps cut at 0.5 against masks of the same sizes.
pub fn mean_dice(maps: &[Plane], masks: &[Mask]) -> f64 {
    let scores: Vec<f64> = maps.iter().zip(masks).map(|(m, t)| crate::metrics::dice(&Threshold::Fixed(0.5).apply(m), t)).collect();
    crate::metrics::mean(&scores)
}

mod card;
pub use card::{SegTrainingInfo, SegmenterCard};
pub use card::weights_bytes;
#[cfg(not(target_arch = "wasm32"))]
pub use card::load;

#[cfg(test)]
mod tests;
