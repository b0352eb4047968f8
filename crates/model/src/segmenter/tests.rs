//! The U-Net, its loss, training, pseudo-labels and card on small synthetic squares.

use crate::prelude::*;
use super::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use crate::block_on;
use crate::data::{Channel, Normalisation};

fn spec(size: usize) -> InputSpec {
    InputSpec { size, channel: Channel::Luma, normalisation: Normalisation::Unit, scan: Default::default() }
}

/// Noisy dark images, each with a bright square of random size and place: the square is
/// the mask.
fn squares(count: usize, size: usize, seed: u64) -> Vec<(Plane, Mask)> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let side = rng.random_range(size / 5..size / 2);
            let (x0, y0) = (rng.random_range(0..size - side), rng.random_range(0..size - side));
            let inside = |x: usize, y: usize| (x0..x0 + side).contains(&x) && (y0..y0 + side).contains(&y);
            let mut image = Plane::zeros(size, size);
            let mut mask = Mask::empty(size, size);
            for y in 0..size {
                for x in 0..size {
                    let i = y * size + x;
                    mask.bits[i] = inside(x, y);
                    image.data[i] = if inside(x, y) { rng.random_range(0.6..0.9) } else { rng.random_range(0.0..0.4) };
                }
            }
            (image, mask)
        })
        .collect()
}

fn small() -> SegmenterConfig {
    SegmenterConfig { input_size: 32, widths: vec![8, 16, 32] }
}

