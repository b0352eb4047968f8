use camseg::prelude::*;
use crate::common::{bar, device, load_images, load_model, model_paths};
use crate::choose::{choose_cam, report};
use camseg::cam::walk::Walk;
use camseg::card::{ModelCard, TrainingInfo};
use camseg::card::LabelsInfo;
use camseg::data::labelled::{LabelOptions, Layout};
use camseg::data::{Dataset, InputSpec, Negatives, Normalisation, Polarity, Record, ScanSettings};
use camseg::metrics::{balanced_gate, roc_auc, Confusion};
use camseg::model::{Classifier, ClassifierConfig};
use camseg::train::{predict, Sample, TrainConfig, Trainer};
use camseg::{block_on, Error, Result};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Dataset folder: class folders (`tumour/`, `normal/`, optionally under `train/` and
    /// `val/`), a labels CSV (`file,label[,group]`), or this project's `index.csv` layout.
    #[arg(long)]
    data: PathBuf,
    /// The positive (lesion) class or classes, comma-separated (default: the class named
    /// tumour, lesion, abnormal, positive, yes or 1).
    #[arg(long, value_delimiter = ',')]
    positive: Vec<String>,
    /// Share held out as val where the data gives no split: by group (a CSV's group column),
    /// otherwise by file.
    #[arg(long, default_value_t = 0.2)]
    val_share: f64,
    #[arg(long, default_value = "train")]
    split: String,
    /// Split used to pick the best epoch and the CAM method and threshold.
    #[arg(long, default_value = "val")]
    val_split: String,
    /// Split scored at the end and recorded in the card (e.g. `test`).
    #[arg(long)]
    report_split: Option<String>,
    /// Output: NAME.bpk (weights) and NAME.json (card).
    #[arg(long)]
    out: PathBuf,
    /// Replace NAME.bpk and NAME.json if they exist (without it, an existing model is kept and
    /// nothing is trained).
    #[arg(long)]
    force: bool,
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Also write every epoch's model as NAME-eK.bpk and NAME-eK.json (its card has the
    /// defaults' CAM settings), to compare epochs' maps on val with `camseg eval`: AUC alone
    /// picks the shipped epoch, and the maps can be best at another.
    #[arg(long)]
    keep_epochs: bool,
    /// Move the head's bias so that p = 0.5 falls at val's best balanced accuracy (Youden's J),
    /// for data whose classes are unbalanced: the page and every gated figure cut p at 0.5.
    /// Rankings (AUC) and heatmaps do not change; the shift is recorded in the card.
    #[arg(long)]
    balance_gate: bool,
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value_t = 128)]
    input_size: usize,
    /// Start from a model's weights (its architecture and input size too), e.g.
    /// `static/models/lgg`; without it, from scratch.
    #[arg(long)]
    init: Option<PathBuf>,
    /// Start from EfficientNet-Lite0's ImageNet weights (the .safetensors file that
    /// `scripts/export-lite0.py` writes), cut after `--lite0-blocks` blocks, with a fresh head;
    /// `--widths` and `--convs` are then the network's own.
    #[arg(long, conflicts_with = "init")]
    pretrained: Option<PathBuf>,
    /// Batch norm's momentum (each batch's share of the running statistics) while training.
    /// Default: EfficientNet-Lite0 from trained weights (`--pretrained`, or `--init` with a Lite0
    /// card) the published network's 0.01; otherwise burn's 0.1 (from random weights, 0.01
    /// called every BUSI val image normal: docs/results.md, section 5).
    #[arg(long)]
    norm_momentum: Option<f64>,
    /// Blocks of EfficientNet-Lite0 kept with `--pretrained` (block k ends at stride 2^(k+1)).
    #[arg(long, default_value_t = 4)]
    lite0_blocks: usize,
    /// Channels of each conv block.
    #[arg(long, value_delimiter = ',', default_value = "16,32,64,128")]
    widths: Vec<usize>,
    /// Convs in each conv block.
    #[arg(long, value_delimiter = ',', default_value = "1,1,2,2")]
    convs: Vec<usize>,
    /// Rule for no-tumour slices: `all`, or `head-pN` (head_px >= the N-th percentile of the tumour slices').
    #[arg(long, default_value = "all")]
    negatives: String,
    #[command(flatten)]
    scan: ScanArgs,
    #[arg(long)]
    no_augment: bool,
    /// Random contrast augmentation: intensities raised to a power in [1/C, C] (1 = off).
    #[arg(long, default_value_t = 1.0)]
    contrast: f32,
    /// Name shown in the card and the page.
    #[arg(long)]
    name: Option<String>,
    /// Free text for the card: what data, what for.
    #[arg(long, default_value = "")]
    description: String,
    /// Licence of the weights (they inherit the training data's).
    #[arg(long, default_value = "")]
    licence: String,
    /// Attribution lines for the card (repeatable).
    #[arg(long)]
    attribution: Vec<String>,
}

