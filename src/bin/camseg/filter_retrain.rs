use camseg::prelude::*;
use crate::common::{DataModelArgs, bar, device, load_model, CamArgs};
use burn::tensor::Device;
use camseg::card::{CamDefaults, ModelCard};
use camseg::data::{encode_png_gray, Dataset, Negatives, Record};
use camseg::filters::Filter;
use camseg::masks::Mask;
use camseg::metrics::{roc_auc, Confusion};
use camseg::model::{Classifier, ClassifierConfig};
use camseg::pipeline::analyse;
use camseg::plane::Plane;
use camseg::train::{predict, train, Sample, TrainConfig};
use camseg::{block_on, Error, Result};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: DataModelArgs,
    #[arg(long, default_value = "train")]
    train_split: String,
    #[arg(long, default_value = "test")]
    test_split: String,
    /// Filters to test (default: all five); the unfiltered original is always trained too.
    /// `none` trains the original alone, to size the budget.
    #[arg(long, value_delimiter = ',')]
    filters: Vec<String>,
    /// Training budget of every retrained classifier, the same for all.
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Random contrast augmentation of every retrained classifier, as `train --contrast`
    /// (the shipped LGG model used 1.4; 1 = off).
    #[arg(long, default_value_t = 1.0)]
    contrast: f32,
    /// Input side of the retrained classifiers (smaller = faster; the architecture is the model's).
    #[arg(long)]
    input_size: Option<usize>,
    /// Batch norm's momentum of every retrained classifier (default burn's 0.1: they start from
    /// random weights).
    #[arg(long)]
    norm_momentum: Option<f64>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Train every classifier this many times (seeds seed, seed+1, ...) and report the mean
    /// and the range: one run's AUC moves by a few hundredths with the seed alone.
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// Also write a few filtered test images per filter here, to look at.
    #[arg(long)]
    save: Option<PathBuf>,
    #[command(flatten)]
    cam: CamArgs,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

/// Images of a split with their heatmap masks (from the model under test) and labels.
struct Masked {
    images: Vec<Plane>,
    masks: Vec<Mask>,
    labels: Vec<bool>,
}

