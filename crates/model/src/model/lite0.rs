//! EfficientNet-Lite0's first blocks in burn ([`camseg_core::model::LITE0_LAYERS`]): a stem and
//! inverted-residual layers, so that a classifier can start from ImageNet weights
//! ([`Lite0::from_named`]). Padding is TensorFlow's "same" (stride 2 pads the bottom and right
//! more), as the published weights were trained with.

use crate::model::{Lite0Layer, LITE0_LAYERS, LITE0_STEM};
use crate::{Error, Result};
use burn::module::{Module, Param, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor, TensorData};

/// The published network's batch-norm epsilon (TensorFlow's 1e-3, not burn's 1e-5).
const NORM_EPSILON: f64 = 1e-3;
/// The share of each batch in the running statistics of trained weights' norms (the published
/// ones, or a card's): the published network's own (TensorFlow's decay 0.99), not burn's 0.1.
/// Fine-tuned on BUSI, the slower statistics gave maps nearer the lesion on val
/// (docs/results.md, section 5). Fresh weights keep burn's 0.1: from random weights, 0.01
/// called every BUSI val image normal (val AUC 0.55 against 0.74).
/// [`crate::model::Classifier::with_trained_norm_momentum`] applies it to trained weights.
pub const PUBLISHED_NORM_MOMENTUM: f64 = 0.01;

/// The grey level (in [0, 1]) the stem pads with: the published network padded its normalised
/// input, (255 x - 127) / 128, with zeros, which is this grey, not black.
const STEM_PAD: f32 = 127.0 / 255.0;

fn relu6(x: Tensor<4>) -> Tensor<4> {
    x.clamp(0.0, 6.0)
}

/// TensorFlow's "same" padding for a `kernel` x `kernel` conv: stride 1 pads evenly; stride 2
/// (on the even sides every block sees) pads one more below and to the right.
fn same(kernel: usize, stride: usize) -> PaddingConfig2d {
    let total = if stride == 1 { kernel - 1 } else { kernel - 2 };
    let (before, after) = (total / 2, total - total / 2);
    PaddingConfig2d::Explicit(before, before, after, after)
}

fn conv(ch: [usize; 2], kernel: usize, stride: usize, groups: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new(ch, [kernel, kernel]).with_stride([stride, stride]).with_padding(same(kernel, stride)).with_groups(groups).with_bias(false).init(device)
}

fn norm(ch: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(ch).with_epsilon(NORM_EPSILON).init(device)
}

/// Expansion (1x1) -> depthwise conv -> projection (1x1), each batch-normed; ReLU6 after the
/// first two; the input added back where stride and channels allow.
#[derive(Module, Debug)]
pub struct InvertedResidual {
    pub expand: Option<Conv2d>,
    pub expand_norm: Option<BatchNorm>,
    pub depthwise: Conv2d,
    pub depthwise_norm: BatchNorm,
    pub project: Conv2d,
    pub project_norm: BatchNorm,
    pub skip: bool,
}

impl InvertedResidual {
    fn new(in_ch: usize, layer: Lite0Layer, device: &Device) -> Self {
        let mid = in_ch * layer.expand;
        let expands = layer.expand > 1;
        Self {
            expand: expands.then(|| conv([in_ch, mid], 1, 1, 1, device)),
            expand_norm: expands.then(|| norm(mid, device)),
            depthwise: conv([mid, mid], layer.kernel, layer.stride, mid, device),
            depthwise_norm: norm(mid, device),
            project: conv([mid, layer.out], 1, 1, 1, device),
            project_norm: norm(layer.out, device),
            skip: layer.stride == 1 && in_ch == layer.out,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut h = x.clone();
        if let (Some(conv), Some(norm)) = (&self.expand, &self.expand_norm) {
            h = relu6(norm.forward(conv.forward(h)));
        }
        h = relu6(self.depthwise_norm.forward(self.depthwise.forward(h)));
        h = self.project_norm.forward(self.project.forward(h));
        if self.skip {
            h + x
        } else {
            h
        }
    }
}

/// One of camseg's blocks: the layers that end at one stride.
#[derive(Module, Debug)]
pub struct Stage {
    pub layers: Vec<InvertedResidual>,
}

/// The stem (3x3 conv, stride 2, on the one grey channel) and the first `stages` blocks.
#[derive(Module, Debug)]
pub struct Lite0 {
    pub stem: Conv2d,
    pub stem_norm: BatchNorm,
    pub stages: Vec<Stage>,
}

impl Lite0 {
    /// Fresh weights for the first `blocks` blocks (batch norm's momentum burn's 0.1).
    pub fn new(blocks: usize, device: &Device) -> Self {
        let mut in_ch = LITE0_STEM;
        let stages = LITE0_LAYERS[..blocks]
            .iter()
            .map(|layers| Stage {
                layers: layers
                    .iter()
                    .map(|&layer| {
                        let made = InvertedResidual::new(in_ch, layer, device);
                        in_ch = layer.out;
                        made
                    })
                    .collect(),
            })
            .collect();
        let stem = Conv2dConfig::new([1, LITE0_STEM], [3, 3]).with_stride([2, 2]).with_padding(PaddingConfig2d::Valid).with_bias(false).init(device);
        Self { stem, stem_norm: norm(LITE0_STEM, device), stages }
    }

