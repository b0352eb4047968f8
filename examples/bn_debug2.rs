use burn::tensor::{activation::softmax, Device};
use camseg::data::InputSpec;
use camseg::model::ClassifierConfig;
use camseg::phantom::{generate, rng_for};
use camseg::train::{Sample, TrainConfig, Trainer};
fn main() {
    let device = Device::flex();
    device.seed(7);
    let arch = ClassifierConfig { input_size: 64, widths: vec![8, 16, 32], convs: vec![1, 1, 1], dropout: 0.0 };
    let spec = InputSpec::new(64);
    let samples: Vec<Sample> = (0..320).map(|i| Sample { input: spec.prepare(&generate(&mut rng_for(100, i), 64, i % 2 == 1).image), label: i % 2 == 1 }).collect();
    let mut t = Trainer::new(arch.init(&device), spec.clone(), TrainConfig { epochs: 8, batch_size: 16, learning_rate: 5e-3, seed: 7, augment: false, ..TrainConfig::default() }, 320, &device);
    while let Some(_) = camseg::block_on(t.step(&samples)).unwrap() {}
    let inputs: Vec<_> = samples[..32].iter().map(|s| &s.input).collect();
    let tm = t.training_model();
    let ad = device.clone().autodiff();
    let p_train = softmax(tm.forward(spec.batch(&inputs, &ad)), 1).without_autodiff().into_data().to_vec::<f32>().unwrap();
    let em = t.model();
    let p_eval = softmax(em.forward(spec.batch(&inputs, &device)), 1).into_data().to_vec::<f32>().unwrap();
    for i in 0..8 { println!("label {} train-mode {:.3} eval-mode {:.3}", samples[i].label, p_train[2*i+1], p_eval[2*i+1]); }
    let n = &em.features[2].norms[0];
    println!("rm {:?}", n.running_mean.value().into_data().to_vec::<f32>().unwrap());
    println!("rv {:?}", n.running_var.value().into_data().to_vec::<f32>().unwrap());
    let act = em.features[2].convs[0].forward(em.pool.forward(em.activations(spec.batch(&inputs, &device), 1)));
    let m = act.clone().mean_dim(3).mean_dim(2).mean_dim(0);
    println!("bm {:?}", m.into_data().to_vec::<f32>().unwrap());
}
