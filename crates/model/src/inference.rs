//! The classifier's conv blocks in eval mode on plain slices, for the CPU where nothing is
//! differentiated: classification and every CAM's forward pass to its block.
//!
//! burn 0.22's CPU backend spends more of this network's forward pass rearranging than
//! multiplying (`perf`, one thread): each 3x3 convolution copies its input to channels-last,
//! re-lays its weights and allocates a buffer, a GEMM result and a scattered write per
//! 512-pixel tile, and max pooling walks every window with generic index arithmetic (a third
//! of the pass). Here each convolution is one im2col of the image and one GEMM (the `gemm`
//! crate, which burn's backend calls too) with batch norm folded into the weights and ReLU
//! applied in the same pass as the bias, and pooling is a plain loop. In the page the GEMM is
//! [`tiled`]'s register-tiled wasm SIMD kernel instead, faster there than `gemm`'s, and
//! convolutions of 8 or more input channels take [`winograd`]'s transforms around it (2.25x
//! fewer multiplies). Training and GPUs keep
//! burn's ops, so gradients and WebGPU are untouched; the results equal burn's to float
//! rounding (tests below).

use crate::model::block::ConvBlock;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::BatchNorm;
use burn::tensor::{Device, Tensor, TensorData};
use std::sync::Arc;

mod planes;
pub(crate) mod tiled;
pub(crate) mod winograd;
mod winograd4;

pub use tiled::{Kernel, KERNEL};

pub(crate) use planes::{im2col3x3, max_pool2_backward, max_pool2_planes, max_pool2_planes_into, turn_filters};
use planes::larger;

/// Whether `x` can take this path: on the CPU backend and outside any autodiff graph.
pub fn applies(x: &Tensor<4>) -> bool {
    !x.is_autodiff() && x.device() == Device::flex()
}

/// Consecutive conv blocks on `x` [N,C,H,W], each after a 2x2 max pool (`pool`) except the
/// first when `pool_first` is false. Where [`applies`], the activations stay plain slices from
/// the first block to the last; elsewhere, and for anything but the 3x3 'same' convolutions
/// [`crate::model`] builds, burn's ops run them.
pub fn run_blocks(blocks: &[ConvBlock], pool: &MaxPool2d, pool_first: bool, x: Tensor<4>) -> Tensor<4> {
    run_blocks_with(blocks, pool, pool_first, x, KERNEL)
}

fn run_blocks_with(blocks: &[ConvBlock], pool: &MaxPool2d, pool_first: bool, x: Tensor<4>, kernel: Kernel) -> Tensor<4> {
    if !applies(&x) {
        return burn_blocks(blocks, pool, pool_first, x);
    }
    let [n, inputs, mut h, mut w] = x.dims();
    let mut channels = inputs;
    let layers: Option<Vec<Vec<Arc<Folded>>>> = blocks.iter().map(|block| fold(block, &mut channels, kernel)).collect();
    let Some(layers) = layers else {
        return burn_blocks(blocks, pool, pool_first, x); // not reached for models this crate builds
    };
    let device = x.device();
    let data = x.into_data();
    let Ok(values) = data.as_slice::<f32>() else {
        return burn_blocks(blocks, pool, pool_first, Tensor::from_data(data, &device));
    };
    let mut planes = values.to_vec();
    for (k, block) in layers.iter().enumerate() {
        if k > 0 || pool_first {
            planes = max_pool2_planes(&planes, h, w);
            (h, w) = (h / 2, w / 2);
        }
        for layer in block {
            planes = layer.forward(&planes, n, h, w);
        }
    }
    Tensor::from_data(TensorData::new(planes, [n, channels, h, w]), &device)
}

/// A conv block run on plain slices with what its input's gradient needs: the input before
/// pooling and each layer's output (ReLU's masks).
pub struct Tape {
    layers: Vec<Arc<Folded>>,
    /// The block's input before pooling, and its height and width, where it pooled first.
    unpooled: Option<(Vec<f32>, usize, usize)>,
    outputs: Vec<Vec<f32>>,
    inputs: usize,
    dims: [usize; 3],
}