/// What the scan looks like and how it is normalised: written into the card, read back by
/// every command and the page. The defaults are brain FLAIR's (the LGG model's).
#[derive(clap::Args)]
pub struct ScanArgs {
    /// Input normalisation: `head-mean` (divide by the field of view's mean), `mean-std`
    /// (the image's mean and standard deviation), `unit` (none).
    #[arg(long, default_value = "head-mean")]
    normalisation: String,
    /// Pixels above this level (0-255) are the field of view (the head, the ultrasound sector).
    #[arg(long, default_value_t = 20.0)]
    field_of_view_level: f32,
    /// Whether lesions are `bright` or `dark` against the field of view: the brightness
    /// baseline's and fusion's polarity.
    #[arg(long, default_value = "bright")]
    lesion_polarity: String,
    /// The brightness rule's full-weight contrast to the field of view's mean (> 1).
    #[arg(long, default_value_t = 1.35)]
    lesion_contrast: f32,
    /// Band (px at 256) inside the field of view's outline that the shape step ignores: the
    /// scalp on FLAIR; 0 for none.
    #[arg(long, default_value_t = 8)]
    rim_band_px: usize,
    /// Fill burnt-in annotations (text, calipers) with the tissue round them before the model
    /// sees each image (ultrasound: a classifier can learn the calipers instead of the lesion).
    #[arg(long)]
    fill_annotations: bool,
    /// `layercam-walk`'s random walk as FEATURE_BLOCK,RADIUS,BETA,STEPS (default: LGG val's,
    /// 1,2,0.3,64); choose it on val with `examples/explore_walk.rs`.
    #[arg(long)]
    walk: Option<String>,
}

impl ScanArgs {
    /// The input spec of a `size` px model with these settings, checked.
    pub fn spec(&self, size: usize) -> Result<InputSpec> {
        let level = self.field_of_view_level / 255.0;
        let normalisation = match self.normalisation.as_str() {
            "head-mean" => Normalisation::HeadMean { threshold: level },
            "mean-std" => Normalisation::MeanStd,
            "unit" => Normalisation::Unit,
            other => return Err(Error::Invalid(format!("--normalisation must be one of {}, not `{other}`", Normalisation::KINDS.join(", ")))),
        };
        let lesion_polarity = Polarity::parse(&self.lesion_polarity)
            .ok_or_else(|| Error::Invalid(format!("--lesion-polarity must be `bright` or `dark`, not `{}`", self.lesion_polarity)))?;
        let walk = self.walk.as_deref().map(Walk::parse).transpose().map_err(|e| Error::Invalid(format!("--walk: {e}")))?.unwrap_or_default();
        let scan = ScanSettings { field_of_view_level: level, lesion_polarity, lesion_contrast: self.lesion_contrast, rim_band_px: self.rim_band_px, fill_annotations: self.fill_annotations, walk };
        let spec = InputSpec { size, normalisation, scan, ..InputSpec::new(size) };
        spec.check().map_err(|e| Error::Invalid(format!("the scan settings: {e}")))?;
        Ok(spec)
    }
}

fn samples(images: Vec<camseg::plane::Plane>, records: &[Record], card: &ModelCard) -> Vec<Sample> {
    images.iter().zip(records).map(|(im, r)| Sample { input: card.input.prepare(im), label: r.is_tumour() }).collect()
}

