//! Grad-CAM against answers known without autodiff.

use crate::prelude::*;
use super::*;
use crate::model::ClassifierConfig;
use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Tensor, TensorData};

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    crate::block_on(read_floats(t)).unwrap()
}

fn random_model(cfg: &ClassifierConfig, seed: u64) -> (Classifier, Device) {
    let device = Device::flex();
    device.seed(seed);
    (cfg.init(&device).valid(), device)
}

/// With global average pooling and a linear head, d y / d A_c(i,j) = w_c / (h w) everywhere,
/// so Grad-CAM reduces to ReLU(sum_c w_c A_c) / (h w): the CAM of Zhou et al. (2016), computed
/// here from the head's weights directly.
#[test]
fn gradcam_of_the_last_block_is_the_linear_heads_cam() {
    let cfg = ClassifierConfig { input_size: 32, widths: vec![4, 8, 6], convs: vec![1, 1, 1], dropout: 0.0, ..Default::default() };
    let (model, device) = random_model(&cfg, 3);
    let x = Tensor::<4>::random([2, 1, 32, 32], Distribution::Uniform(0.0, 1.0), &device);
    let last = 2;
    let a = floats(model.activations(x.clone(), last));
    let w = floats(model.head.weight.val()); // [C, 2], row-major
    let (c, cells) = (6, 8 * 8);
    let batch = crate::block_on(cam_batch(&model, x, last, CamMethod::GradCam)).unwrap();
    for (n, map) in batch.maps.iter().enumerate() {
        for p in 0..cells {
            let expected: f32 = (0..c).map(|k| w[k * 2 + TUMOUR] * a[(n * c + k) * cells + p]).sum::<f32>().max(0.0) / cells as f32;
            assert!((map.data[p] - expected).abs() < 1e-5, "image {n} cell {p}: {} vs {expected}", map.data[p]);
        }
    }
    // HiResCAM equals Grad-CAM when the gradient is constant over space.
    let x = Tensor::<4>::random([1, 1, 32, 32], Distribution::Uniform(0.0, 1.0), &device);
    let g = crate::block_on(cam_batch(&model, x.clone(), last, CamMethod::GradCam)).unwrap();
    let h = crate::block_on(cam_batch(&model, x, last, CamMethod::HiResCam)).unwrap();
    for (a, b) in g.maps[0].data.iter().zip(&h.maps[0].data) {
        assert!((a - b).abs() < 1e-5);
    }
}

/// A one-block network whose conv passes the pixel through (centre tap 1) and whose head gives
/// the tumour logit weight 1: its Grad-CAM is the image itself, up to scale.
#[test]
fn gradcam_of_an_identity_network_is_the_image() {
    let cfg = ClassifierConfig { input_size: 8, widths: vec![1], convs: vec![1], dropout: 0.0, ..Default::default() };
    let device = Device::flex();
    let mut model = cfg.init(&device);
    let mut kernel = vec![0.0f32; 9];
    kernel[4] = 1.0;
    model.features[0].convs[0].weight = Param::from_tensor(Tensor::from_data(TensorData::new(kernel, [1, 1, 3, 3]), &device));
    model.head.weight = Param::from_tensor(Tensor::from_data(TensorData::new(vec![-1.0f32, 1.0], [1, 2]), &device));
    let model = model.valid();
    let image: Vec<f32> = (0..64).map(|i| ((i * 37) % 64) as f32 / 64.0).collect();
    let x = Tensor::<4>::from_data(TensorData::new(image.clone(), [1, 1, 8, 8]), &device);
    let batch = crate::block_on(cam_batch(&model, x, 0, CamMethod::GradCam)).unwrap();
    let heat = heatmap(&batch.maps[0], 8, 8);
    let expected = Plane::new(8, 8, image).normalised();
    for (a, b) in heat.data.iter().zip(&expected.data) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
    // A tumour logit that falls as the image brightens has no positive evidence: all-zero map.
    let mut flipped = cfg.init(&device);
    flipped.head.weight = Param::from_tensor(Tensor::from_data(TensorData::new(vec![1.0f32, -1.0], [1, 2]), &device));
    let x = Tensor::<4>::ones([1, 1, 8, 8], &device);
    let batch = crate::block_on(cam_batch(&flipped.valid(), x, 0, CamMethod::GradCam)).unwrap();
    assert!(heatmap(&batch.maps[0], 16, 16).data.iter().all(|&v| v == 0.0));
}