/// Block `block` on `x` [N,C,H,W] (pooled first when `pool_first`) on plain slices, and its
/// [`Tape`]. None where [`applies`] does not, or a layer is not a plain 3x3 convolution:
/// there burn's autodiff differentiates the block.
pub fn run_block_taped(block: &ConvBlock, pool_first: bool, x: Tensor<4>) -> Option<(Tensor<4>, Tape)> {
    if !applies(&x) {
        return None;
    }
    let [n, inputs, h0, w0] = x.dims();
    let mut channels = inputs;
    let layers = fold(block, &mut channels, KERNEL)?;
    let device = x.device();
    let values = x.into_data().try_to_vec::<f32>().ok()?;
    let (mut planes, unpooled, h, w) = if pool_first {
        (max_pool2_planes(&values, h0, w0), Some((values, h0, w0)), h0 / 2, w0 / 2)
    } else {
        (values, None, h0, w0)
    };
    let mut outputs = Vec::with_capacity(layers.len());
    for layer in &layers {
        planes = layer.forward(&planes, n, h, w);
        outputs.push(planes.clone());
    }
    let out = Tensor::from_data(TensorData::new(planes, [n, channels, h, w]), &device);
    Some((out, Tape { layers, unpooled, outputs, inputs, dims: [n, h, w] }))
}

impl Tape {
    /// The gradient with respect to the block's input from its output's gradient `d`: back
    /// through each layer's ReLU and convolution (its turned filters) and the pooling.
    pub fn input_gradient(&self, d: Tensor<4>) -> Tensor<4> {
        let device = d.device();
        let [n, h, w] = self.dims;
        let mut grad = d.into_data().convert::<f32>().try_to_vec::<f32>().expect("gradients are floats");
        for (layer, output) in self.layers.iter().zip(&self.outputs).rev() {
            // ReLU passes the gradient where its output is above 0.
            grad.iter_mut().zip(output).for_each(|(g, &y)| if y <= 0.0 { *g = 0.0 });
            grad = layer.input_gradient(KERNEL).forward(&grad, n, h, w);
        }
        match &self.unpooled {
            Some((before, h0, w0)) => {
                let mut unpooled = vec![0.0f32; before.len()];
                max_pool2_backward(&grad, before, n * self.inputs, *h0, *w0, &mut unpooled);
                Tensor::from_data(TensorData::new(unpooled, [n, self.inputs, *h0, *w0]), &device)
            }
            None => Tensor::from_data(TensorData::new(grad, [n, self.inputs, h, w]), &device),
        }
    }
}

/// A block's layers folded for the plain path, from `channels` inputs (left at its output's
/// count); None where a layer is not a plain 3x3 convolution.
fn fold(block: &ConvBlock, channels: &mut usize, kernel: Kernel) -> Option<Vec<Arc<Folded>>> {
    let convs = block.convs.iter().zip(&block.norms);
    convs.map(|(conv, norm)| folded(conv, norm, *channels, kernel).inspect(|layer| *channels = layer.out)).collect()
}

/// Layers folded lately, kept at most this many (a model has 6-8; the trust checks' randomised
/// copies pass through).
const FOLDS_KEPT: usize = 32;

thread_local! {
    /// Folded layers by the values they were folded from, the latest used first: each model's
    /// layers are folded, packed and transformed once, however many analyses use them, and a
    /// layer whose values change (a fine-tune, a randomised copy) is folded anew. Keyed by
    /// value, not by burn's parameter ids, which a fine-tuned copy keeps.
    static FOLDS: std::cell::RefCell<std::collections::VecDeque<Arc<Folded>>> = Default::default();
}