pub fn run(args: Args) -> Result<()> {
    crate::common::check_budget(args.epochs, args.batch_size)?;
    // Flags are checked before minutes of reading images, not after.
    let norm_momentum = args.norm_momentum.map(crate::common::check_norm_momentum).transpose()?;
    // The output is checked before minutes of training, not after.
    let (weights, card_path) = model_paths(&args.out);
    if !args.force {
        if let Some(existing) = [&weights, &card_path].into_iter().find(|p| p.exists()) {
            return Err(Error::Invalid(format!("{} exists; pass --force to replace it, or choose another --out", existing.display())));
        }
    }
    if let Some(dir) = weights.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    }
    let started = Instant::now();
    let device = device();
    device.seed(args.seed);
    if args.pretrained.is_some() && !(1..=camseg::model::LITE0_LAYERS.len()).contains(&args.lite0_blocks) {
        return Err(Error::Invalid(format!("--lite0-blocks {}: EfficientNet-Lite0 has blocks 1 to {}", args.lite0_blocks, camseg::model::LITE0_LAYERS.len())));
    }
    let init = args.init.as_ref().map(|p| load_model(p, &device)).transpose()?;
    let arch = match &init {
        Some((card, _)) => card.architecture.clone(),
        None if args.pretrained.is_some() => ClassifierConfig::lite0(args.input_size, args.lite0_blocks, 0.2),
        None => ClassifierConfig { input_size: args.input_size, widths: args.widths.clone(), convs: args.convs.clone(), dropout: 0.2, ..Default::default() },
    };
    arch.validate()?;
    crate::common::check_contrast(args.contrast, !args.no_augment)?;
    let name = args.name.clone().unwrap_or_else(|| args.out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
    let mut card = ModelCard::new(&name, arch.clone());
    card.input = args.scan.spec(arch.input_size)?;
    let negatives = Negatives::parse(&args.negatives)?;
    let options = LabelOptions { positive: args.positive.clone(), val_share: args.val_share, seed: args.seed };
    let ds = Dataset::open_with(&args.data, &options)?;
    for warning in &ds.warnings {
        eprintln!("warning: {}: {warning}", args.data.display());
    }
    if ds.layout != Layout::Index && negatives != Negatives::All {
        return Err(Error::Invalid(format!("--negatives {}: the head-size rule needs this project's index.csv (head_px); {} has {}", negatives.name(), args.data.display(), ds.layout.name())));
    }
    if ds.held_out {
        eprintln!("{} has no val split: {:.0}% of its train patients are held out as val", args.data.display(), args.val_share * 100.0);
    }
    let labels = (ds.layout != Layout::Index || ds.held_out).then(|| {
        let positive = ds.classes.iter().filter(|c| c.positive).map(|c| c.name.clone()).collect();
        LabelsInfo { layout: ds.layout, options: LabelOptions { positive, ..options.clone() }, classes: ds.classes.clone() }
    });
    for c in &ds.classes {
        let splits: Vec<String> = c.per_split.iter().map(|(s, n)| format!("{s} {n}")).collect();
        eprintln!("class {} ({}): {}", c.name, if c.positive { "positive" } else { "negative" }, splits.join(", "));
    }
    let train_records = ds.select(&args.split, negatives)?;
    let val_records = ds.select(&args.val_split, negatives)?;
    let train = samples(load_images(&ds, &train_records, &card.input, "train images")?, &train_records, &card);
    let val = samples(load_images(&ds, &val_records, &card.input, "val images")?, &val_records, &card);
    let val_labels: Vec<bool> = val.iter().map(|s| s.label).collect();
    let val_inputs: Vec<_> = val.iter().map(|s| &s.input).collect();
    eprintln!(
        "train {} images ({} tumour), val {} ({} tumour); {:.0} M multiply-adds per image",
        train.len(),
        train.iter().filter(|s| s.label).count(),
        val.len(),
        val_labels.iter().filter(|&&l| l).count(),
        arch.macs() as f64 / 1e6
    );

    let config = TrainConfig { epochs: args.epochs, batch_size: args.batch_size, learning_rate: args.lr, seed: args.seed, augment: !args.no_augment, contrast: args.contrast, read_every: usize::MAX, ..TrainConfig::default() };
    let start = match (init, &args.pretrained) {
        (Some((_, model)), _) => model,
        (None, Some(path)) => crate::pretrained::classifier(path, &arch, &device)?,
        (None, None) => arch.init(&device),
    };
    let start = match norm_momentum {
        Some(m) => start.with_norm_momentum(m),
        None => start,
    };
    let mut trainer = Trainer::new(start, card.input.clone(), config, train.len(), &device);
    let progress = bar(trainer.total_steps(), "training");
    let (mut best, mut best_auc, mut best_acc, mut best_epoch) = (trainer.model(), f64::NEG_INFINITY, f64::NAN, 0);
    let mut best_probs = Vec::new();
    let mut loss_sum = 0.0;
    // Written after training: saving builds a blank model, whose random init would move the
    // seeded stream that burn's dropout draws from, and so change the epochs after it.
    let mut kept = Vec::new();
    while let Some(p) = block_on(trainer.step(&train))? {
        progress.inc(1);
        // A step that read nothing carries the last read's loss (NaN before the first): skip it.
        if p.read_steps > 0 {
            loss_sum += p.loss as f64 * p.read_steps as f64;
        }
        progress.set_prefix(format!("epoch {}/{} loss {:.4}", p.epoch + 1, p.epochs, p.loss));
        if p.epoch_end {
            let model = trainer.model();
            let probs = block_on(predict(&model, &card.input, &val_inputs, 64, &device))?;
            let auc = roc_auc(&probs, &val_labels);
            let acc = Confusion::from_probs(&probs, &val_labels, camseg::evaluate::GATE).accuracy();
            let line = format!(
                "epoch {:>3}: train loss {:.4}  val accuracy {acc:.4}  val auc {auc:.4}  ({:.0} s)",
                p.epoch + 1,
                loss_sum / trainer.steps_per_epoch() as f64,
                started.elapsed().as_secs_f64()
            );
            // A hidden bar (stderr not a terminal, e.g. a log file) drops println: print directly.
            if progress.is_hidden() { eprintln!("{line}") } else { progress.println(line) }
            loss_sum = 0.0;
            if args.keep_epochs {
                kept.push((p.epoch + 1, model.clone(), acc, auc));
            }
            // `>=`: on ties the later (more trained) epoch wins; NaN AUC (one class) never wins.
            // A validation split with one class has no AUC: then the latest epoch is kept (an
            // epoch that is never "best" would leave the untrained model to be saved).
            if auc.is_nan() || auc >= best_auc || best_auc.is_nan() {
                (best, best_auc, best_acc, best_epoch, best_probs) = (model, auc, acc, p.epoch + 1, probs);
            }
        }
    }
    progress.finish_and_clear();
    for (epoch, model, acc, auc) in kept {
        let mut at = card.clone();
        at.metrics.insert("val_accuracy".into(), acc);
        at.metrics.insert("val_auc".into(), auc);
        save(&model, &at, &arch, &args.out.with_file_name(format!("{}-e{epoch}", model_stem(&args.out))))?;
    }
    let mut model = best;
    eprintln!("best epoch {best_epoch} (val auc {best_auc:.4})");
    if args.balance_gate {
        let (shift, cut) = balanced_gate(&best_probs, &val_labels)
            .ok_or_else(|| Error::Invalid(format!("--balance-gate: the {} split of {} needs lesion and normal images", args.val_split, args.data.display())))?;
        model = model.with_lesion_logit_shift(shift);
        best_acc = Confusion::from_probs(&best_probs, &val_labels, cut).accuracy();
        card.metrics.insert("gate_shift_logit".into(), shift as f64);
        eprintln!("gate balanced on {}: p {cut:.4} now reads 0.5 (logit shift {shift:+.3}), val accuracy {best_acc:.4}", args.val_split);
    }
    // The best epoch's val figures were measured when it was chosen (or re-read after the gate
    // moved).
    card.metrics.insert("val_accuracy".into(), best_acc);
    card.metrics.insert("val_auc".into(), best_auc);

    if let Some(choice) = choose_cam(&model, &card, &ds, &val_records, &device)? {
        card.cam = choice.cam;
        card.metrics.insert("val_mean_dice".into(), choice.dice);
    }
    if let Some(split) = &args.report_split {
        if !ds.has_lesion_masks(&ds.select(split, negatives)?) {
            eprintln!("{split} has no lesion masks: its Dice is not scored");
        }
        report(&model, &mut card, &ds, split, negatives, &device)?;
    }

    card.description = args.description.clone();
    card.licence = args.licence.clone();
    card.attribution = args.attribution.clone();
    card.training = TrainingInfo {
        command: std::env::args().map(|a| if a.contains(' ') { format!("'{a}'") } else { a }).collect::<Vec<_>>().join(" "),
        seed: args.seed,
        epochs: args.epochs,
        data: args.data.display().to_string(),
        train_images: train.len(),
        negatives: negatives.name(),
        seconds: started.elapsed().as_secs_f64(),
        labels,
    };
    let bytes = save(&model, &card, &arch, &args.out)?;
    println!(
        "wrote {} ({} KB) and {}: val accuracy {:.4}, val auc {:.4}, CAM {} block {} threshold {}, {:.0} s",
        weights.display(),
        bytes / 1024,
        card_path.display(),
        card.metrics["val_accuracy"],
        best_auc,
        card.cam.method,
        card.cam.block,
        card.cam.threshold,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Writes NAME.bpk and NAME.json for `stem`, the card checked first as the loader will read it,
/// each file whole; returns the weights' size in bytes.
fn save(model: &Classifier, card: &ModelCard, arch: &ClassifierConfig, stem: &std::path::Path) -> Result<usize> {
    let (weights, card_path) = model_paths(stem);
    let bytes = block_on(camseg::card::weights_bytes(model, arch))?;
    ModelCard::from_json(&card.to_json())?;
    camseg::card::files::write_atomically(&weights, &bytes)?;
    camseg::card::files::write_atomically(&card_path, card.to_json().as_bytes())?;
    Ok(bytes.len())
}

/// NAME of `--out NAME[.bpk|.json]`, dots inside NAME kept (as [`model_paths`] reads it).
fn model_stem(out: &std::path::Path) -> String {
    let (weights, _) = model_paths(out);
    weights.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}