    /// Every batch norm, stem first.
    pub fn norms_mut(&mut self) -> impl Iterator<Item = &mut BatchNorm> {
        let layers = self.stages.iter_mut().flat_map(|s| s.layers.iter_mut());
        std::iter::once(&mut self.stem_norm).chain(layers.flat_map(|l| l.expand_norm.as_mut().into_iter().chain([&mut l.depthwise_norm, &mut l.project_norm])))
    }

    /// Block `k` on the previous block's output (block 0 on the image).
    pub fn run_block(&self, k: usize, mut x: Tensor<4>) -> Tensor<4> {
        if k == 0 {
            // TensorFlow's "same" for the stem's 3x3 at stride 2: one row and column after.
            x = relu6(self.stem_norm.forward(self.stem.forward(x.pad((0, 1, 0, 1), STEM_PAD))));
        }
        for layer in &self.stages[k].layers {
            x = layer.forward(x);
        }
        x
    }

    /// The network filled with named tensors, named as the `efficientnet-lite-pytorch` package
    /// names them (`_conv_stem.weight`, `_blocks.3._bn1.running_var`, ...). The stem must
    /// already take one channel (`scripts/export-lite0.py` folds ImageNet's three into it).
    /// `get` returns a tensor's shape and values, or None when the file lacks it.
    pub fn from_named(blocks: usize, device: &Device, get: &mut dyn FnMut(&str) -> Option<(Vec<usize>, Vec<f32>)>) -> Result<Self> {
        let mut model = Self::new(blocks, device);
        let mut fill = Filler { get, device };
        fill.conv(&mut model.stem, "_conv_stem")?;
        fill.norm(&mut model.stem_norm, "_bn0")?;
        let layers = model.stages.iter_mut().flat_map(|s| s.layers.iter_mut());
        for (i, layer) in layers.enumerate() {
            let at = format!("_blocks.{i}");
            if let (Some(conv), Some(norm)) = (&mut layer.expand, &mut layer.expand_norm) {
                fill.conv(conv, &format!("{at}._expand_conv"))?;
                fill.norm(norm, &format!("{at}._bn0"))?;
            }
            fill.conv(&mut layer.depthwise, &format!("{at}._depthwise_conv"))?;
            fill.norm(&mut layer.depthwise_norm, &format!("{at}._bn1"))?;
            fill.conv(&mut layer.project, &format!("{at}._project_conv"))?;
            fill.norm(&mut layer.project_norm, &format!("{at}._bn2"))?;
        }
        Ok(model)
    }
}

struct Filler<'a> {
    get: &'a mut dyn FnMut(&str) -> Option<(Vec<usize>, Vec<f32>)>,
    device: &'a Device,
}