/// `conv` and `norm` folded for `kernel`, from the cache when their values were folded before.
fn folded(conv: &Conv2d, norm: &BatchNorm, inputs: usize, kernel: Kernel) -> Option<Arc<Folded>> {
    let raw = Raw::read(conv, norm, inputs, kernel)?;
    FOLDS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(at) = cache.iter().position(|f| f.raw.as_ref() == Some(&raw)) {
            let layer = cache.remove(at).expect("found above");
            cache.push_front(layer.clone());
            return Some(layer);
        }
        let layer = Arc::new(Folded::new(raw));
        cache.push_front(layer.clone());
        cache.truncate(FOLDS_KEPT);
        Some(layer)
    })
}

/// What a layer is folded from, as burn holds it: the cache's key.
#[derive(PartialEq)]
struct Raw {
    /// [out][inputs * 9].
    weight: Vec<f32>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    mean: Vec<f32>,
    var: Vec<f32>,
    epsilon: f32,
    inputs: usize,
    out: usize,
    kernel: Kernel,
}

impl Raw {
    fn read(conv: &Conv2d, norm: &BatchNorm, inputs: usize, kernel: Kernel) -> Option<Raw> {
        if !is_plain_3x3(conv, inputs) {
            return None;
        }
        let [out, _, _, _] = conv.weight.dims();
        let floats = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().ok();
        let (gamma, beta) = (floats(norm.gamma.val())?, floats(norm.beta.val())?);
        let (mean, var) = (floats(norm.running_mean.value())?, floats(norm.running_var.value())?);
        let weight = conv.weight.val().into_data().try_to_vec::<f32>().ok()?;
        Some(Raw { weight, gamma, beta, mean, var, epsilon: norm.epsilon as f32, inputs, out, kernel })
    }
}

fn burn_blocks(blocks: &[ConvBlock], pool: &MaxPool2d, pool_first: bool, x: Tensor<4>) -> Tensor<4> {
    blocks.iter().enumerate().fold(x, |x, (k, block)| block.forward(if k > 0 || pool_first { pool.forward(x) } else { x }))
}

/// 2x2 max pooling, stride 2: burn's op under autodiff or on a GPU, else the plain loop.
/// NaN does not propagate here as it does in burn's, but weights and inputs are checked finite.
pub fn max_pool2(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    if !applies(&x) {
        return pool.forward(x);
    }
    let device = x.device();
    let [n, c, h, w] = x.dims();
    let data = x.into_data();
    match data.as_slice::<f32>() {
        Ok(values) => Tensor::from_data(TensorData::new(max_pool2_planes(values, h, w), [n, c, h / 2, w / 2]), &device),
        Err(_) => pool.forward(Tensor::from_data(data, &device)),
    }
}

/// A 3x3 'same' convolution with its batch norm folded in: `w' = w * s`, `b' = beta - mean * s`
/// with `s = gamma / sqrt(var + eps)` per output channel.
struct Folded {
    /// [out, in * 9], row-major: the GEMM's left operand as it stands.
    weight: Vec<f32>,
    bias: Vec<f32>,
    /// The weights packed for [`tiled`]'s kernel, where it runs this layer.
    packed: Option<Vec<f32>>,
    /// Whether the page's kernel is Winograd's and the channels fit it (the planes' size is
    /// checked per call).
    winograd: bool,
    /// The weights transformed for [`winograd4`]'s 4x4 blocks, and for [`winograd`]'s 2x2
    /// blocks where a plane does not fit those: each made the first time a call takes it (a
    /// shipped model needs only the first, and making filters delays the first heatmap).
    filters4: std::sync::OnceLock<winograd4::Filters>,
    filters2: std::sync::OnceLock<winograd::Filters>,
    /// Whether ReLU follows (the block's layers) or not (their input gradients).
    relu: bool,
    inputs: usize,
    out: usize,
    /// What it was folded from (a block's layer; empty for an input gradient).
    raw: Option<Raw>,
    /// Its input gradient's layer, made the first time a CAM asks.
    gradient: std::sync::OnceLock<Box<Folded>>,
}

