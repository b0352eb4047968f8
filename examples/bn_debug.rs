use burn::tensor::Device;
use camseg::data::InputSpec;
use camseg::model::ClassifierConfig;
use camseg::phantom::{generate, rng_for};
use camseg::train::{predict, Sample, TrainConfig, Trainer};
fn main() {
    let device = Device::flex();
    device.seed(7);
    let arch = ClassifierConfig { input_size: 64, widths: vec![8, 16, 32], convs: vec![1, 1, 1], dropout: 0.1 };
    let spec = InputSpec::new(64);
    let samples: Vec<Sample> = (0..320).map(|i| Sample { input: spec.prepare(&generate(&mut rng_for(100, i), 64, i % 2 == 1).image), label: i % 2 == 1 }).collect();
    let mut t = Trainer::new(arch.init(&device), spec.clone(), TrainConfig { epochs: std::env::var("E").unwrap().parse().unwrap(), batch_size: 16, learning_rate: std::env::var("LR").unwrap().parse().unwrap(), seed: 7, ..TrainConfig::default() }, 320, &device);
    while let Some(p) = camseg::block_on(t.step(&samples)).unwrap() {
        if p.epoch_end {
            let m = t.model();
            let inputs: Vec<_> = samples.iter().map(|s| &s.input).collect();
            let probs = camseg::block_on(predict(&m, &spec, &inputs, 64, &device)).unwrap();
            let pos: Vec<f32> = probs.iter().zip(&samples).filter(|(_, s)| s.label).map(|(p, _)| *p).collect();
            let neg: Vec<f32> = probs.iter().zip(&samples).filter(|(_, s)| !s.label).map(|(p, _)| *p).collect();
            let sens = pos.iter().filter(|&&p| p >= 0.5).count() as f32 / pos.len() as f32;
            let spec_ = neg.iter().filter(|&&p| p < 0.5).count() as f32 / neg.len() as f32;
            println!("epoch {} loss {:.3} batch acc {:.2} | eval-mode train sens {sens:.3} spec {spec_:.3} min pos {:.3} max neg {:.3}", p.epoch, p.loss, p.batch_accuracy, pos.iter().cloned().fold(1.0, f32::min), neg.iter().cloned().fold(0.0, f32::max));
        }
    }
}