fn heatmap_masks(model: &Classifier, card: &ModelCard, cam: &CamDefaults, ds: &Dataset, records: &[Record], device: &Device, what: &str) -> Result<Masked> {
    let progress = bar(records.len(), what);
    let mut out = Masked { images: Vec::new(), masks: Vec::new(), labels: Vec::new() };
    for chunk in records.chunks(16) {
        let images = chunk.iter().map(|r| ds.load_image(r, card.input.channel)).collect::<Result<Vec<_>>>()?;
        let analyses = block_on(analyse(model, &card.input, &images.iter().collect::<Vec<_>>(), cam.block, cam.method, device))?;
        for ((r, image), a) in chunk.iter().zip(images).zip(analyses) {
            out.masks.push(a.mask(cam.threshold));
            out.images.push(image);
            out.labels.push(r.is_tumour());
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    Ok(out)
}

fn filtered(set: &Masked, filter: Option<Filter>, seed: u64, field_of_view_level: f32) -> Vec<Plane> {
    set.images
        .iter()
        .zip(&set.masks)
        .enumerate()
        .map(|(i, (im, m))| match filter {
            Some(f) => f.apply(im, m, seed.wrapping_add(i as u64), field_of_view_level),
            None => im.clone(),
        })
        .collect()
}

/// Trains a fresh classifier on filtered train images, scores it on filtered test images.
/// Each filtered image is normalised as its unfiltered scan is (see `InputSpec::prepare_like`).
fn retrain(arch: &ClassifierConfig, norm_momentum: Option<f64>, card: &ModelCard, config: &TrainConfig, train_set: (&[Plane], &Masked), test: (&[Plane], &Masked), device: &Device, what: &str) -> Result<(f64, f64)> {
    let mut spec = card.input.clone();
    spec.size = arch.input_size;
    // The scans' annotations were filled before filtering (see `run`); a mask-only image is no
    // scan, and must not be "filled".
    spec.scan.fill_annotations = false;
    let prepare = |filtered: &[Plane], set: &Masked| filtered.iter().zip(&set.images).map(|(f, im)| spec.prepare_like(f, im)).collect::<Vec<_>>();
    let samples: Vec<Sample> = prepare(train_set.0, train_set.1).into_iter().zip(&train_set.1.labels).map(|(input, &label)| Sample { input, label }).collect();
    let test_labels = &test.1.labels;
    device.seed(config.seed);
    let progress = bar(config.epochs * samples.len().div_ceil(config.batch_size), what);
    let fresh = arch.init(device);
    let fresh = match norm_momentum {
        Some(m) => fresh.with_norm_momentum(m),
        None => fresh,
    };
    let (model, _) = block_on(train(fresh, &spec, config, &samples, device, |p| {
        progress.set_position(p.step as u64);
        ControlFlow::Continue(())
    }))?;
    progress.finish_and_clear();
    let inputs = prepare(test.0, test.1);
    let probs = block_on(predict(&model, &spec, &inputs.iter().collect::<Vec<_>>(), 64, device))?;
    Ok((Confusion::from_probs(&probs, test_labels, camseg::evaluate::GATE).accuracy(), roc_auc(&probs, test_labels)))
}

/// The paper's test of a heatmap (and ROAR's): retrain from scratch on images filtered by
/// their own heatmap masks, and on images filtered by random masks of the same area.
pub fn run(args: Args) -> Result<()> {
    crate::common::check_budget(args.epochs, args.batch_size)?;
    crate::common::check_contrast(args.contrast, true)?;
    args.norm_momentum.map(crate::common::check_norm_momentum).transpose()?;
    let started = Instant::now();
    let device = device();
    let (card, model) = load_model(&args.input.model, &device)?;
    let cam = args.cam.resolve(&card, &model)?;
    let filters: Vec<Filter> = if args.filters.is_empty() {
        Filter::ALL.to_vec()
    } else if args.filters == ["none"] {
        Vec::new()
    } else {
        args.filters.iter().map(|f| Filter::parse(f).ok_or_else(|| Error::Invalid(format!("unknown filter `{f}`; choose from keep-hot, remove-hot, keep-random, remove-random, mask-only, or none alone")))).collect::<Result<_>>()?
    };
    let negatives = Negatives::parse(&card.training.negatives)?;
    let ds = Dataset::open_for(&args.input.data, &card)?;
    let train_set = heatmap_masks(&model, &card, &cam, &ds, &ds.select(&args.train_split, negatives)?, &device, "train CAMs")?;
    let test_set = heatmap_masks(&model, &card, &cam, &ds, &ds.select(&args.test_split, negatives)?, &device, "test CAMs")?;
    // A card that fills burnt-in annotations has its scans filled before they are filtered, as
    // the model saw them; the retrained classifiers then see no annotation either.
    let (train_set, test_set) = if card.input.scan.fill_annotations {
        let fill = |set: Masked| Masked { images: set.images.iter().map(camseg::data::scan::annotations_filled).collect(), ..set };
        (fill(train_set), fill(test_set))
    } else {
        (train_set, test_set)
    };
    let mut arch = card.architecture.clone();
    arch.input_size = args.input_size.unwrap_or(arch.input_size);
    arch.validate()?;
    if args.seeds == 0 {
        return Err(Error::Invalid("--seeds must be at least 1".into()));
    }
    let area = |m: &[Mask]| m.iter().map(|m| m.area() as f64 / (m.width * m.height) as f64).sum::<f64>() / m.len().max(1) as f64;
    if !args.json {
        println!(
            "{} {} block {} threshold {}: heatmap masks cover {:.1}% of train and {:.1}% of test images on average",
            card.name, cam.method, cam.block, cam.threshold, 100.0 * area(&train_set.masks), 100.0 * area(&test_set.masks)
        );
        println!("retrained from scratch for {} epochs at {} px (contrast {}), seeds {}..{}\n", args.epochs, arch.input_size, args.contrast, args.seed, args.seed + args.seeds - 1);
        println!("| training and test images | test accuracy (mean, min-max) | test AUC (mean, min-max) |\n|---|---|---|");
    }
    for filter in std::iter::once(None).chain(filters.into_iter().map(Some)) {
        let name = filter.map(|f| f.name()).unwrap_or("original");
        let level = card.input.scan.field_of_view_level;
        let tr = filtered(&train_set, filter, args.seed, level);
        let te = filtered(&test_set, filter, args.seed ^ 0x5EED, level);
        if let Some(dir) = &args.save {
            let dir = dir.join(name);
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
            for (i, im) in te.iter().enumerate().filter(|(i, _)| test_set.labels[*i]).take(8) {
                let path = dir.join(format!("test_{i:04}.png"));
                std::fs::write(&path, encode_png_gray(im)).map_err(|e| Error::io(path.display(), e))?;
            }
        }
        let mut runs = Vec::new();
        for seed in args.seed..args.seed + args.seeds {
            let config = TrainConfig { epochs: args.epochs, batch_size: args.batch_size, seed, contrast: args.contrast, ..TrainConfig::default() };
            let (acc, auc) = retrain(&arch, args.norm_momentum, &card, &config, (&tr, &train_set), (&te, &test_set), &device, &format!("{name} seed {seed}"))?;
            if args.json {
                println!("{}", serde_json::json!({"filter": name, "seed": seed, "test_accuracy": acc, "test_auc": auc, "epochs": args.epochs, "contrast": args.contrast, "input_size": arch.input_size, "method": cam.method.name(), "block": cam.block, "threshold": cam.threshold.to_string()}));
            }
            runs.push((acc, auc));
        }
        if !args.json {
            let stat = |f: fn(&(f64, f64)) -> f64| {
                let v: Vec<f64> = runs.iter().map(f).collect();
                (v.iter().sum::<f64>() / v.len() as f64, v.iter().copied().fold(f64::INFINITY, f64::min), v.iter().copied().fold(f64::NEG_INFINITY, f64::max))
            };
            let ((am, alo, ahi), (um, ulo, uhi)) = (stat(|r| r.0), stat(|r| r.1));
            println!("| {name} | {am:.4} ({alo:.3}-{ahi:.3}) | {um:.4} ({ulo:.3}-{uhi:.3}) |");
        }
    }
    eprintln!("done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}