impl Filler<'_> {
    fn tensor<const D: usize>(&mut self, name: &str, shape: [usize; D]) -> Result<Tensor<D>> {
        let (got, values) = (self.get)(name).ok_or_else(|| Error::Model(format!("the pretrained weights lack `{name}`")))?;
        if got != shape || values.len() != shape.iter().product::<usize>() {
            return Err(Error::Model(format!("the pretrained weights' `{name}` has shape {got:?}; this network needs {shape:?}")));
        }
        Ok(Tensor::from_data(TensorData::new(values, shape), self.device))
    }

    fn conv(&mut self, conv: &mut Conv2d, name: &str) -> Result<()> {
        let shape = conv.weight.dims();
        conv.weight = Param::from_tensor(self.tensor(&format!("{name}.weight"), shape)?);
        Ok(())
    }

    fn norm(&mut self, norm: &mut BatchNorm, name: &str) -> Result<()> {
        let shape = norm.gamma.dims();
        norm.gamma = Param::from_tensor(self.tensor(&format!("{name}.weight"), shape)?);
        norm.beta = Param::from_tensor(self.tensor(&format!("{name}.bias"), shape)?);
        norm.running_mean = RunningState::new(self.tensor(&format!("{name}.running_mean"), shape)?);
        norm.running_var = RunningState::new(self.tensor(&format!("{name}.running_var"), shape)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cam::{cam_batch, read_floats, CamMethod};
    use crate::card::{weights_bytes, Load, ModelCard};
    use crate::model::{Build, ClassifierConfig, TUMOUR};
    use burn::tensor::Distribution;

    fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        crate::block_on(read_floats(t)).unwrap()
    }

    #[test]
    fn the_blocks_follow_the_table() {
        let cfg = ClassifierConfig::lite0(32, 4, 0.0);
        let device = Device::flex();
        let model = cfg.init(&device).valid();
        assert_eq!(model.blocks(), 4);
        let x = Tensor::<4>::random([2, 1, 32, 32], Distribution::Uniform(0.0, 1.0), &device);
        for (k, width) in [16, 24, 40, 112].into_iter().enumerate() {
            assert_eq!(model.activations(x.clone(), k).dims(), [2, width, cfg.grid(k), cfg.grid(k)], "block {k}");
        }
        assert_eq!(model.forward(x).dims(), [2, 2]);
    }

    /// Stride 2 on an even side: TensorFlow pads one row and column after, none before, so the
    /// first window starts at the image's corner.
    #[test]
    fn stride_two_pads_after_as_tensorflow_does() {
        let device = Device::flex();
        let mut conv = conv([1, 1], 3, 2, 1, &device);
        conv.weight = Param::from_tensor(Tensor::ones([1, 1, 3, 3], &device));
        let image: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let out = floats(conv.forward(Tensor::from_data(TensorData::new(image.clone(), [1, 1, 4, 4]), &device)));
        let at = |r: usize, c: usize| if r < 4 && c < 4 { image[r * 4 + c] } else { 0.0 };
        let window = |r0: usize, c0: usize| (r0..r0 + 3).flat_map(|r| (c0..c0 + 3).map(move |c| (r, c))).map(|(r, c)| at(r, c)).sum::<f32>();
        assert_eq!(out, vec![window(0, 0), window(0, 2), window(2, 0), window(2, 2)]);
        // 5x5: one row and column before, two after.
        assert!(matches!(same(5, 2), PaddingConfig2d::Explicit(1, 1, 2, 2)));
        assert!(matches!(same(5, 1), PaddingConfig2d::Explicit(2, 2, 2, 2)));
    }

    /// Every tensor is read under the package's name; a missing or misshapen one is named.
    #[test]
    fn named_weights_land_where_their_names_say() {
        let device = Device::flex();
        // With every shape right: values land under their names.
        let fresh = Lite0::new(2, &device);
        let mut lookup = std::collections::HashMap::new();
        {
            let mut add = |name: String, dims: Vec<usize>| {
                let n = dims.iter().product::<usize>();
                lookup.insert(name.clone(), (dims, (0..n).map(|i| (name.len() + i) as f32 * 1e-3).collect::<Vec<f32>>()));
            };
            add("_conv_stem.weight".into(), fresh.stem.weight.dims().to_vec());
            for p in ["weight", "bias", "running_mean", "running_var"] {
                add(format!("_bn0.{p}"), vec![LITE0_STEM]);
            }
            for (i, layer) in fresh.stages.iter().flat_map(|s| &s.layers).enumerate() {
                let mut convs = vec![("_depthwise_conv", layer.depthwise.weight.dims().to_vec(), "_bn1"), ("_project_conv", layer.project.weight.dims().to_vec(), "_bn2")];
                if let Some(expand) = &layer.expand {
                    convs.push(("_expand_conv", expand.weight.dims().to_vec(), "_bn0"));
                }
                for (conv, dims, norm) in convs {
                    add(format!("_blocks.{i}.{conv}.weight"), dims.clone());
                    for p in ["weight", "bias", "running_mean", "running_var"] {
                        add(format!("_blocks.{i}.{norm}.{p}"), vec![dims[0]]);
                    }
                }
            }
        }
        let mut filled = Lite0::from_named(2, &device, &mut |n| lookup.get(n).cloned()).unwrap();
        assert_eq!(floats(filled.stem.weight.val().reshape([-1])), lookup["_conv_stem.weight"].1);
        assert_eq!(filled.norms_mut().count(), 1 + 3 * 3 - 1, "the stem's, and three per layer but the first (no expansion)");
        let last = &filled.stages[1].layers[1];
        assert_eq!(floats(last.project_norm.running_var.value()), lookup["_blocks.2._bn2.running_var"].1);
        assert_eq!(floats(last.expand.as_ref().unwrap().weight.val().reshape([-1])), lookup["_blocks.2._expand_conv.weight"].1);
        lookup.get_mut("_bn0.bias").unwrap().0 = vec![LITE0_STEM, 1];
        let err = Lite0::from_named(2, &device, &mut |n| lookup.get(n).cloned()).unwrap_err().to_string();
        assert!(err.contains("`_bn0.bias` has shape [32, 1]; this network needs [32]"), "{err}");
        lookup.get_mut("_bn0.bias").unwrap().0 = vec![LITE0_STEM];
        lookup.remove("_blocks.1._depthwise_conv.weight");
        let err = Lite0::from_named(2, &device, &mut |n| lookup.get(n).cloned()).unwrap_err().to_string();
        assert!(err.contains("lack `_blocks.1._depthwise_conv.weight`"), "{err}");
    }

    /// The published ImageNet weights give what the `efficientnet-lite-pytorch` package computes
    /// with them: its stem and first three layers on a 32 px image (fixture written by
    /// `scripts/export-lite0.py --fixture`; the package's input is the grey image as three
    /// channels of (255 x - 127) / 128, folded into the stem here).
    #[test]
    fn pretrained_blocks_compute_what_pytorch_computes() {
        let device = Device::flex();
        let file = safetensors::SafeTensors::deserialize(include_bytes!("../../tests/fixtures/lite0-two-blocks.safetensors")).unwrap();
        let get = |name: &str| {
            let view = file.tensor(name).ok()?;
            Some((view.shape().to_vec(), view.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect::<Vec<f32>>()))
        };
        let net = Lite0::from_named(2, &device, &mut |n| get(n)).unwrap().valid();
        let (shape, input) = get("input").unwrap();
        let x = Tensor::<4>::from_data(TensorData::new(input, shape), &device);
        let out = net.run_block(1, net.run_block(0, x));
        let (shape, expected) = get("expected").unwrap();
        assert_eq!(out.dims().to_vec(), shape);
        let got = floats(out);
        let worst = got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        let scale = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(worst < 1e-4 * scale.max(1.0), "largest difference {worst} (values up to {scale})");
    }

    /// A Lite0 classifier goes through the card's save and load, and its Grad-CAM at the last
    /// block is the linear head's CAM (average pooling, then a linear layer), computed through
    /// burn's autodiff.
    #[test]
    fn a_lite0_classifier_round_trips_and_its_gradcam_is_the_heads_cam() {
        let device = Device::flex();
        device.seed(5);
        let card = ModelCard::new("lite0", ClassifierConfig::lite0(64, 3, 0.0));
        let model = card.architecture.init(&device).valid();
        let bytes = crate::block_on(weights_bytes(&model, &card.architecture)).unwrap();
        let mut loaded = ModelCard::from_json(&card.to_json()).unwrap().load_checked(bytes, &device).unwrap();
        // A card's weights are trained: fine-tuned further, they keep the published momentum.
        assert!(loaded.lite0.as_mut().unwrap().norms_mut().all(|n| n.momentum == PUBLISHED_NORM_MOMENTUM));
        let x = Tensor::<4>::random([2, 1, 64, 64], Distribution::Uniform(0.0, 1.0), &device);
        let (a, b) = (floats(model.forward(x.clone())), floats(loaded.forward(x.clone())));
        assert!(a.iter().zip(&b).all(|(a, b)| (a - b).abs() < 1e-5), "{a:?} vs {b:?}");

        let last = 2;
        let acts = floats(loaded.activations(x.clone(), last));
        let w = floats(loaded.head.weight.val());
        let (c, cells) = (40, 8 * 8);
        let batch = crate::block_on(cam_batch(&loaded, x.clone(), last, CamMethod::GradCam)).unwrap();
        for (n, map) in batch.maps.iter().enumerate() {
            assert_eq!((map.width, map.height), (8, 8));
            for p in 0..cells {
                let expected: f32 = (0..c).map(|k| w[k * 2 + TUMOUR] * acts[(n * c + k) * cells + p]).sum::<f32>().max(0.0) / cells as f32;
                assert!((map.data[p] - expected).abs() < 1e-5, "image {n} cell {p}: {} vs {expected}", map.data[p]);
            }
        }

        // The randomisation cascade's step 1 redraws the last block and keeps the others.
        let redrawn = crate::trust::randomised_from_top(&loaded, &card, 1, 9, &device);
        let same = |k: usize| floats(loaded.activations(x.clone(), k)) == floats(redrawn.activations(x.clone(), k));
        assert!(same(0) && same(1) && !same(2));
    }
}
