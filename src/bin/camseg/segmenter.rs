//! `camseg train-segmenter`: a U-Net trained on true masks (the supervised ceiling) or on the
//! classifier's CAM pseudo-masks (weak supervision, no true mask read).

use crate::common::{bar, device, load_model, model_paths, CamArgs};
use burn::tensor::Device;
use camseg::card::files::write_atomically;
use camseg::data::{Dataset, InputSpec, Negatives, Record};
use camseg::masks::{Mask, Threshold};
use camseg::model::Classifier;
use camseg::plane::Plane;
use camseg::segmenter::{mean_dice, pseudo_labels, segment, weights_bytes, CamLabelRule, PseudoLabel, SegSample, SegTrainConfig, SegTrainer, SegTrainingInfo, SegmenterCard, SegmenterConfig};
use camseg::{block_on, Error, Result};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Dataset folder (images/, masks/, index.csv); trains on `train`, keeps the best `val` epoch.
    #[arg(long)]
    data: PathBuf,
    /// Output: NAME.bpk (weights) and NAME.json (segmenter card).
    #[arg(long)]
    out: PathBuf,
    /// Replace NAME.bpk and NAME.json if they exist.
    #[arg(long)]
    force: bool,
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value_t = 128)]
    input_size: usize,
    /// Channels of each U-Net level.
    #[arg(long, value_delimiter = ',', default_value = "16,32,64,128")]
    widths: Vec<usize>,
    /// Targets: `truth` (the true masks) or `cam` (the classifier's CAM of each tumour slice,
    /// cut at --threshold; empty for no-tumour slices; no true mask is read, for val either).
    #[arg(long, default_value = "truth")]
    labels: String,
    /// The classifier whose CAM makes the labels (weights .bpk or card .json; cam labels only).
    #[arg(long)]
    model: Option<PathBuf>,
    #[command(flatten)]
    cam: CamArgs,
    /// CAM labels only: leave out of the loss the pixels whose heatmap is at or above this
    /// value but below --threshold (the CAM's fringe: neither tumour nor background).
    #[arg(long)]
    unsure_from: Option<f32>,
    /// Rule for no-tumour slices: `all`, or `head-pN`.
    #[arg(long, default_value = "head-p5")]
    negatives: String,
    #[arg(long)]
    no_augment: bool,
    /// Name written in the card.
    #[arg(long)]
    name: Option<String>,
}

/// Where the training targets come from. The CAM variant holds a classifier and nothing that
/// can open a mask file: its targets are made from images and index labels only.
enum Labels {
    Truth,
    Cam { classifier: Box<Classifier>, spec: InputSpec, rule: CamLabelRule },
}

impl Labels {
    fn name(&self) -> String {
        match self {
            Labels::Truth => "truth".into(),
            Labels::Cam { rule, .. } => match rule.unsure_from {
                Some(from) => format!("cam:{}@{} unsure from {from}", rule.method, rule.threshold),
                None => format!("cam:{}@{}", rule.method, rule.threshold),
            },
        }
    }

    /// One label per record, at its image's size (truth labels have no unsure pixels).
    fn labels(&self, ds: &Dataset, records: &[Record], images: &[Plane], device: &Device) -> Result<Vec<PseudoLabel>> {
        match self {
            Labels::Truth => records
                .iter()
                .zip(images)
                .map(|(r, im)| Ok(PseudoLabel { mask: ds.load_mask(r, im.width, im.height)?, unsure: Mask::empty(im.width, im.height) }))
                .collect(),
            Labels::Cam { classifier, spec, rule } => {
                let tumour: Vec<bool> = records.iter().map(Record::is_tumour).collect();
                block_on(pseudo_labels(classifier, spec, &images.iter().collect::<Vec<_>>(), &tumour, *rule, device))
            }
        }
    }
}

