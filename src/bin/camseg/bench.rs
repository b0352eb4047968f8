//! `camseg bench`: images per second of each stage of the pipeline on the chosen device, as one
//! JSON object whose keys the PyTorch script prints too (`scripts/bench/`), so the two can be
//! set side by side. Each figure is timed for `--seconds` after a warm-up; every timed call
//! reads its result back to the host, so queued GPU work is counted.

use crate::common::{bar, device, device_name, load_model};
use crate::eval::score_records;
use camseg::cam::CamMethod;
use camseg::data::{Dataset, Negatives};
use camseg::phantom::{generate, rng_for};
use camseg::pipeline::analyse;
use camseg::plane::Plane;
use camseg::train::{predict, Sample, TrainConfig, Trainer};
use camseg::{block_on, Error, Result};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Model weights (.bpk) or card (.json).
    #[arg(long)]
    model: PathBuf,
    /// A dataset folder for `eval_img_s` (default: 128 phantom slices of 256 px, written to a
    /// temporary folder).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Seconds each figure is timed for, after a warm-up.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// The figures, in images per second; the keys are shared with the PyTorch script.
#[derive(Serialize)]
struct Figures {
    device: String,
    threads: usize,
    macs_per_image: u64,
    forward_b1_img_s: f64,
    forward_b16_img_s: f64,
    /// Grad-CAM at the last block, from image to heatmap at the image's size.
    gradcam_b1_img_s: f64,
    gradcam_b16_img_s: f64,
    fusion_b1_img_s: f64,
    /// Adam steps in train mode, batches of 32, no augmentation, the loss read every step.
    train_b32_img_s: f64,
    /// The same on burn's autodiff, where the CPU trains on plain slices (null on a GPU, which
    /// always takes burn's autodiff).
    train_b32_autodiff_img_s: Option<f64>,
    /// The same with the loss read every 50 steps (as `train` reads once an epoch), and with
    /// batches of 128: what a GPU gains when the host does not wait on it at every step. On a
    /// GPU only (null on the CPU, where a read costs nothing and 250 steps take minutes).
    train_b32_read50_img_s: Option<f64>,
    train_b128_read50_img_s: Option<f64>,
    /// `eval` end to end over a folder: decoding, the card's CAM, scoring.
    eval_img_s: f64,
    /// Achieved GFLOP/s of the batch-16 forward pass (2 FLOP per MAC).
    forward_b16_gflop_s: f64,
}

/// Images per second of `run` (which handles `batch` images), timed for `seconds` after two
/// warm-up calls, over at least three calls.
fn rate(batch: usize, seconds: f64, mut run: impl FnMut() -> Result<()>) -> Result<f64> {
    run()?;
    run()?;
    let start = Instant::now();
    let mut calls = 0;
    while calls < 3 || start.elapsed().as_secs_f64() < seconds {
        run()?;
        calls += 1;
    }
    Ok((batch * calls) as f64 / start.elapsed().as_secs_f64())
}

