use burn::module::Module;
use burn::tensor::Device;
use camseg::data::InputSpec;
use camseg::model::ClassifierConfig;
use camseg::phantom::{generate, rng_for};
use camseg::train::{Sample, TrainConfig, Trainer};
fn main() {
    let device = Device::flex();
    let arch = ClassifierConfig { input_size: 64, widths: vec![8, 16, 32], convs: vec![1, 1, 1], dropout: 0.0 };
    let spec = InputSpec::new(64);
    let samples: Vec<Sample> = (0..64).map(|i| Sample { input: spec.prepare(&generate(&mut rng_for(100, i), 64, i % 2 == 1).image), label: i % 2 == 1 }).collect();
    let m0 = arch.init(&device);
    let w0 = m0.features[0].convs[0].weight.val().into_data().to_vec::<f32>().unwrap();
    let h0 = m0.head.weight.val().into_data().to_vec::<f32>().unwrap();
    let mut t = Trainer::new(m0, spec, TrainConfig { epochs: 1, batch_size: 16, ..TrainConfig::default() }, 64, &device);
    while let Some(_) = camseg::block_on(t.step(&samples)).unwrap() {}
    let m = t.model();
    let w1 = m.features[0].convs[0].weight.val().into_data().to_vec::<f32>().unwrap();
    let h1 = m.head.weight.val().into_data().to_vec::<f32>().unwrap();
    let d = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    println!("conv0 change {} head change {} n_params {}", d(&w0, &w1), d(&h0, &h1), m.num_params());
}