/// Whether `conv` is a 3x3 'same' convolution of `inputs` channels without bias, the kind
/// [`crate::model`] builds and the plain-slice paths (this one, and training's) run.
pub(crate) fn is_plain_3x3(conv: &Conv2d, inputs: usize) -> bool {
    let [_, ins, kh, kw] = conv.weight.dims();
    (ins, kh, kw) == (inputs, 3, 3) && conv.bias.is_none() && conv.stride == [1, 1] && conv.dilation == [1, 1] && conv.groups == 1
}

impl Folded {
    fn new(raw: Raw) -> Self {
        let Raw { inputs, out, kernel, .. } = raw;
        let mut weight = raw.weight.clone();
        let mut bias = Vec::with_capacity(out);
        for (o, row) in weight.chunks_exact_mut(inputs * 9).enumerate() {
            let scale = raw.gamma[o] / (raw.var[o] + raw.epsilon).sqrt();
            row.iter_mut().for_each(|v| *v *= scale);
            bias.push(raw.beta[o] - raw.mean[o] * scale);
        }
        Self { raw: Some(raw), ..Self::of(weight, bias, inputs, out, true, kernel) }
    }

    /// The layer of `weight` [out][inputs * 9] and `bias`, ReLU after it or not.
    fn of(weight: Vec<f32>, bias: Vec<f32>, inputs: usize, out: usize, relu: bool, kernel: Kernel) -> Self {
        let packed = (kernel.tiles() && out % tiled::ROWS == 0).then(|| tiled::pack_weights(&weight, out, inputs * 9));
        let winograd = kernel == Kernel::Winograd && winograd::fits_channels(inputs, out);
        Self { weight, bias, packed, winograd, filters4: Default::default(), filters2: Default::default(), relu, inputs, out, raw: None, gradient: Default::default() }
    }

    /// The linear map from this layer's output gradient to its input's (ReLU's mask applied
    /// before it): the convolution by the turned filters, no bias, no ReLU.
    fn input_gradient(&self, kernel: Kernel) -> &Folded {
        self.gradient.get_or_init(|| Box::new(Self::of(turn_filters(&self.weight, self.inputs, self.out), vec![0.0; self.inputs], self.out, self.inputs, false, kernel)))
    }

    /// ReLU(conv(x) + bias) (or without ReLU, as `relu` says) for `n` images of `inputs` planes of `h` x `w`. Natively the
    /// images run in parallel, or one image's output channels do when there is one image.
    fn forward(&self, x: &[f32], n: usize, h: usize, w: usize) -> Vec<f32> {
        let hw = h * w;
        let mut out = vec![0.0f32; n * self.out * hw];
        let images = x.chunks_exact(self.inputs * hw).zip(out.chunks_exact_mut(self.out * hw));
        #[cfg(not(target_arch = "wasm32"))]
        {
            use rayon::prelude::*;
            let threads = rayon::current_num_threads();
            if n > 1 {
                images.par_bridge().for_each(|(image, dst)| self.image(image, dst, h, w, 1));
            } else {
                images.for_each(|(image, dst)| self.image(image, dst, h, w, threads));
            }
        }
        #[cfg(target_arch = "wasm32")]
        images.for_each(|(image, dst)| self.image(image, dst, h, w, 1));
        out
    }