pub fn run(args: Args) -> Result<()> {
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        return Err(Error::Invalid(format!("--seconds {}: expected a number of seconds in (0, 600]", args.seconds)));
    }
    let device = device();
    let (card, model) = load_model(&args.model, &device)?;
    let spec = &card.input;
    let size = spec.size;
    let phantoms: Vec<Plane> = (0..32).map(|k| generate(&mut rng_for(7, k), size, k % 2 == 1).image).collect();
    let images = |n: usize| phantoms.iter().cycle().take(n).collect::<Vec<_>>();
    let last = card.architecture.blocks() - 1;
    let s = args.seconds;
    let steps = bar(10, "bench");

    let forward = |n: usize| rate(n, s, || block_on(predict(&model, spec, &images(n), n, &device)).map(|_| ()));
    let cam = |n: usize, method: CamMethod| rate(n, s, || block_on(analyse(&model, spec, &images(n), last, method, &device)).map(|_| ()));
    let forward_b1_img_s = forward(1)?;
    steps.inc(1);
    let forward_b16_img_s = forward(16)?;
    steps.inc(1);
    let gradcam_b1_img_s = cam(1, CamMethod::GradCam)?;
    steps.inc(1);
    let gradcam_b16_img_s = cam(16, CamMethod::GradCam)?;
    steps.inc(1);
    let fusion_b1_img_s = cam(1, CamMethod::Fusion)?;
    steps.inc(1);

    let samples: Vec<Sample> = phantoms.iter().cycle().take(128).enumerate().map(|(k, p)| Sample { input: spec.prepare(p), label: k % 2 == 1 }).collect();
    let train_rate = |batch_size: usize, read_every: usize, autodiff: bool| {
        let config = TrainConfig { epochs: 1_000_000, batch_size, augment: false, read_every, ..TrainConfig::default() };
        let start = if autodiff { Trainer::on_autodiff } else { Trainer::new };
        let mut trainer = start(model.clone(), spec.clone(), config, samples.len(), &device);
        // Timed in runs of `read_every` steps, each ending with its read, so that no queued
        // device work escapes the clock.
        let figure = rate(batch_size * read_every, s, || {
            for _ in 0..read_every {
                block_on(trainer.step(&samples))?;
            }
            Ok(())
        });
        steps.inc(1);
        figure
    };
    let train_b32_img_s = train_rate(32, 1, false)?;
    let gpu = device_name() != "cpu";
    let train_b32_autodiff_img_s = if gpu { None } else { Some(train_rate(32, 1, true)?) };
    let train_b32_read50_img_s = if gpu { Some(train_rate(32, 50, false)?) } else { None };
    let train_b128_read50_img_s = if gpu { Some(train_rate(128, 50, false)?) } else { None };

    let temp;
    let folder = match &args.data {
        Some(path) => path.clone(),
        None => {
            temp = std::env::temp_dir().join(format!("camseg-bench-{}", std::process::id()));
            camseg::phantom::write_dataset(&temp, 128, 256, 3, |_| {})?;
            temp.clone()
        }
    };
    let ds = Dataset::open(&folder)?;
    let records = ds.select("all", Negatives::All)?;
    let (method, block) = (card.cam.method, card.cam.block);
    let started = Instant::now();
    let scored = score_records(&model, spec, &ds, &records, method, block, card.cam.threshold, 16, &device)?;
    let eval_img_s = scored.len() as f64 / started.elapsed().as_secs_f64();
    if args.data.is_none() {
        let _ = std::fs::remove_dir_all(&folder);
    }
    steps.finish_and_clear();

    let macs_per_image = card.architecture.macs();
    let figures = Figures {
        device: device_name(),
        // The CPU backend's thread pool: RAYON_NUM_THREADS when set, else every core.
        threads: std::env::var("RAYON_NUM_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)),
        macs_per_image,
        forward_b1_img_s,
        forward_b16_img_s,
        gradcam_b1_img_s,
        gradcam_b16_img_s,
        fusion_b1_img_s,
        train_b32_img_s,
        train_b32_autodiff_img_s,
        train_b32_read50_img_s,
        train_b128_read50_img_s,
        eval_img_s,
        forward_b16_gflop_s: forward_b16_img_s * macs_per_image as f64 * 2.0 / 1e9,
    };
    if args.json {
        println!("{}", serde_json::to_string(&figures).expect("figures serialise"));
    } else {
        println!("device {} ({} threads), {} MACs per image", figures.device, figures.threads, figures.macs_per_image);
        for (name, v) in [
            ("forward, batch 1", figures.forward_b1_img_s),
            ("forward, batch 16", figures.forward_b16_img_s),
            ("Grad-CAM, batch 1", figures.gradcam_b1_img_s),
            ("Grad-CAM, batch 16", figures.gradcam_b16_img_s),
            ("fusion, batch 1", figures.fusion_b1_img_s),
            ("training, batch 32", figures.train_b32_img_s),
            ("eval end to end", figures.eval_img_s),
        ] {
            println!("{name:>20}: {v:>9.1} images/s");
        }
        for (name, v) in [("training, b32, autodiff", figures.train_b32_autodiff_img_s), ("training, b32, read/50", figures.train_b32_read50_img_s), ("training, b128, read/50", figures.train_b128_read50_img_s)] {
            if let Some(v) = v {
                println!("{name:>20}: {v:>9.1} images/s");
            }
        }
        println!("forward batch 16 achieves {:.1} GFLOP/s", figures.forward_b16_gflop_s);
    }
    Ok(())
}
