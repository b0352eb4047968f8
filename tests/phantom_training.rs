//! End to end on synthetic data: a classifier trained on phantoms for a bounded number of
//! steps must classify held-out phantoms (>= 95% accuracy) and its Grad-CAM masks must find their
//! tumours (mean Dice >= 0.12 at threshold 0.5: seeds 7-10 gave 0.16-0.22 on the plain-slice
//! training path and 0.16-0.26 on burn's autodiff, so the bound is below the seeds' spread).

use camseg::prelude::*;
use burn::tensor::Device;
use camseg::cam::CamMethod;
use camseg::data::InputSpec;
use camseg::evaluate::{summarise, ImageScore};
use camseg::masks::Threshold;
use camseg::model::ClassifierConfig;
use camseg::phantom::{generate, rng_for, Phantom};
use camseg::pipeline::analyse;
use camseg::train::{train, Sample, TrainConfig};
use camseg::block_on;
use std::ops::ControlFlow;

const SIZE: usize = 64;

/// A fresh model from the backend's seeded initialiser. The initialiser is one stream shared by
/// every test of this binary, so seeding and drawing are done under one lock: otherwise a test
/// running beside draws from the same stream and the weights depend on timing.
fn seeded(arch: &ClassifierConfig, seed: u64) -> camseg::model::Classifier {
    static STREAM: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _held = STREAM.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    device.seed(seed);
    arch.init(&device)
}

fn phantoms(seed: u64, count: usize) -> Vec<Phantom> {
    (0..count).map(|i| generate(&mut rng_for(seed, i as u64), SIZE, i % 2 == 1)).collect()
}

#[test]
fn trained_classifier_detects_and_gradcam_localises_phantom_tumours() {
    let device = Device::flex();
    let arch = ClassifierConfig { input_size: SIZE, widths: vec![8, 16, 32, 32], convs: vec![1, 1, 1, 1], dropout: 0.1, ..Default::default() };
    let seed = 7;
    let spec = InputSpec::new(SIZE);
    let train_set = phantoms(100, 320);
    let test_set = phantoms(200, 100);
    let samples: Vec<Sample> = train_set.iter().map(|p| Sample { input: spec.prepare(&p.image), label: p.has_tumour() }).collect();
    let config = TrainConfig { epochs: 8, batch_size: 16, learning_rate: 3e-3, seed, ..TrainConfig::default() };
    let mut steps = 0;
    let (model, cancelled) = block_on(train(seeded(&arch, seed), &spec, &config, &samples, &device, |p| {
        steps = p.step;
        assert!(p.loss.is_finite());
        ControlFlow::Continue(())
    }))
    .unwrap();
    assert!(!cancelled);
    assert_eq!(steps, 8 * 20);

    let threshold = Threshold::Fixed(0.5);
    let images: Vec<_> = test_set.iter().map(|p| &p.image).collect();
    let analyses = block_on(analyse(&model, &spec, &images, 2, CamMethod::GradCam, &device)).unwrap();
    let scores: Vec<ImageScore> = test_set
        .iter()
        .zip(&analyses)
        .enumerate()
        .map(|(i, (p, a))| ImageScore::new(&i.to_string(), a.probability, &a.heatmap, Some(&p.mask), p.has_tumour(), threshold))
        .collect();
    let summary = summarise(&scores, "gradcam", 2, threshold);
    eprintln!("held-out phantoms: sens {:.3} spec {:.3} accuracy {:.3}, auc {:.3}, Grad-CAM mean Dice {:.3} (by threshold {:?})", summary.sensitivity, summary.specificity, summary.accuracy, summary.auc, summary.mean_dice, summary.dice_by_threshold);
    assert!(summary.accuracy >= 0.95, "accuracy {}", summary.accuracy);
    assert!(summary.mean_dice >= 0.12, "Grad-CAM mean Dice {}", summary.mean_dice);
}

#[test]
fn training_can_be_cancelled_between_steps() {
    let device = Device::flex();
    let arch = ClassifierConfig { input_size: 32, widths: vec![4, 8], convs: vec![1, 1], dropout: 0.0, ..Default::default() };
    let spec = InputSpec::new(32);
    let samples: Vec<Sample> = (0..40).map(|i| Sample { input: spec.prepare(&generate(&mut rng_for(1, i), 32, i % 2 == 0).image), label: i % 2 == 0 }).collect();
    let mut seen = 0;
    let (_, cancelled) = block_on(train(seeded(&arch, 1), &spec, &TrainConfig { epochs: 5, batch_size: 8, ..TrainConfig::default() }, &samples, &device, |p| {
        seen = p.step;
        if p.step == 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    }))
    .unwrap();
    assert!(cancelled);
    assert_eq!(seen, 3);
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let run = || {
        let device = Device::flex();
        let arch = ClassifierConfig { input_size: 32, widths: vec![4, 8], convs: vec![1, 1], dropout: 0.0, ..Default::default() };
        let spec = InputSpec::new(32);
        let samples: Vec<Sample> = (0..24).map(|i| Sample { input: spec.prepare(&generate(&mut rng_for(2, i), 32, i % 2 == 0).image), label: i % 2 == 0 }).collect();
        let mut losses = Vec::new();
        block_on(train(seeded(&arch, 3), &spec, &TrainConfig { epochs: 2, batch_size: 8, seed: 9, ..TrainConfig::default() }, &samples, &device, |p| {
            losses.push(p.loss);
            ControlFlow::Continue(())
        }))
        .unwrap();
        losses
    };
    assert_eq!(run(), run());
}

/// Reading the loss back once an epoch instead of every step changes what is read, not what is
/// trained: the same model, the same epoch means, and one read an epoch instead of one a step.
#[test]
fn reading_the_loss_once_an_epoch_trains_the_same_model_with_fewer_reads() {
    let device = Device::flex();
    let arch = ClassifierConfig { input_size: 32, widths: vec![4, 8], convs: vec![1, 1], dropout: 0.0, ..Default::default() };
    let initial = seeded(&arch, 3);
    let spec = InputSpec::new(32);
    let samples: Vec<Sample> = (0..24).map(|i| Sample { input: spec.prepare(&generate(&mut rng_for(2, i), 32, i % 2 == 0).image), label: i % 2 == 0 }).collect();
    let run = |read_every: usize| {
        let (mut reads, mut epoch_means, mut sum) = (0, Vec::new(), 0.0);
        let config = TrainConfig { epochs: 2, batch_size: 8, seed: 9, read_every, ..TrainConfig::default() };
        let (model, _) = block_on(train(initial.clone(), &spec, &config, &samples, &device, |p| {
            if p.read_steps > 0 {
                reads += 1;
                sum += p.loss as f64 * p.read_steps as f64;
            }
            if p.epoch_end {
                epoch_means.push(sum / 3.0);
                sum = 0.0;
            }
            ControlFlow::Continue(())
        }))
        .unwrap();
        let inputs: Vec<_> = samples.iter().map(|s| &s.input).collect();
        let probs = block_on(camseg::train::predict(&model, &spec, &inputs, 8, &device)).unwrap();
        (reads, epoch_means, probs)
    };
    let (every_step, once_an_epoch) = (run(1), run(1000));
    assert_eq!((every_step.0, once_an_epoch.0), (6, 2), "reads: 3 steps an epoch, 2 epochs");
    assert_eq!(every_step.2, once_an_epoch.2, "the same model");
    for (a, b) in every_step.1.iter().zip(&once_an_epoch.1) {
        assert!((a - b).abs() < 1e-5, "epoch mean loss {a} vs {b}");
    }
}