#[test]
fn output_has_the_input_size_and_bad_configs_are_refused() {
    let device = Device::flex();
    small().validate().unwrap();
    let model = small().init(&device);
    assert_eq!(model.forward(Tensor::<4>::zeros([2, 1, 32, 32], &device)).dims(), [2, 1, 32, 32]);
    // Maps come back at each image's own size, in [0, 1].
    let (a, b) = (Plane::zeros(50, 40), Plane::new(20, 20, vec![0.5; 400]));
    let maps = block_on(segment(&model.valid(), &spec(32), &[&a, &b], &device)).unwrap();
    assert_eq!(maps.iter().map(|m| (m.width, m.height)).collect::<Vec<_>>(), [(50, 40), (20, 20)]);
    assert!(maps.iter().flat_map(|m| &m.data).all(|v| (0.0..=1.0).contains(v)));

    SegmenterConfig::default().validate().unwrap();
    assert!(SegmenterConfig::default().macs() < 1_000_000_000);
    let cases = [
        (SegmenterConfig { input_size: 102, ..small() }, "not divisible by 4"),
        (SegmenterConfig { input_size: 1 << 20, ..small() }, "larger than"),
        (SegmenterConfig { widths: vec![], ..small() }, "at least one level"),
        (SegmenterConfig { widths: vec![8, 0], ..small() }, "0 channels"),
        (SegmenterConfig { widths: vec![4; 20], ..small() }, "20 levels"),
        (SegmenterConfig { input_size: 1024, widths: vec![1024; 3] }, "multiply-adds"),
    ];
    for (cfg, expected) in cases {
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

#[test]
fn training_on_squares_raises_dice_and_weights_round_trip() {
    let device = Device::flex();
    device.seed(3);
    let spec = spec(32);
    let data = squares(32, 32, 1);
    let images: Vec<&Plane> = data.iter().map(|(im, _)| im).collect();
    let masks: Vec<Mask> = data.iter().map(|(_, m)| m.clone()).collect();
    let samples: Vec<SegSample> = data.iter().map(|(im, m)| SegSample::new(&spec, im, m)).collect();
    let model = small().init(&device);
    let before = mean_dice(&block_on(segment(&model.valid(), &spec, &images, &device)).unwrap(), &masks);

    // 30 epochs: after 15 the bound held from 6 of 8 seeds. The device's random stream is shared
    // with the tests running beside this one, so its seed alone does not fix the start; after 30
    // it held from each of 8 (two of them the failing ones).
    let config = SegTrainConfig { epochs: 30, batch_size: 8, learning_rate: 3e-3, seed: 1, augment: true };
    let mut trainer = SegTrainer::new(model, config, 32, samples.len(), &device);
    assert_eq!(trainer.total_steps(), 120);
    let mut losses = Vec::new();
    while let Some(p) = block_on(trainer.step(&samples)).unwrap() {
        losses.push(p.loss);
    }
    let trained = trainer.model();
    let after = mean_dice(&block_on(segment(&trained, &spec, &images, &device)).unwrap(), &masks);
    assert!(after > 0.8 && after > before + 0.3, "Dice {before:.3} -> {after:.3}; losses {losses:?}");
    // Fresh squares: it learnt squares, not these images.
    let held = squares(8, 32, 2);
    let held_images: Vec<&Plane> = held.iter().map(|(im, _)| im).collect();
    let held_masks: Vec<Mask> = held.iter().map(|(_, m)| m.clone()).collect();
    let held_dice = mean_dice(&block_on(segment(&trained, &spec, &held_images, &device)).unwrap(), &held_masks);
    assert!(held_dice > 0.7, "held-out Dice {held_dice:.3}");

    // Save -> load: identical maps.
    let card = SegmenterCard::new("t", small(), spec.clone(), "truth");
    let bytes = block_on(weights_bytes(&trained, &card.architecture)).unwrap();
    let card2 = SegmenterCard::from_json(&card.to_json()).unwrap();
    assert_eq!(card, card2);
    let loaded = card2.load(bytes.clone(), &device).unwrap();
    let a = block_on(segment(&trained, &spec, &held_images, &device)).unwrap();
    let b = block_on(segment(&loaded, &spec, &held_images, &device)).unwrap();
    assert_eq!(a, b);
    let mut other = card.clone();
    other.architecture.widths = vec![8, 16, 16];
    assert!(other.load(bytes, &device).unwrap_err().to_string().contains("do not fit"));
    assert!(SegmenterCard::from_json(&card.to_json().replace(FORMAT, "camseg-model-card/1")).unwrap_err().to_string().contains("format"));
}

#[test]
fn pseudo_labels_come_from_the_cam_and_are_empty_for_no_tumour_images() {
    let device = Device::flex();
    let arch = crate::model::ClassifierConfig { input_size: 32, widths: vec![4, 8], convs: vec![1, 1], dropout: 0.0, ..Default::default() };
    let spec = spec(32);
    let data = squares(3, 40, 5);
    let images: Vec<&Plane> = data.iter().map(|(im, _)| im).collect();
    let rule = CamLabelRule { method: CamMethod::HiResCam, block: 1, threshold: Threshold::Fixed(0.0), unsure_from: None };
    // An untrained net: retry the rare draw whose map is flat, so the cuts below always split it.
    let (classifier, analysed) = (0..8)
        .map(|_| {
            let classifier = arch.init(&device).valid();
            let analysed = block_on(crate::pipeline::analyse(&classifier, &spec, &[images[2]], 1, rule.method, &device)).unwrap();
            (classifier, analysed)
        })
        .find(|(_, a)| distinct(&a[0].heatmap.data).len() >= 2)
        .expect("eight untrained nets all gave a flat heatmap");
    let labels = block_on(pseudo_labels(&classifier, &spec, &images, &[true, false, true], rule, &device)).unwrap();
    assert!(labels[1].mask.is_empty() && labels[1].unsure.is_empty() && (labels[1].mask.width, labels[1].mask.height) == (40, 40));
    // At threshold 0 every pixel of a tumour image's heatmap is in; the true masks are not.
    assert_eq!(labels[0].mask.area(), 1600);
    // With an unsure band: the mask is the cut, the band is the map in [low, cut), disjoint.
    // Both cuts are values the map takes, so neither region can come out empty.
    let heat = &analysed[0].heatmap;
    let values = distinct(&heat.data);
    let (low, cut) = (values[values.len() / 3], values[2 * values.len() / 3]);
    let banded = CamLabelRule { threshold: Threshold::Fixed(cut), unsure_from: Some(low), ..rule };
    let again = block_on(pseudo_labels(&classifier, &spec, &images[2..], &[true], banded, &device)).unwrap();
    assert_eq!(again[0].mask, analysed[0].mask(Threshold::Fixed(cut)));
    let band: Vec<bool> = heat.data.iter().map(|&v| (low..cut).contains(&v)).collect();
    assert_eq!(again[0].unsure.bits, band);
    assert!(again[0].unsure.area() > 0 && again[0].mask.area() > 0, "the test needs both regions");
}

/// The values a map takes, ascending.
fn distinct(values: &[f32]) -> Vec<f32> {
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    v.dedup();
    v
}

#[test]
fn unsure_pixels_carry_no_loss_and_sure_ones_do() {
    let device = Device::flex();
    let (n, s) = (1, 4);
    let tensor = |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, [n, 1, s, s]), &device);
    let targets: Vec<f32> = (0..16).map(|i| if i < 8 { 1.0 } else { 0.0 }).collect();
    // The last four pixels are unsure.
    let weights: Vec<f32> = (0..16).map(|i| if i >= 12 { 0.0 } else { 1.0 }).collect();
    let value = |logits: Vec<f32>, w: &[f32]| block_on(read_floats(loss(tensor(logits), tensor(targets.clone()), tensor(w.to_vec())))).unwrap()[0];
    let base: Vec<f32> = (0..16).map(|i| if i < 8 { 2.0 } else { -2.0 }).collect();
    let mut wrong_where_unsure = base.clone();
    wrong_where_unsure[12..].iter_mut().for_each(|v| *v = 5.0);
    let mut wrong_where_sure = base.clone();
    wrong_where_sure[8..12].iter_mut().for_each(|v| *v = 5.0);
    assert!((value(base.clone(), &weights) - value(wrong_where_unsure.clone(), &weights)).abs() < 1e-6);
    assert!(value(wrong_where_sure, &weights) > value(base.clone(), &weights) + 0.5);
    // All weights 1: the unsure pixels count again.
    let ones = vec![1.0; 16];
    assert!(value(wrong_where_unsure, &ones) > value(base, &ones) + 0.5);
}

