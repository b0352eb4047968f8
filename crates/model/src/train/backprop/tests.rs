use super::*;
use crate::model::{Build, ClassifierConfig};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Int};

use crate::model::trained_looking;

/// Every trained parameter of `model`, in [`Network::params`]' order, through `f`.
/// The callback gets a name, the id, the tensor's rank and its values.
fn each_param(model: &Classifier, mut f: impl FnMut(&str, burn::module::ParamId, usize, Vec<f32>)) {
    for (k, block) in model.features.iter().enumerate() {
        for (j, (conv, norm)) in block.convs.iter().zip(&block.norms).enumerate() {
            f(&format!("block {k} conv {j} weight"), conv.weight.id, 4, floats(conv.weight.val()).unwrap());
            f(&format!("block {k} norm {j} gamma"), norm.gamma.id, 1, floats(norm.gamma.val()).unwrap());
            f(&format!("block {k} norm {j} beta"), norm.beta.id, 1, floats(norm.beta.val()).unwrap());
        }
    }
    f("head weight", model.head.weight.id, 2, floats(model.head.weight.val()).unwrap());
    let bias = model.head.bias.as_ref().unwrap();
    f("head bias", bias.id, 1, floats(bias.val()).unwrap());
}

struct Case {
    model: Classifier,
    x: Vec<f32>,
    labels: Vec<bool>,
    size: usize,
}

fn case(cfg: ClassifierConfig, n: usize, seed: u64) -> Case {
    let device = Device::flex();
    device.seed(seed);
    let mut model = cfg.init(&device);
    trained_looking(&mut model, &device);
    let size = cfg.input_size;
    let x = floats(Tensor::<4>::random([n, 1, size, size], Distribution::Normal(0.0, 1.0), &device)).unwrap();
    let labels = (0..n).map(|i| i % 3 != 0).collect();
    Case { model, x, labels, size }
}

/// burn's training step on the case: the model after its forward pass in train mode (running
/// statistics moved), the loss, and the gradients.
fn burn_step(case: &Case) -> (Classifier, f32, GradientsParams) {
    let device = Device::flex().autodiff();
    let model = case.model.clone().train();
    let n = case.labels.len();
    let x = Tensor::<4>::from_data(TensorData::new(case.x.clone(), [n, 1, case.size, case.size]), &device);
    let targets = Tensor::<1, Int>::from_data(TensorData::new(case.labels.iter().map(|&l| l as i64).collect::<Vec<_>>(), [n]), &device);
    let loss = CrossEntropyLossConfig::new().init(&device).forward(model.forward(x), targets);
    let value = floats(loss.clone().without_autodiff()).unwrap()[0];
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (model, value, grads)
}

#[test]
fn gradients_equal_burns_autodiff() {
    // Odd sizes on the way down (18 -> 9 -> 4: pooling drops an edge), two convs in a block,
    // and a batch not a multiple of the parts the sums are cut into.
    for (cfg, n) in [
        (ClassifierConfig { input_size: 18, widths: vec![4, 8, 6], convs: vec![1, 2, 1], dropout: 0.0, ..Default::default() }, 11),
        (ClassifierConfig { input_size: 32, widths: vec![8, 16], convs: vec![2, 1], dropout: 0.0, ..Default::default() }, 3),
    ] {
        let case = case(cfg, n, 5);
        let (_, burn_loss, grads) = burn_step(&case);
        let mut net = Network::new(&case.model, case.size).unwrap();
        let step = net.step(&case.x, &case.labels, None);
        assert!((step.loss - burn_loss).abs() < 1e-5, "loss {} vs burn's {burn_loss}", step.loss);
        let mut at = 0;
        each_param(&case.model, |name, id, rank, values| {
            let want = match rank {
                1 => grads.get::<1>(id).and_then(floats),
                2 => grads.get::<2>(id).and_then(floats),
                _ => grads.get::<4>(id).and_then(floats),
            }
            .unwrap_or_else(|| panic!("{name}: burn has no gradient"));
            let got = &step.grads[at..at + values.len()];
            at += values.len();
            let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let diff = got.iter().zip(&want).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(scale > 1e-6, "{name}: burn's gradient is zero");
            assert!(diff <= 1e-4 * scale.max(1.0), "{name}: largest difference {diff} (largest gradient {scale})");
        });
        assert_eq!(at, net.params.len());
    }
}

