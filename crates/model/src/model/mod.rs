//! The classifier network (burn), built from the architecture in its card
//! ([`camseg_core::model::ClassifierConfig`], re-exported here): conv blocks that a CAM can
//! hook, and a head.

pub use camseg_core::model::*;

use burn::module::Module;
use burn::nn::conv::Conv2dConfig;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

/// Builds the network an architecture describes (fresh weights).
pub trait Build {
    fn init(&self, device: &Device) -> Classifier;
}

impl Build for ClassifierConfig {
    fn init(&self, device: &Device) -> Classifier {
        if self.family == Family::EfficientnetLite0 {
            return Classifier::with_lite0(Lite0::new(self.blocks(), device), self, device);
        }
        let mut in_ch = 1;
        let features = self
            .widths
            .iter()
            .zip(&self.convs)
            .map(|(&width, &n)| {
                let block = ConvBlock {
                    convs: (0..n)
                        .map(|i| {
                            Conv2dConfig::new([if i == 0 { in_ch } else { width }, width], [3, 3])
                                .with_padding(PaddingConfig2d::Same)
                                .with_bias(false)
                                .init(device)
                        })
                        .collect(),
                    norms: (0..n).map(|_| BatchNormConfig::new(width).init(device)).collect(),
                };
                in_ch = width;
                block
            })
            .collect();
        Classifier::assembled(features, None, self, device)
    }
}

pub mod block;
pub mod lite0;
pub use block::ConvBlock;
pub use lite0::Lite0;

/// The classifier: plain conv blocks (`features`) or EfficientNet-Lite0's (`lite0`, with
/// `features` empty), then the head.
#[derive(Module, Debug)]
pub struct Classifier {
    pub features: Vec<ConvBlock>,
    pub lite0: Option<Lite0>,
    pub pool: MaxPool2d,
    pub dropout: Dropout,
    pub head: Linear,
}

impl Classifier {
    /// `blocks` of EfficientNet-Lite0 (fresh or pretrained) with a new head for `config`.
    pub fn with_lite0(blocks: Lite0, config: &ClassifierConfig, device: &Device) -> Self {
        Self::assembled(Vec::new(), Some(blocks), config, device)
    }

    /// Either family's blocks with a fresh head on the last block's width.
    fn assembled(features: Vec<ConvBlock>, lite0: Option<Lite0>, config: &ClassifierConfig, device: &Device) -> Self {
        let width = config.widths[config.blocks() - 1];
        Classifier {
            features,
            lite0,
            pool: MaxPool2dConfig::new([2, 2]).init(),
            dropout: DropoutConfig::new(config.dropout).init(),
            head: LinearConfig::new(width, 2).init(device),
        }
    }

    pub fn blocks(&self) -> usize {
        match &self.lite0 {
            Some(net) => net.stages.len(),
            None => self.features.len(),
        }
    }

    /// Block `k` on the previous block's output (pooling first, except for the first block).
    pub fn run_block(&self, k: usize, x: Tensor<4>) -> Tensor<4> {
        self.run_blocks(k..=k, x)
    }

    /// Output of conv block `block` (0-based) for input images `x` [N,1,S,S].
    pub fn activations(&self, x: Tensor<4>, block: usize) -> Tensor<4> {
        self.run_blocks(0..=block, x)
    }

    /// Blocks `blocks` in turn, pooling before each but block 0 ([`crate::inference`]: on the
    /// CPU outside autodiff, all of them on plain slices, 2-3x faster than burn's ops).
    fn run_blocks(&self, blocks: std::ops::RangeInclusive<usize>, mut x: Tensor<4>) -> Tensor<4> {
        if let Some(net) = &self.lite0 {
            for k in blocks {
                x = net.run_block(k, x);
            }
            return x;
        }
        let pool_first = *blocks.start() > 0;
        crate::inference::run_blocks(&self.features[blocks], &self.pool, pool_first, x)
    }

    /// Logits [N,2] from the output of block `block`: the rest of the network. CAM methods
    /// differentiate through exactly this.
    pub fn forward_from(&self, activations: Tensor<4>, block: usize) -> Tensor<2> {
        let last = self.blocks() - 1;
        let x = if block < last { self.run_blocks(block + 1..=last, activations) } else { activations };
        let [n, c, _, _] = x.dims();
        let pooled = x.mean_dim(3).mean_dim(2).reshape([n, c]);
        self.head.forward(self.dropout.forward(pooled))
    }