    /// One image into `dst` [out, h * w], its pixels split into `parts` GEMMs (each keeps
    /// every output channel, so each stays as wide as the layer).
    fn image(&self, image: &[f32], dst: &mut [f32], h: usize, w: usize, parts: usize) {
        let (k, hw) = (self.inputs * 9, h * w);
        let epilogue = if self.relu { winograd::Epilogue::BiasRelu(&self.bias) } else { winograd::Epilogue::Set };
        if self.winograd && winograd4::fits(self.inputs, self.out, h, w) {
            let filters = self.filters4.get_or_init(|| winograd4::Filters::new(&self.weight, self.inputs, self.out));
            return winograd4::conv_image(filters, image, h, w, dst, epilogue);
        }
        if self.winograd && winograd::fits(self.inputs, self.out, h, w) {
            let filters = self.filters2.get_or_init(|| winograd::Filters::new(&self.weight, self.inputs, self.out));
            return winograd::conv_image(filters, image, h, w, dst, epilogue);
        }
        // im2col writes every value, so a buffer kept between convolutions needs zeroing only
        // where it grows (zeroing a fresh one per call was a twentieth of `camseg trust`'s
        // time). Taken, not borrowed: a thread waiting in rayon may run another image's call.
        let mut columns = SCRATCH.take();
        match &self.packed {
            // im2col one panel at a time (`wasm-gemm.sh`: 11.5 against 12.5 ms for the six
            // LGG convolutions, and no image-sized buffer).
            Some(packed) if tiled::fits(self.out, w) => {
                let store = if self.relu { tiled::Store::BiasRelu(&self.bias) } else { tiled::Store::Set };
                tiled::conv_panels(packed, self.out, image, self.inputs, h, w, &mut columns, dst, store)
            }
            _ => {
                if columns.len() < k * hw {
                    columns.resize(k * hw, 0.0);
                }
                im2col3x3(image, h, w, &mut columns[..k * hw]);
                self.multiply(&columns[..k * hw], dst, hw, k, parts);
                if self.relu {
                    for (plane, &b) in dst.chunks_exact_mut(hw).zip(&self.bias) {
                        plane.iter_mut().for_each(|v| *v = larger(*v + b, 0.0));
                    }
                }
            }
        }
        SCRATCH.set(columns);
    }

    /// dst [out, hw] = weight [out, k] x columns [k, hw], in `parts` GEMMs over the columns.
    fn multiply(&self, columns: &[f32], dst: &mut [f32], hw: usize, k: usize, parts: usize) {
        let width = hw.div_ceil(parts.max(1));
        let out = Shared(dst.as_mut_ptr());
        let run = |part: usize| {
            let first = part * width;
            let count = width.min(hw - first);
            // SAFETY: row-major [out, k] x [k, hw] -> [out, hw], restricted to the columns
            // first..first + count of the columns and of `dst` (same row strides); the parts'
            // columns are disjoint, so no two write the same value.
            unsafe {
                gemm::gemm(
                    self.out, count, k,
                    out.at(first), 1, hw as isize, false,
                    self.weight.as_ptr(), 1, k as isize,
                    columns.as_ptr().add(first), 1, hw as isize,
                    0.0, 1.0, false, false, false, gemm::Parallelism::None,
                );
            }
        };
        let parts = hw.div_ceil(width);
        #[cfg(not(target_arch = "wasm32"))]
        {
            use rayon::prelude::*;
            (0..parts).into_par_iter().for_each(run);
        }
        #[cfg(target_arch = "wasm32")]
        (0..parts).for_each(run);
    }
}

