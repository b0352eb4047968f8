//! The classifier's training step on plain slices, for the CPU: the forward pass in train mode
//! (batch statistics), the backward pass written out layer by layer, and Adam, with no
//! autodiff graph.
//!
//! burn's autodiff on its CPU backend spends most of a step outside the arithmetic: a fresh
//! allocation per op, im2col and transposes inside each convolution, pooling with index
//! tensors (`docs/benchmarks.md`, the training profile). Here each convolution is one im2col
//! and one GEMM per image forward, two backward, as [`crate::inference`] does for inference.
//! The gradients equal burn's autodiff to float rounding (tests below); GPUs keep burn's ops.

mod adam;
mod layers;

pub use adam::Adam;

use crate::model::Classifier;
use burn::module::{Param, RunningState};
use burn::tensor::{Tensor, TensorData};
use std::ops::Range;

/// One conv -> batch norm -> ReLU of the network, and where its parameters lie in
/// [`Network::params`].
#[derive(Clone, Debug)]
struct Layer {
    inputs: usize,
    out: usize,
    /// [out][inputs * 9].
    weight: Range<usize>,
    gamma: Range<usize>,
    beta: Range<usize>,
    /// 2x2 max pooling before it (the first layer of every block but the first).
    pooled: bool,
    epsilon: f32,
    momentum: f32,
}

/// The classifier's parameters as one vector, and the steps that train them.
#[derive(Clone, Debug)]
pub struct Network {
    layers: Vec<Layer>,
    /// [channels][2], as burn's `Linear` keeps it.
    head_weight: Range<usize>,
    head_bias: Range<usize>,
    /// Every trained parameter: each layer's weight, gamma and beta, then the head's.
    pub params: Vec<f32>,
    /// Each layer's running mean and variance, updated by every training forward pass.
    running: Vec<(Vec<f32>, Vec<f32>)>,
    pub dropout: f32,
    size: usize,
    spare: layers::Spare,
}

/// What one step computed.
pub struct Step {
    /// Mean cross-entropy over the batch.
    pub loss: f32,
    /// Images whose larger logit is their label (tumour on a tie).
    pub correct: usize,
    /// The loss's gradient, laid out as [`Network::params`].
    pub grads: Vec<f32>,
    /// Each layer's batch mean and biased variance, for [`Network::remember`].
    pub stats: Vec<(Vec<f32>, Vec<f32>)>,
}

/// What the forward pass keeps for the backward one, per layer.
struct Kept {
    /// The layer's input where it is neither the batch nor the previous layer's output: a pooled map.
    input: Option<Vec<f32>>,
    norm: layers::Normed,
    h: usize,
    w: usize,
}

/// Layer `l`'s input: the batch `x`, a pooled map, or the previous layer's output.
fn layer_input<'a>(x: &'a [f32], kept: &'a [Kept], l: usize) -> &'a [f32] {
    match l.checked_sub(1) {
        None => x,
        Some(previous) => kept.get(l).and_then(|k| k.input.as_deref()).unwrap_or(&kept[previous].norm.output),
    }
}

fn floats<const D: usize>(t: Tensor<D>) -> Option<Vec<f32>> {
    t.into_data().try_to_vec::<f32>().ok()
}

impl Network {
    /// The network of `model`, or `None` where it is not the 3x3 'same' convolutions without
    /// bias that [`crate::model::Build`] makes.
    pub fn new(model: &Classifier, size: usize) -> Option<Self> {
        let mut params = Vec::new();
        let mut push = |values: Vec<f32>| {
            let start = params.len();
            params.extend(values);
            start..params.len()
        };
        if model.lite0.is_some() {
            return None;
        }
        let (mut layers, mut running) = (Vec::new(), Vec::new());
        let mut channels = 1;
        for (k, block) in model.features.iter().enumerate() {
            for (j, (conv, norm)) in block.convs.iter().zip(&block.norms).enumerate() {
                if !crate::inference::is_plain_3x3(conv, channels) {
                    return None;
                }
                let [out, ins, _, _] = conv.weight.dims();
                layers.push(Layer {
                    inputs: ins,
                    out,
                    weight: push(floats(conv.weight.val())?),
                    gamma: push(floats(norm.gamma.val())?),
                    beta: push(floats(norm.beta.val())?),
                    pooled: k > 0 && j == 0,
                    epsilon: norm.epsilon as f32,
                    momentum: norm.momentum as f32,
                });
                running.push((floats(norm.running_mean.value())?, floats(norm.running_var.value())?));
                channels = out;
            }
        }
        if model.head.weight.dims() != [channels, 2] {
            return None;
        }
        let head_weight = push(floats(model.head.weight.val())?);
        let head_bias = push(match &model.head.bias {
            Some(b) => floats(b.val())?,
            None => return None,
        });
        Some(Self { layers, head_weight, head_bias, params, running, dropout: model.dropout.prob as f32, size, spare: layers::Spare::default() })
    }