    /// Logits [N,2] (no tumour, tumour).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let last = self.blocks() - 1;
        self.forward_from(self.activations(x, last), last)
    }

    /// The same network with every batch norm's running statistics taking `momentum` of each
    /// batch: a training setting (inference reads the statistics, not the momentum).
    pub fn with_norm_momentum(mut self, momentum: f64) -> Self {
        let plain = self.features.iter_mut().flat_map(|b| b.norms.iter_mut());
        let lite0 = self.lite0.iter_mut().flat_map(|net| net.norms_mut());
        for norm in plain.chain(lite0) {
            norm.momentum = momentum;
        }
        self
    }

    /// The same network ready to fine-tune trained weights further (ImageNet's, or a card's):
    /// EfficientNet-Lite0 takes the published [`lite0::PUBLISHED_NORM_MOMENTUM`]; the plain
    /// family keeps burn's 0.1, as it was trained. Fresh weights keep burn's 0.1 in both.
    pub fn with_trained_norm_momentum(self) -> Self {
        if self.lite0.is_some() { self.with_norm_momentum(lite0::PUBLISHED_NORM_MOMENTUM) } else { self }
    }

    /// The same network with the tumour logit's lead over the other raised by `delta`, through
    /// the head's biases: p moves along its logistic curve, its ranking (AUC) does not, and no
    /// CAM changes (no gradient reaches a bias-only shift).
    pub fn with_lesion_logit_shift(mut self, delta: f32) -> Self {
        let device = self.head.weight.device();
        let shift = Tensor::<1>::from_floats([-delta / 2.0, delta / 2.0], &device);
        let bias = match self.head.bias.take() {
            Some(bias) => bias.map(|b| b + shift),
            None => burn::module::Param::from_tensor(shift),
        };
        self.head.bias = Some(bias);
        self
    }
}

/// Trained-looking batch norms for tests: affine terms away from 1 and 0, running statistics
/// off their initial values (a fresh norm's are 1 and 0 and would hide a wrong fold).
#[cfg(test)]
pub(crate) fn trained_looking(model: &mut Classifier, device: &Device) {
    use burn::module::{Param, RunningState};
    use burn::tensor::Distribution;
    for block in &mut model.features {
        for norm in &mut block.norms {
            let [c] = norm.gamma.dims();
            let random = |lo: f64, hi: f64| Tensor::<1>::random([c], Distribution::Uniform(lo, hi), device);
            norm.gamma = Param::from_tensor(random(0.5, 2.0));
            norm.beta = Param::from_tensor(random(-1.0, 1.0));
            norm.running_mean = RunningState::new(random(-0.5, 0.5));
            norm.running_var = RunningState::new(random(0.2, 3.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_config() {
        let device = Device::flex();
        let cfg = ClassifierConfig { input_size: 32, widths: vec![4, 8, 8], convs: vec![1, 2, 1], dropout: 0.0, ..Default::default() };
        cfg.validate().unwrap();
        let model = cfg.init(&device);
        let x = Tensor::<4>::zeros([2, 1, 32, 32], &device);
        assert_eq!(model.activations(x.clone(), 0).dims(), [2, 4, 32, 32]);
        assert_eq!(model.activations(x.clone(), 2).dims(), [2, 8, 8, 8]);
        assert_eq!(model.forward(x).dims(), [2, 2]);
    }

    /// Every norm of either family takes the momentum (a missed one would keep burn's 0.1).
    #[test]
    fn the_norm_momentum_reaches_every_batch_norm() {
        let device = Device::flex();
        let plain = ClassifierConfig { input_size: 16, widths: vec![4, 8], convs: vec![1, 2], dropout: 0.0, ..Default::default() };
        let model = plain.init(&device).with_norm_momentum(0.25);
        let norms: Vec<f64> = model.features.iter().flat_map(|b| &b.norms).map(|n| n.momentum).collect();
        assert_eq!(norms, vec![0.25; 3]);
        let mut model = ClassifierConfig::lite0(32, 3, 0.0).init(&device);
        assert!(model.lite0.as_mut().unwrap().norms_mut().all(|n| n.momentum == 0.1), "fresh weights keep burn's");
        // Trained weights: Lite0 takes the published momentum, the plain family keeps burn's.
        let mut trained = model.clone().with_trained_norm_momentum();
        assert!(trained.lite0.as_mut().unwrap().norms_mut().all(|n| n.momentum == lite0::PUBLISHED_NORM_MOMENTUM));
        let plain_trained = plain.init(&device).with_trained_norm_momentum();
        assert!(plain_trained.features.iter().flat_map(|b| &b.norms).all(|n| n.momentum == 0.1));
        let mut model = model.with_norm_momentum(0.25);
        let norms: Vec<f64> = model.lite0.as_mut().unwrap().norms_mut().map(|n| n.momentum).collect();
        // The stem's, two in the first layer (no expansion), three in each of the next four.
        assert_eq!(norms, vec![0.25; 1 + 2 + 3 * 4]);
    }

    #[test]
    fn a_logit_shift_moves_the_lead_and_nothing_else() {
        use burn::tensor::Distribution;
        let device = Device::flex();
        let cfg = ClassifierConfig { input_size: 16, widths: vec![4, 8], convs: vec![1, 1], dropout: 0.0, ..Default::default() };
        let model = cfg.init(&device);
        let x = Tensor::<4>::random([3, 1, 16, 16], Distribution::Uniform(0.0, 2.0), &device);
        let before = model.forward(x.clone()).into_data().try_to_vec::<f32>().unwrap();
        let shifted = model.clone().with_lesion_logit_shift(1.5);
        let after = shifted.forward(x.clone()).into_data().try_to_vec::<f32>().unwrap();
        for (b, a) in before.chunks(2).zip(after.chunks(2)) {
            assert!(((a[1] - a[0]) - (b[1] - b[0]) - 1.5).abs() < 1e-5, "{b:?} -> {a:?}");
            assert!(((a[0] + a[1]) - (b[0] + b[1])).abs() < 1e-5);
        }
        let features = model.activations(x.clone(), 1).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(features, shifted.activations(x, 1).into_data().try_to_vec::<f32>().unwrap());
    }
}
