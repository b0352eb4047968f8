//! Memory over repeated training runs (issue 12): 20 runs of the trainer (the loop behind
//! `camseg train` and the page's fine-tune) under a counting allocator. What is still allocated
//! after each run (model and optimiser dropped) must stop growing after run 3: a leak per run
//! would exhaust a page that fine-tunes again and again.

use camseg::prelude::*;
use burn::tensor::Device;
use camseg::block_on;
use camseg::data::InputSpec;
use camseg::model::ClassifierConfig;
use camseg::phantom::{generate, rng_for};
use camseg::train::{train, Sample, TrainConfig};
use std::ops::ControlFlow;

#[path = "support/counting.rs"]
mod counting;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

#[test]
fn twenty_training_runs_leave_no_growing_memory() {
    const SIZE: usize = 32;
    let device = Device::flex();
    let arch = ClassifierConfig { input_size: SIZE, widths: vec![8, 16, 16], convs: vec![1, 1, 1], dropout: 0.1, ..Default::default() };
    let spec = InputSpec::new(SIZE);
    let samples: Vec<Sample> = (0..48)
        .map(|i| {
            let p = generate(&mut rng_for(5, i), SIZE, i % 2 == 1);
            Sample { input: spec.prepare(&p.image), label: p.has_tumour() }
        })
        .collect();
    let config = TrainConfig { epochs: 2, batch_size: 16, learning_rate: 3e-3, seed: 3, ..TrainConfig::default() };
    let mut live = Vec::new();
    for run in 0..20 {
        let (model, cancelled) = block_on(train(arch.init(&device), &spec, &config, &samples, &device, |p| {
            assert!(p.loss.is_finite());
            ControlFlow::Continue(())
        }))
        .unwrap();
        assert!(!cancelled);
        // The kept result leaves as bytes, as the page's fine-tune sends it.
        let bytes = block_on(camseg::card::weights_bytes(&model, &arch)).unwrap();
        assert!(!bytes.is_empty());
        drop((model, bytes));
        live.push(counting::live());
        eprintln!("run {:>2}: {:.2} MB still allocated", run + 1, live[run] as f64 / 1e6);
    }
    let growth = live[19] as f64 - live[2] as f64;
    eprintln!("after run 3: {:.2} MB; after run 20: {:.2} MB; growth {:.3} MB", live[2] as f64 / 1e6, live[19] as f64 / 1e6, growth / 1e6);
    assert!(growth < 1e6, "memory still held grew by {:.2} MB from run 3 to run 20", growth / 1e6);
}