/// The autodiff gradient of the tumour logit w.r.t. an early block's activations matches
/// central finite differences through the rest of the network.
#[test]
fn gradients_match_finite_differences() {
    let cfg = ClassifierConfig { input_size: 16, widths: vec![3, 4, 5], convs: vec![1, 2, 1], dropout: 0.0, ..Default::default() };
    let (model, device) = random_model(&cfg, 11);
    let x = Tensor::<4>::random([1, 1, 16, 16], Distribution::Uniform(0.0, 1.0), &device);
    let block = 0;
    let ev = evidence(&model, x, block);
    let dims = ev.activations.dims();
    let a = floats(ev.activations.clone());
    let g = floats(ev.gradients);
    let score = |values: Vec<f32>| -> f64 {
        let t = Tensor::<4>::from_data(TensorData::new(values, dims), &device);
        floats(model.forward_from(t, block))[TUMOUR] as f64
    };
    let eps = 1e-2f32;
    let mut checked = 0;
    for idx in (0..a.len()).step_by(37) {
        let (mut up, mut down) = (a.clone(), a.clone());
        up[idx] += eps;
        down[idx] -= eps;
        let fd = (score(up) - score(down)) / (2.0 * eps as f64);
        let tol = 2e-3 + 0.05 * fd.abs();
        assert!((fd - g[idx] as f64).abs() < tol, "index {idx}: finite difference {fd} vs autodiff {}", g[idx]);
        checked += 1;
    }
    assert!(checked > 15);
    // And the model really depends on these activations (not an all-zero gradient).
    assert!(g.iter().any(|v| v.abs() > 1e-4));
}

#[test]
fn every_method_gives_a_normalised_map_and_names_round_trip() {
    let cfg = ClassifierConfig { input_size: 16, widths: vec![4, 8], convs: vec![1, 1], dropout: 0.0, ..Default::default() };
    let (model, device) = random_model(&cfg, 5);
    let x = Tensor::<4>::random([2, 1, 16, 16], Distribution::Uniform(0.0, 1.0), &device);
    for method in CamMethod::FROM_BLOCKS {
        assert_eq!(CamMethod::parse(method.name()).unwrap(), method);
        let batch = crate::block_on(cam_batch(&model, x.clone(), 1, method)).unwrap();
        assert_eq!(batch.maps.len(), 2);
        assert!(batch.probs.iter().all(|p| (0.0..=1.0).contains(p)));
        let heat = heatmap(&batch.maps[0], 16, 16);
        assert!(heat.data.iter().all(|v| (0.0..=1.0).contains(v)));
    }
    assert!(CamMethod::parse("scorecam").is_err());
}

/// The shared pass that fusion uses gives exactly the maps of two separate passes.
#[test]
fn a_pair_of_blocks_from_one_pass_equals_two_passes() {
    let cfg = ClassifierConfig { input_size: 32, widths: vec![4, 8, 6], convs: vec![1, 2, 1], dropout: 0.0, ..Default::default() };
    let (model, device) = random_model(&cfg, 5);
    let x = Tensor::<4>::random([3, 1, 32, 32], Distribution::Uniform(0.0, 1.0), &device);
    for method in [CamMethod::GradCam, CamMethod::Fusion, CamMethod::LayerCam] {
        let (coarse, finer) = crate::block_on(cam_batch_pair(&model, x.clone(), 2, method)).unwrap();
        let one = crate::block_on(cam_batch(&model, x.clone(), 2, method)).unwrap();
        let two = crate::block_on(cam_batch(&model, x.clone(), 1, method)).unwrap();
        for (pair, single) in [(&coarse, &one), (&finer, &two)] {
            for (a, b) in pair.maps.iter().zip(&single.maps) {
                for (u, v) in a.data.iter().zip(&b.data) {
                    assert!((u - v).abs() <= 1e-5 * (1.0 + v.abs()), "{method:?}: {u} vs {v}");
                }
            }
            assert_eq!(pair.probs.len(), 3);
        }
        assert!(coarse.maps.iter().chain(&finer.maps).any(|m| m.data.iter().any(|&v| v > 0.0)), "{method:?} maps are all zero");
    }
}