    /// `template` (the model this network was made from) with this network's values.
    pub fn write_into(&self, template: &Classifier) -> Classifier {
        let mut model = template.clone();
        let values = |range: &Range<usize>| self.params[range.clone()].to_vec();
        let set = |param: &mut Param<Tensor<1>>, range: &Range<usize>| {
            *param = param.clone().map(|t| Tensor::from_data(TensorData::new(values(range), t.shape()), &t.device()));
        };
        let mut layers = self.layers.iter().zip(&self.running);
        for block in &mut model.features {
            for (conv, norm) in block.convs.iter_mut().zip(&mut block.norms) {
                let (layer, (mean, var)) = layers.next().expect("the network was made from this model");
                conv.weight = conv.weight.clone().map(|t| Tensor::from_data(TensorData::new(values(&layer.weight), t.shape()), &t.device()));
                set(&mut norm.gamma, &layer.gamma);
                set(&mut norm.beta, &layer.beta);
                let device = norm.gamma.val().device();
                norm.running_mean = RunningState::new(Tensor::from_data(TensorData::new(mean.clone(), [mean.len()]), &device));
                norm.running_var = RunningState::new(Tensor::from_data(TensorData::new(var.clone(), [var.len()]), &device));
            }
        }
        let head = &mut model.head;
        head.weight = head.weight.clone().map(|t| Tensor::from_data(TensorData::new(values(&self.head_weight), t.shape()), &t.device()));
        if let Some(bias) = &mut head.bias {
            set(bias, &self.head_bias);
        }
        model
    }

    /// Channels of the last layer: the features the head weighs.
    pub fn features(&self) -> usize {
        self.layers.last().map_or(1, |l| l.out)
    }

    /// The side of the square images [`Network::step`] takes.
    pub fn input_size(&self) -> usize {
        self.size
    }

