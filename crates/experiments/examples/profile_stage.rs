//! One stage of `camseg bench` in a loop, for a profiler to watch (what `docs/benchmarks.md`'s
//! profiles ran):
//!
//!   cargo build --release --example profile_stage
//!   RAYON_NUM_THREADS=1 perf record -F 999 -- target/release/examples/profile_stage forward 1 8
//!
//! Stages: `forward`, `gradcam` (Grad-CAM at the last block), `trust` (every check of the
//! Trust panel on one image at a time, the card's default method) or `train` (Adam steps); then the
//! batch size and the seconds to run. Prints images per second. The shipped LGG model on
//! phantom slices, with the CLI's allocator.
use camseg::cam::CamMethod;
use camseg::phantom::{generate, rng_for};
use camseg::pipeline::analyse;
use camseg::plane::Plane;
use camseg::train::{predict, Sample, TrainConfig, Trainer};
use camseg::{block_on, Error, Result};
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || Error::Invalid("usage: profile_stage forward|gradcam|trust|train BATCH SECONDS".into());
    let [stage, batch, seconds] = <[String; 3]>::try_from(args).map_err(|_| usage())?;
    let (batch, seconds): (usize, f64) = (batch.parse().map_err(|_| usage())?, seconds.parse().map_err(|_| usage())?);
    let device = burn::tensor::Device::flex();
    let (card, model) = camseg::card::files::load(std::path::Path::new("static/models/lgg"), &device)?;
    let spec = &card.input;
    let last = card.architecture.blocks() - 1;
    let phantoms: Vec<Plane> = (0..32).map(|k| generate(&mut rng_for(7, k), spec.size, k % 2 == 1).image).collect();
    let images: Vec<&Plane> = phantoms.iter().cycle().take(batch).collect();
    let samples: Vec<Sample> = phantoms.iter().enumerate().map(|(k, p)| Sample { input: spec.prepare(p), label: k % 2 == 1 }).collect();
    let config = TrainConfig { epochs: 1_000_000, batch_size: batch, augment: false, ..TrainConfig::default() };
    let mut trainer = Trainer::new(model.clone(), spec.clone(), config, samples.len(), &device);
    let start = Instant::now();
    let mut calls = 0;
    while start.elapsed().as_secs_f64() < seconds {
        match stage.as_str() {
            "forward" => drop(block_on(predict(&model, spec, &images, batch, &device))?),
            "gradcam" => drop(block_on(analyse(&model, spec, &images, last, CamMethod::GradCam, &device))?),
            "trust" => {
                for (k, image) in images.iter().enumerate() {
                    drop(block_on(camseg::trust::check_image(&model, &card, image, None, card.cam.method, card.cam.block, k as u64, &device))?);
                }
            }
            "train" => drop(block_on(trainer.step(&samples))?),
            _ => return Err(usage()),
        }
        calls += 1;
    }
    println!("{:.1} images/s", (calls * batch) as f64 / start.elapsed().as_secs_f64());
    Ok(())
}