/// Through the pipeline: the intensity rule's map does not depend on the classifier (two
/// different models give the same map, and the same p as a plain forward pass); multi-layer
/// LayerCAM's and its walk's do, and come back at each image's own size.
#[test]
fn the_intensity_rule_ignores_the_classifier_and_multi_layer_cam_and_its_walk_do_not() {
    use crate::data::InputSpec;
    use crate::pipeline::analyse;
    let cfg = ClassifierConfig { input_size: 32, widths: vec![4, 8, 6], convs: vec![1, 1, 1], dropout: 0.0, ..Default::default() };
    let ((a, device), (b, _)) = (random_model(&cfg, 5), random_model(&cfg, 6));
    let spec = InputSpec::new(32);
    let scan = crate::phantom::generate(&mut crate::phantom::rng_for(3, 0), 48, true);
    let images = [&scan.image, &scan.image.resize_bilinear(40, 40)];
    let run = |m, method| crate::block_on(analyse(m, &spec, &images, 2, method, &device)).unwrap();
    let (ia, ib) = (run(&a, CamMethod::Intensity), run(&b, CamMethod::Intensity));
    assert_eq!(ia[0].heatmap, ib[0].heatmap, "the intensity rule's map is the scan's alone");
    let plain = run(&a, CamMethod::GradCam);
    assert!((ia[0].probability - plain[0].probability).abs() < 1e-5, "p is the classifier's");
    let (la, lb) = (run(&a, CamMethod::LayerCamMulti), run(&b, CamMethod::LayerCamMulti));
    assert_ne!(la[0].heatmap, lb[0].heatmap, "multi-layer LayerCAM follows the classifier");
    assert_eq!((la[1].heatmap.width, la[1].heatmap.height), (40, 40));
    assert!(la.iter().chain(&ia).all(|r| r.heatmap.data.iter().all(|v| (0.0..=1.0).contains(v))));
    // The walk starts from multi-layer LayerCAM's map, on each model's own features: it
    // follows the classifier, and moves the map.
    let (wa, wb) = (run(&a, CamMethod::LayerCamWalk), run(&b, CamMethod::LayerCamWalk));
    assert_ne!(wa[0].heatmap, wb[0].heatmap, "the walk follows the classifier");
    assert_ne!(wa[0].heatmap, la[0].heatmap, "the walk changes its seed");
    assert_eq!(wa[0].probability, la[0].probability);
    assert_eq!((wa[1].heatmap.width, wa[1].heatmap.height), (40, 40));
    assert!(wa.iter().all(|r| r.heatmap.data.iter().all(|v| (0.0..=1.0).contains(v))));
    // The walk is the card's (`input.scan.walk`): longer, or on another block's features, it
    // draws another map.
    use crate::cam::walk::Walk;
    let with = |walk: Walk| {
        let spec = InputSpec { scan: crate::data::ScanSettings { walk, ..spec.scan }, ..spec.clone() };
        crate::block_on(analyse(&a, &spec, &images, 2, CamMethod::LayerCamWalk, &device)).unwrap().remove(0).heatmap
    };
    assert_eq!(with(Walk::CHOSEN), wa[0].heatmap, "a card that does not say walks as LGG's");
    assert_ne!(with(Walk { steps: 256, ..Walk::CHOSEN }), wa[0].heatmap);
    assert_ne!(with(Walk { feature_block: 0, ..Walk::CHOSEN }), wa[0].heatmap);
}