/// The buffers a network keeps from earlier steps (other batch sizes, other values) leave no
/// trace in a step: its loss and gradients equal a fresh copy's, bit for bit.
#[test]
fn a_step_does_not_depend_on_the_steps_before_it() {
    let cfg = ClassifierConfig { input_size: 18, widths: vec![4, 8, 6], convs: vec![1, 2, 1], dropout: 0.0, ..Default::default() };
    let (small, large) = (case(cfg.clone(), 3, 12), case(cfg, 7, 11));
    let mut used = Network::new(&small.model, small.size).unwrap();
    let fresh = used.clone();
    let first = used.step(&large.x, &large.labels, None);
    assert!(first.grads.iter().all(|g| g.is_finite()));
    for _ in 0..2 {
        let (a, b) = (used.step(&small.x, &small.labels, None), fresh.clone().step(&small.x, &small.labels, None));
        assert_eq!(a.loss.to_bits(), b.loss.to_bits());
        assert_eq!(a.grads, b.grads);
    }
}

#[test]
fn a_step_of_adam_and_the_running_statistics_equal_burns() {
    let case = case(ClassifierConfig { input_size: 16, widths: vec![4, 8], convs: vec![1, 2], dropout: 0.0, ..Default::default() }, 6, 9);
    let (tracked, _, grads) = burn_step(&case);
    let (lr, decay) = (3e-3, 1e-2);
    let mut optim = AdamConfig::new().with_weight_decay(Some(WeightDecayConfig::new(decay))).init();
    let stepped = optim.step(lr, tracked, grads).valid();

    let mut net = Network::new(&case.model, case.size).unwrap();
    let step = net.step(&case.x, &case.labels, None);
    net.remember(&step.stats);
    Adam::new(net.params.len(), decay as f32).step(&mut net.params, &step.grads, lr);
    let ours = net.write_into(&case.model);
    let mut want = Vec::new();
    each_param(&stepped, |_, _, _, values| want.extend(values));
    let diff = net.params.iter().zip(&want).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff < 1e-5, "parameters after one step differ by {diff}");
    for (a, b) in ours.features.iter().flat_map(|b| &b.norms).zip(stepped.features.iter().flat_map(|b| &b.norms)) {
        for (x, y) in [(&a.running_mean, &b.running_mean), (&a.running_var, &b.running_var)] {
            let (x, y) = (floats(x.value()).unwrap(), floats(y.value()).unwrap());
            let diff = x.iter().zip(&y).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(diff < 1e-5, "running statistics differ by {diff}");
        }
    }
}

#[test]
fn the_network_reads_and_writes_every_value_of_the_model() {
    let case = case(ClassifierConfig { input_size: 16, widths: vec![4, 8], convs: vec![1, 1], dropout: 0.3, ..Default::default() }, 1, 2);
    let mut net = Network::new(&case.model, 16).unwrap();
    assert_eq!(net.dropout, 0.3);
    net.params.iter_mut().enumerate().for_each(|(i, v)| *v = i as f32);
    let written = net.write_into(&case.model);
    let again = Network::new(&written, 16).unwrap();
    assert_eq!(again.params, net.params);
    assert_eq!(again.running, net.running);
}

#[test]
fn dropout_masks_multiply_the_pooled_features() {
    // With every feature dropped the logits are the head's bias alone: the loss is the bias's.
    let case = case(ClassifierConfig { input_size: 16, widths: vec![4, 8], convs: vec![1, 1], dropout: 0.5, ..Default::default() }, 4, 3);
    let mut net = Network::new(&case.model, 16).unwrap();
    let bias = net.params[net.head_bias.clone()].to_vec();
    let step = net.step(&case.x, &case.labels, Some(&vec![0.0; 4 * 8]));
    let log_sum = bias[0].max(bias[1]) + ((bias[0] - bias[0].max(bias[1])).exp() + (bias[1] - bias[0].max(bias[1])).exp()).ln();
    let want: f32 = case.labels.iter().map(|&l| log_sum - bias[usize::from(l)]).sum::<f32>() / 4.0;
    assert!((step.loss - want).abs() < 1e-5, "{} vs {want}", step.loss);
    assert!(step.grads[net.layers[0].weight.clone()].iter().all(|&g| g == 0.0), "nothing flows back through dropped features");
}