/// Images of `records` and their targets, prepared for the segmenter, a chunk at a time (the
/// decoded images are dropped as they are prepared).
fn load_samples(ds: &Dataset, records: &[Record], spec: &InputSpec, labels: &Labels, what: &str, device: &Device) -> Result<Vec<SegSample>> {
    let progress = bar(records.len(), what);
    let mut samples = Vec::with_capacity(records.len());
    for chunk in records.chunks(64) {
        let images = chunk.iter().map(|r| ds.load_image(r, spec.channel)).collect::<Result<Vec<_>>>()?;
        let targets = labels.labels(ds, chunk, &images, device)?;
        samples.extend(images.iter().zip(&targets).map(|(im, t)| SegSample::from_pseudo(spec, im, t)));
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    Ok(samples)
}

pub fn run(args: Args) -> Result<()> {
    crate::common::check_budget(args.epochs, args.batch_size)?;
    let (weights, card_path) = model_paths(&args.out);
    if !args.force {
        if let Some(existing) = [&weights, &card_path].into_iter().find(|p| p.exists()) {
            return Err(Error::Invalid(format!("{} exists; pass --force to replace it, or choose another --out", existing.display())));
        }
    }
    let arch = SegmenterConfig { input_size: args.input_size, widths: args.widths.clone() };
    arch.validate()?;
    let negatives = Negatives::parse(&args.negatives)?;
    let device = device();
    device.seed(args.seed);
    let (labels, spec) = match args.labels.as_str() {
        "truth" => (Labels::Truth, InputSpec::new(args.input_size)),
        "cam" => {
            let path = args.model.as_ref().ok_or_else(|| Error::Invalid("--labels cam needs --model CLASSIFIER (whose CAM makes the labels)".into()))?;
            let (card, classifier) = load_model(path, &device)?;
            let cam = args.cam.resolve(&card, &classifier)?;
            // The segmenter reads the scan channel and normalisation the classifier reads.
            let spec = InputSpec { size: args.input_size, ..card.input.clone() };
            if let Some(from) = args.unsure_from {
                let below_cut = match cam.threshold {
                    Threshold::Fixed(t) => from < t,
                    Threshold::Otsu => true,
                };
                if !(0.0..1.0).contains(&from) || !below_cut {
                    return Err(Error::Invalid(format!("--unsure-from must lie in [0, 1) and below --threshold ({}), not {from}", cam.threshold)));
                }
            }
            let rule = CamLabelRule { method: cam.method, block: cam.block, threshold: cam.threshold, unsure_from: args.unsure_from };
            (Labels::Cam { classifier: Box::new(classifier), spec: card.input, rule }, spec)
        }
        other => return Err(Error::Invalid(format!("--labels must be `truth` or `cam`, not `{other}`"))),
    };
    if matches!(labels, Labels::Truth) && (args.model.is_some() || args.unsure_from.is_some()) {
        return Err(Error::Invalid("--model and --unsure-from are for --labels cam; truth labels need no classifier".into()));
    }
    if let Some(dir) = weights.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    }
    let started = Instant::now();
    let ds = Dataset::open(&args.data)?;
    let train_records = ds.select("train", negatives)?;
    // Val Dice is over tumour slices, against the same kind of labels as training.
    let val_records: Vec<Record> = ds.select("val", negatives)?.into_iter().filter(Record::is_tumour).collect();
    let train = load_samples(&ds, &train_records, &spec, &labels, "train labels", &device)?;
    let val_images = val_records.iter().map(|r| ds.load_image(r, spec.channel)).collect::<Result<Vec<_>>>()?;
    let val_masks: Vec<Mask> = labels.labels(&ds, &val_records, &val_images, &device)?.into_iter().map(|l| l.mask).collect();
    let val_refs: Vec<&Plane> = val_images.iter().collect();
    eprintln!(
        "labels {}; train {} images ({} tumour), val {} tumour slices; {:.0} M multiply-adds per image; prepared in {:.0} s",
        labels.name(),
        train.len(),
        train_records.iter().filter(|r| r.is_tumour()).count(),
        val_records.len(),
        arch.macs() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let config = SegTrainConfig { epochs: args.epochs, batch_size: args.batch_size, learning_rate: args.lr, seed: args.seed, augment: !args.no_augment };
    let mut trainer = SegTrainer::new(arch.init(&device), config, args.input_size, train.len(), &device);
    let progress = bar(trainer.total_steps(), "training");
    let (mut best, mut best_dice, mut best_epoch) = (trainer.model(), f64::NEG_INFINITY, 0);
    let (mut train_loss, mut val_dice) = (Vec::new(), Vec::new());
    let (mut loss_sum, mut train_seconds, mut epoch_started) = (0.0, 0.0, Instant::now());
    while let Some(p) = block_on(trainer.step(&train))? {
        progress.inc(1);
        loss_sum += p.loss as f64;
        progress.set_prefix(format!("epoch {}/{} loss {:.4}", p.epoch + 1, args.epochs, p.loss));
        if p.epoch_end {
            let seconds = epoch_started.elapsed().as_secs_f64();
            train_seconds += seconds;
            let model = trainer.model();
            let dice = mean_dice(&block_on(segment(&model, &spec, &val_refs, &device))?, &val_masks);
            train_loss.push(loss_sum / trainer.steps_per_epoch() as f64);
            val_dice.push(dice);
            let line = format!(
                "epoch {:>3}: train loss {:.4}  val Dice {dice:.4}  ({:.0} s training, {:.1} images/s; {:.0} s in all)",
                p.epoch + 1,
                train_loss[p.epoch],
                seconds,
                train.len() as f64 / seconds,
                started.elapsed().as_secs_f64()
            );
            if progress.is_hidden() { eprintln!("{line}") } else { progress.println(line) }
            // `>=`: on ties the later epoch wins.
            if dice >= best_dice {
                (best, best_dice, best_epoch) = (model, dice, p.epoch + 1);
            }
            loss_sum = 0.0;
            epoch_started = Instant::now();
        }
    }
    progress.finish_and_clear();

    let name = args.name.clone().unwrap_or_else(|| args.out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
    let mut card = SegmenterCard::new(&name, arch.clone(), spec, &labels.name());
    let (classifier, cam_block) = match (&labels, &args.model) {
        (Labels::Cam { rule, .. }, Some(path)) => (Some(path.display().to_string()), Some(rule.block)),
        _ => (None, None),
    };
    card.training = SegTrainingInfo {
        command: std::env::args().map(|a| if a.contains(' ') { format!("'{a}'") } else { a }).collect::<Vec<_>>().join(" "),
        data: args.data.display().to_string(),
        seed: args.seed,
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.lr,
        train_images: train.len(),
        negatives: negatives.name(),
        classifier,
        cam_block,
        best_epoch,
        seconds: started.elapsed().as_secs_f64(),
        train_loss,
        val_dice,
    };
    let bytes = block_on(weights_bytes(&best, &arch))?;
    SegmenterCard::from_json(&card.to_json())?;
    write_atomically(&weights, &bytes)?;
    write_atomically(&card_path, card.to_json().as_bytes())?;
    println!(
        "wrote {} ({} KB) and {}: labels {}, best epoch {best_epoch} val Dice {best_dice:.4}, {:.1} train images/s, {:.0} s",
        weights.display(),
        bytes.len() / 1024,
        card_path.display(),
        card.labels,
        train.len() as f64 * args.epochs as f64 / train_seconds,
        card.training.seconds
    );
    Ok(())
}