#[test]
fn shifts_move_whole_pixels_and_fill_with_zero() {
    let p = Plane::new(3, 2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(shifted(&p, 1, 0).data, [0.0, 1.0, 2.0, 0.0, 4.0, 5.0]);
    assert_eq!(shifted(&p, 0, -1).data, [4.0, 5.0, 6.0, 0.0, 0.0, 0.0]);
}

/// A segmenter on disk goes through the classifier's reading: each problem names its file, and
/// weights no training makes are refused, not loaded.
#[test]
fn damaged_segmenter_files_are_refused_naming_the_file() {
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seg");
    let card = SegmenterCard::new("t", small(), spec(32), "truth");
    std::fs::write(path.with_extension("json"), card.to_json()).unwrap();
    std::fs::write(path.with_extension("bpk"), b"not weights").unwrap();
    let err = super::load(&path, &device).unwrap_err().to_string();
    assert!(err.contains("seg.bpk") && err.contains("not a burnpack"), "{err}");

    std::fs::write(path.with_extension("json"), "{").unwrap();
    let err = super::load(&path, &device).unwrap_err().to_string();
    assert!(err.contains("seg.json") && err.contains("not valid"), "{err}");

    // Weights of the right shapes but a value no training gives.
    let net = small().init(&device);
    let bytes = block_on(weights_bytes(&net, &small())).unwrap();
    let mut record: Vec<u8> = bytes.clone();
    let huge = 1e30f32.to_le_bytes();
    // The last four bytes are the last float parameter (the output conv's bias).
    let n = record.len();
    record[n - 4..].copy_from_slice(&huge);
    let err = card.load(record, &device).unwrap_err().to_string();
    assert!(err.contains("far beyond"), "{err}");
    card.load(bytes, &device).unwrap();
}