std::thread_local! {
    /// Each thread's im2col buffer, kept between convolutions.
    static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The output's base pointer, shared by GEMMs that write disjoint columns of it.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
// SAFETY: only used by `Folded::image`, whose parts write disjoint elements.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// The pointer `offset` values on (a method, so closures capture `Shared`, not its field).
    fn at(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use crate::model::ClassifierConfig;
    use burn::tensor::Distribution;

    fn max_abs_diff(a: Tensor<4>, b: Tensor<4>) -> f32 {
        assert_eq!(a.dims(), b.dims());
        let (a, b) = (a.into_data().try_to_vec::<f32>().unwrap(), b.into_data().try_to_vec::<f32>().unwrap());
        a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn the_plain_pool_matches_burns() {
        let device = Device::flex();
        let pool = burn::nn::pool::MaxPool2dConfig::new([2, 2]).init();
        // Rows of whole lane groups (8 -> 4, 16 -> 8), with a scalar tail (10 -> 5, 18 -> 9), tail only.
        for dims in [[2, 3, 8, 8], [1, 2, 6, 16], [1, 4, 6, 10], [2, 2, 5, 18], [1, 1, 7, 5]] {
            let x = Tensor::<4>::random(dims, Distribution::Normal(0.0, 1.0), &device);
            assert_eq!(max_abs_diff(max_pool2(&pool, x.clone()), pool.forward(x.clone())), 0.0, "{dims:?}");
            // Under autodiff burn's op runs, so gradients flow.
            assert!(max_pool2(&pool, x.autodiff().require_grad()).is_autodiff());
        }
    }

    /// A fresh model of `cfg` with [`crate::model::trained_looking`] batch norms.
    fn trained_looking(cfg: &ClassifierConfig, device: &Device) -> crate::model::Classifier {
        let mut model = cfg.init(device);
        crate::model::trained_looking(&mut model, device);
        model
    }

    #[test]
    fn the_pages_kernels_match_burns_ops() {
        // Widths in whole tiles of 4 channels, image rows in whole panels of 8 pixels (32, 16,
        // 8): every layer takes the tiled kernel, as the shipped models do in the page, and
        // with Winograd's transforms, every layer of 8 or more input channels takes those.
        let device = Device::flex();
        let cfg = ClassifierConfig { input_size: 32, widths: vec![4, 8, 12], convs: vec![1, 2, 1], dropout: 0.0, ..Default::default() };
        let model = trained_looking(&cfg, &device);
        for kernel in [Kernel::Tiled, Kernel::Winograd] {
            let mut x = Tensor::<4>::random([2, 1, 32, 32], Distribution::Normal(0.0, 1.0), &device);
            for (k, block) in model.features.iter().enumerate() {
                let [_, _, _, w] = x.dims();
                assert!(tiled::fits(block.convs[0].weight.dims()[0], if k > 0 { w / 2 } else { w }));
                let pooled = if k > 0 { model.pool.forward(x.clone()) } else { x.clone() };
                let want = block.forward(pooled);
                let got = run_blocks_with(std::slice::from_ref(block), &model.pool, k > 0, x.clone(), kernel);
                let diff = max_abs_diff(got, want.clone());
                assert!(diff < 1e-4, "{kernel:?} block {k}: {diff}");
                x = want;
            }
        }
        // A layer that does not fit (6 channels, rows of 4 pixels) falls back to the GEMM.
        let cfg = ClassifierConfig { input_size: 16, widths: vec![4, 6, 8], convs: vec![1, 1, 1], dropout: 0.0, ..Default::default() };
        let model = trained_looking(&cfg, &device);
        let input = Tensor::<4>::random([1, 1, 16, 16], Distribution::Normal(0.0, 1.0), &device);
        let burn = burn_blocks(&model.features, &model.pool, false, input.clone());
        for kernel in [Kernel::Tiled, Kernel::Winograd] {
            assert!(max_abs_diff(run_blocks_with(&model.features, &model.pool, false, input.clone(), kernel), burn.clone()) < 1e-4);
        }
    }

    /// The shipped plain-family models, whose 16-128 px planes take F(4x4, 3x3) where they fit
    /// and F(2x2, 3x3) elsewhere in the page: each block agrees with burn's ops to 1e-4 on
    /// inputs of the normalised range (0 to 3 times the field of view's mean). (BUSI's
    /// EfficientNet-Lite0 runs on burn's ops in the page, so these kernels never see it.)
    #[test]
    fn the_shipped_models_agree_with_burns_ops_on_the_pages_kernels() {
        let device = Device::flex();
        let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../static/models");
        for name in ["lgg.json", "phantom.json"] {
            let (card, model) = crate::card::files::load(&models.join(name), &device).unwrap();
            assert!(model.lite0.is_none() && !model.features.is_empty(), "{name} is not a plain-family model");
            let size = card.input.size;
            let mut x = Tensor::<4>::random([2, 1, size, size], Distribution::Uniform(0.0, 3.0), &device);
            for (k, block) in model.features.iter().enumerate() {
                let pooled = if k > 0 { model.pool.forward(x.clone()) } else { x.clone() };
                let want = block.forward(pooled);
                let got = run_blocks_with(std::slice::from_ref(block), &model.pool, k > 0, x.clone(), Kernel::Winograd);
                let diff = max_abs_diff(got, want.clone());
                assert!(diff < 1e-4, "{name} block {k}: {diff}");
                x = want;
            }
        }
    }

    /// A model's layers are folded once and reused; a layer whose values change under the same
    /// parameter ids (as a fine-tune's do) is folded anew, so the outputs follow its values.
    #[test]
    fn folds_are_kept_per_value_and_never_go_stale() {
        let device = Device::flex();
        let cfg = ClassifierConfig { input_size: 16, widths: vec![4, 8], convs: vec![1, 2], dropout: 0.0, ..Default::default() };
        let mut model = trained_looking(&cfg, &device);
        let (conv, norm) = (&model.features[1].convs[1], &model.features[1].norms[1]);
        let (first, again) = (folded(conv, norm, 8, KERNEL).unwrap(), folded(conv, norm, 8, KERNEL).unwrap());
        assert!(Arc::ptr_eq(&first, &again), "the same values: the same fold");
        let x = Tensor::<4>::random([2, 1, 16, 16], Distribution::Normal(0.0, 1.0), &device);
        let before = run_blocks(&model.features, &model.pool, false, x.clone());
        let norm = &mut model.features[1].norms[1];
        let id = norm.gamma.id;
        norm.gamma = norm.gamma.clone().map(|g| g.mul_scalar(1.5));
        assert_eq!(norm.gamma.id, id, "a changed value keeps its parameter id");
        let changed = folded(&model.features[1].convs[1], &model.features[1].norms[1], 8, KERNEL).unwrap();
        assert!(!Arc::ptr_eq(&first, &changed));
        let after = run_blocks(&model.features, &model.pool, false, x.clone());
        assert!(max_abs_diff(after.clone(), before) > 1e-3, "the outputs follow the new values");
        assert!(max_abs_diff(after, burn_blocks(&model.features, &model.pool, false, x)) < 1e-4);
    }

    #[test]
    fn blocks_match_burns_ops() {
        let device = Device::flex();
        let cfg = ClassifierConfig { input_size: 16, widths: vec![4, 8, 6], convs: vec![1, 2, 1], dropout: 0.0, ..Default::default() };
        let model = trained_looking(&cfg, &device);
        let mut x = Tensor::<4>::random([3, 1, 16, 16], Distribution::Normal(0.0, 1.0), &device);
        for (k, block) in model.features.iter().enumerate() {
            let pooled = if k > 0 { model.pool.forward(x.clone()) } else { x.clone() };
            let want = block.forward(pooled);
            let got = run_blocks(std::slice::from_ref(block), &model.pool, k > 0, x.clone());
            let diff = max_abs_diff(got, want.clone());
            assert!(diff < 1e-4, "block {k}: {diff}");
            x = want;
        }
        // The classifier's own path takes it (no autodiff, CPU) and agrees end to end with
        // burn's (the same model in eval mode, fed a tracked input).
        let model = burn::module::Module::valid(&model);
        let input = Tensor::<4>::random([2, 1, 16, 16], Distribution::Normal(0.0, 1.0), &device);
        let plain = model.activations(input.clone(), 2);
        let tracked = model.activations(input.autodiff(), 2).without_autodiff();
        assert!(max_abs_diff(plain, tracked) < 1e-4);
    }
}