    /// The loss of `n` images `x` [n][size * size] against `labels`, its gradient and the
    /// batch statistics (the running ones move only by [`Network::remember`], so that a step
    /// shared across workers moves them by the whole batch's). `keep` [n][channels] multiplies the
    /// pooled features (dropout: 0 or 1 / (1 - p); `None` keeps all).
    pub fn step(&mut self, x: &[f32], labels: &[bool], keep: Option<&[f32]>) -> Step {
        let n = labels.len();
        let (mut h, mut w) = (self.size, self.size);
        assert_eq!(x.len(), n * h * w, "a batch of {n} images of {h} x {w}");
        let mut kept: Vec<Kept> = Vec::with_capacity(self.layers.len());
        for (l, layer) in self.layers.iter().enumerate() {
            let mut input = None;
            if layer.pooled {
                let before = &kept[l - 1].norm.output;
                let mut pooled = self.spare.take(n * layer.inputs * (h / 2) * (w / 2));
                crate::inference::max_pool2_planes_into(before, h, w, &mut pooled);
                input = Some(pooled);
                (h, w) = (h / 2, w / 2);
            }
            let x_l = input.as_deref().unwrap_or_else(|| layer_input(x, &kept, l));
            let mut y = self.spare.take(n * layer.out * h * w);
            layers::conv(crate::inference::KERNEL, &self.params[layer.weight.clone()], layer.inputs, layer.out, x_l, n, h, w, &mut y);
            let output = self.spare.take(y.len());
            let norm = layers::norm_relu(y, n, layer.out, h * w, &self.params[layer.gamma.clone()], &self.params[layer.beta.clone()], layer.epsilon, output);
            kept.push(Kept { input, norm, h, w });
        }

        // The head: global average pool, dropout, linear, softmax cross-entropy.
        let (channels, hw) = (self.features(), h * w);
        let last = &kept.last().expect("at least one layer").norm.output;
        let pooled: Vec<f32> = last.chunks_exact(hw).map(|p| p.iter().sum::<f32>() / hw as f32).collect();
        let features: Vec<f32> = match keep {
            Some(keep) => pooled.iter().zip(keep).map(|(a, b)| a * b).collect(),
            None => pooled,
        };
        let (weight, bias) = (&self.params[self.head_weight.clone()], &self.params[self.head_bias.clone()]);
        let mut grads = vec![0.0f32; self.params.len()];
        let (mut loss, mut correct) = (0.0f64, 0);
        let mut d_features = vec![0.0f32; n * channels];
        for (i, &label) in labels.iter().enumerate() {
            let f = &features[i * channels..][..channels];
            let logit = |j: usize| f.iter().enumerate().map(|(c, v)| v * weight[c * 2 + j]).sum::<f32>() + bias[j];
            let (l0, l1) = (logit(0), logit(1));
            let top = l0.max(l1);
            let log_sum = top + ((l0 - top).exp() + (l1 - top).exp()).ln();
            loss += (log_sum - if label { l1 } else { l0 }) as f64;
            correct += usize::from((l1 >= l0) == label);
            let p1 = (l1 - log_sum).exp();
            let d = [(1.0 - p1) - f32::from(!label), p1 - f32::from(label)].map(|v| v / n as f32);
            for c in 0..channels {
                grads[self.head_weight.start + c * 2] += f[c] * d[0];
                grads[self.head_weight.start + c * 2 + 1] += f[c] * d[1];
                d_features[i * channels + c] = d[0] * weight[c * 2] + d[1] * weight[c * 2 + 1];
            }
            grads[self.head_bias.start] += d[0];
            grads[self.head_bias.start + 1] += d[1];
        }
        if let Some(keep) = keep {
            d_features.iter_mut().zip(keep).for_each(|(d, k)| *d *= k);
        }
        let mut d = self.spare.take(n * channels * hw);
        d.chunks_exact_mut(hw).zip(&d_features).for_each(|(plane, &g)| plane.fill(g / hw as f32));

        for l in (0..self.layers.len()).rev() {
            let layer = &self.layers[l];
            let k = &kept[l];
            let (d_gamma, d_beta) = layers::norm_relu_backward(&mut d, &k.norm, &self.params[layer.gamma.clone()], &self.params[layer.beta.clone()], n, layer.out, k.h * k.w);
            grads[layer.gamma.clone()].copy_from_slice(&d_gamma);
            grads[layer.beta.clone()].copy_from_slice(&d_beta);
            let x_l = layer_input(x, &kept, l);
            let mut d_input = (l > 0).then(|| self.spare.take(x_l.len()));
            let d_weight = layers::conv_backward(crate::inference::KERNEL, &self.params[layer.weight.clone()], layer.inputs, layer.out, x_l, &d, n, k.h, k.w, d_input.as_deref_mut());
            grads[layer.weight.clone()].copy_from_slice(&d_weight);
            self.spare.give(std::mem::replace(&mut d, d_input.unwrap_or_default()));
            if layer.pooled {
                let before = &kept[l - 1];
                let mut d_before = self.spare.take(before.norm.output.len());
                layers::max_pool2_backward(&d, &before.norm.output, n * layer.inputs, before.h, before.w, &mut d_before);
                self.spare.give(std::mem::replace(&mut d, d_before));
            }
        }
        let mut stats = Vec::with_capacity(kept.len());
        for k in kept {
            stats.push((k.norm.mean, k.norm.variance));
            self.spare.give(k.norm.y);
            self.spare.give(k.norm.output);
            if let Some(input) = k.input {
                self.spare.give(input);
            }
        }
        Step { loss: (loss / n as f64) as f32, correct, grads, stats }
    }

    /// Moves the running statistics towards a step's batch statistics, as burn's batch norm
    /// does in train mode.
    pub fn remember(&mut self, stats: &[(Vec<f32>, Vec<f32>)]) {
        for ((layer, (mean, var)), (batch_mean, batch_var)) in self.layers.iter().zip(&mut self.running).zip(stats) {
            let m = layer.momentum;
            mean.iter_mut().zip(batch_mean).for_each(|(r, v)| *r = *r * (1.0 - m) + v * m);
            var.iter_mut().zip(batch_var).for_each(|(r, v)| *r = *r * (1.0 - m) + v * m);
        }
    }
}

#[cfg(test)]
mod tests;