/// The teaching view's steps add up to the method's own heatmap, for every plain CAM, and
/// every composite method shows the plain CAM it starts from.
#[test]
fn the_steps_of_a_map_add_up_to_the_methods_heatmap() {
    use crate::data::{Channel, InputSpec, Normalisation, ScanSettings};
    let cfg = ClassifierConfig { input_size: 32, widths: vec![4, 8, 6], convs: vec![1, 1, 1], dropout: 0.0, ..Default::default() };
    let (model, device) = random_model(&cfg, 5);
    let spec = InputSpec { size: 32, channel: Channel::Luma, normalisation: Normalisation::MeanStd, scan: ScanSettings::default() };
    let image = crate::plane::Plane::new(40, 36, (0..40 * 36).map(|i| ((i * 37) % 101) as f32 / 100.0).collect());
    for method in [CamMethod::GradCam, CamMethod::GradCamPlusPlus, CamMethod::HiResCam, CamMethod::LayerCam] {
        for block in [1, 2] {
            let steps = crate::block_on(explain::explain(&model, &spec, &image, block, method, &device)).unwrap();
            let analysed = crate::block_on(crate::pipeline::analyse(&model, &spec, &[&image], block, method, &device)).unwrap().remove(0);
            let gap = steps.heatmap.data.iter().zip(&analysed.heatmap.data).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(gap < 1e-5, "{method} block {block}: the steps' heatmap is {gap} away from the method's");
            assert!((steps.probability - analysed.probability).abs() < 1e-6);
            assert_eq!(steps.channels, cfg.widths[block], "{method} block {block}");
            assert!(steps.parts.iter().all(|p| p.total != 0.0) && !steps.parts.is_empty());
        }
    }
    let fused = crate::block_on(explain::explain(&model, &spec, &image, 2, CamMethod::Fusion, &device)).unwrap();
    assert_eq!(fused.base, CamMethod::GradCamPlusPlus);
    let err = crate::block_on(explain::explain(&model, &spec, &image, 2, CamMethod::Intensity, &device)).unwrap_err();
    assert!(err.to_string().contains("no map from a block"), "{err}");
    let err = crate::block_on(explain::explain(&model, &spec, &image, 3, CamMethod::GradCam, &device)).unwrap_err();
    assert!(err.to_string().contains("3 conv blocks"), "{err}");
}

/// The plain path's gradients, taken back through the later blocks on plain slices (ReLU
/// masks, turned filters, the pooling's gradient), equal burn's autodiff through its own ops
/// at every block, with trained-looking batch norms.
#[test]
fn gradients_through_the_blocks_on_plain_slices_match_burns_autodiff() {
    let cfg = ClassifierConfig { input_size: 32, widths: vec![4, 8, 8, 12], convs: vec![1, 2, 1, 2], dropout: 0.0, ..Default::default() };
    let (mut model, device) = random_model(&cfg, 11);
    crate::model::trained_looking(&mut model, &device);
    let x = Tensor::<4>::random([2, 1, 32, 32], Distribution::Uniform(0.0, 1.0), &device);
    let plain = plain_evidence(&model, x.clone(), 0..=3).expect("the CPU outside autodiff takes the plain path");
    assert_eq!(plain.len(), 4);
    for (block, ev) in plain.into_iter().enumerate() {
        // An input under autodiff keeps every block on burn's ops.
        let reference = evidence(&model, x.clone().autodiff(), block);
        let (got, want) = (floats(ev.gradients), floats(reference.gradients.without_autodiff()));
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(scale > 0.0, "block {block}: no gradient reaches it");
        let worst = got.iter().zip(&want).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst <= 1e-4 * scale, "block {block}: gradients differ by {worst} (largest {scale})");
        let (a, b) = (floats(ev.activations), floats(reference.activations.without_autodiff()));
        assert!(a.iter().zip(&b).all(|(u, v)| (u - v).abs() <= 1e-4 * (1.0 + v.abs())), "block {block}: activations");
        assert_eq!(floats(ev.probs), floats(reference.probs));
    }
}
