use crate::common::{CamArgs, bar, device, load_model};
use crate::volume::{self, VolumeArgs};
use burn::tensor::Device;
use camseg::card::CamDefaults;
use camseg::cam::CamMethod;
use camseg::data::{Dataset, InputSpec, Negatives, Record};
use camseg::evaluate::{compare, summarise, Comparison, ImageScore, Summary};
use camseg::masks::Threshold;
use camseg::model::Classifier;
use camseg::scoring::{Maps, Scorer};
use camseg::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Dataset folder (images/, masks/, index.csv).
    #[arg(long, required_unless_present = "volume", conflicts_with = "volume")]
    data: Option<PathBuf>,
    /// Or one volume: a NIfTI file or a folder holding a DICOM series, scored slice by slice
    /// and as a whole (3D Dice) against `--mask`.
    #[arg(long)]
    volume: Option<PathBuf>,
    /// The volume's label volume (NIfTI, or a DICOM folder).
    #[arg(long, requires = "volume")]
    mask: Option<PathBuf>,
    #[command(flatten)]
    cut: VolumeArgs,
    /// Model weights (.bpk) or card (.json).
    #[arg(long)]
    model: PathBuf,
    /// Split to score, or `all`. Val by default: choose on val, report test once.
    #[arg(long, default_value = "val")]
    split: String,
    /// Rule for no-tumour slices: `all` or `head-pN` (default: the one the model was trained with).
    #[arg(long)]
    negatives: Option<String>,
    /// Score every K-th selected image only (a fixed, spread-out subset for quick checks).
    #[arg(long, default_value_t = 1)]
    every: usize,
    #[arg(long, default_value_t = 16)]
    batch: usize,
    #[command(flatten)]
    cam: CamArgs,
    /// Masks from a U-Net segmenter (`camseg train-segmenter`) instead of a CAM: its
    /// probability map is cut like a heatmap; p (for gating and AUC) stays the classifier's.
    #[arg(long)]
    segmenter: Option<PathBuf>,
    /// Baselines scored on the same images, each as METHOD:THRESHOLD[:BLOCK] (e.g.
    /// `intensity:0.1`, `gradcam:0.6:3`; the block defaults to this run's): the difference in
    /// mean Dice with a paired patient-bootstrap 95% interval.
    #[arg(long, value_delimiter = ',')]
    compare: Vec<String>,
    /// Print one JSON object on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write each image's scores to this CSV file.
    #[arg(long)]
    per_image: Option<PathBuf>,
}

/// Scores `records` in batches (classify, CAM, threshold, Dice) with a progress bar.
#[allow(clippy::too_many_arguments)]
pub fn score_records(
    model: &Classifier,
    spec: &InputSpec,
    ds: &Dataset,
    records: &[Record],
    method: CamMethod,
    block: usize,
    threshold: Threshold,
    batch: usize,
    device: &Device,
) -> Result<Vec<ImageScore>> {
    let scorer = Scorer { model, spec, data: ds, device, batch };
    score_with_bar(&scorer, records, &Maps::Cam { method, block }, threshold)
}

/// [`Scorer::score`] with a progress bar.
fn score_with_bar(scorer: &Scorer, records: &[Record], maps: &Maps, threshold: Threshold) -> Result<Vec<ImageScore>> {
    let bar = bar(records.len(), maps.name());
    let scores = scorer.score(records, maps, threshold, |n| bar.inc(n as u64))?;
    bar.finish_and_clear();
    Ok(scores)
}

/// `eval --json`: the summary, and the baselines compared with it.
#[derive(serde::Serialize)]
struct Report {
    #[serde(flatten)]
    summary: Summary,
    comparisons: Vec<Comparison>,
}

fn print_table(r: &Report) {
    let s = &r.summary;
    println!("images {} (tumour {}, no tumour {}), patients {}", s.images, s.tumour_images, s.no_tumour_images, s.patients);
    println!("accuracy {:.4}  auc {:.4} (95% CI {})  sensitivity {:.4}  specificity {:.4}", s.accuracy, s.auc, s.auc_ci95, s.sensitivity, s.specificity);
    println!("{} block {} threshold {}: mean Dice {:.4} (95% CI {}, patient bootstrap; true mask >= 50 px: {:.4}; mean of patient means {:.4})", s.method, s.block, s.threshold, s.mean_dice, s.mean_dice_ci95, s.mean_dice_ge50, s.patient_mean_dice);
    println!("gated (mask only where p >= 0.5): mean Dice {:.4} (95% CI {}); masks on no-tumour slices {:.3} ungated, {:.3} gated", s.gated_mean_dice, s.gated_mean_dice_ci95, s.false_positive_rate, s.gated_false_positive_rate);
    let sweep: Vec<String> = s.dice_by_threshold.iter().map(|(t, d)| format!("{t}:{d:.3}")).collect();
    println!("mean Dice by threshold: {}", sweep.join("  "));
    for c in &r.comparisons {
        println!(
            "minus {} at {}: {:+.4} (95% CI {}), gated {:+.4} (95% CI {})",
            c.method, c.threshold, c.difference, c.difference_ci95, c.gated_difference, c.gated_difference_ci95
        );
    }
}

/// `METHOD:THRESHOLD[:BLOCK]`.
fn parse_baseline(text: &str, default_block: usize) -> Result<(CamMethod, Threshold, usize)> {
    let bad = || camseg::Error::Invalid(format!("--compare takes METHOD:THRESHOLD[:BLOCK] (e.g. intensity:0.1 or gradcam:0.6:3), not `{text}`"));
    let parts: Vec<&str> = text.split(':').collect();
    let block = match parts.get(2) {
        Some(b) => b.parse().map_err(|_| bad())?,
        None => default_block,
    };
    match parts[..] {
        [method, threshold] | [method, threshold, _] => Ok((CamMethod::parse(method)?, Threshold::parse(threshold)?, block)),
        _ => Err(bad()),
    }
}

pub fn run(args: Args) -> Result<()> {
    let device = device();
    let (card, model) = load_model(&args.model, &device)?;
    let cam = args.cam.resolve(&card, &model)?;
    let CamDefaults { method, block, threshold, .. } = cam;
    if let Some(path) = &args.volume {
        let scan = volume::read(path, args.mask.as_ref())?;
        let report = volume::analyse_volume(&card, &model, &scan, cam, &args.cut, &device)?;
        if args.json {
            println!("{}", serde_json::to_string(&report).expect("report serialises"));
        } else {
            volume::print(&report);
        }
        return Ok(());
    }
    let negatives = Negatives::parse(args.negatives.as_deref().unwrap_or(&card.training.negatives))?;
    let ds = Dataset::open_for(args.data.as_ref().expect("clap requires --data without --volume"), &card)?;
    let baselines = args.compare.iter().map(|b| parse_baseline(b, block)).collect::<Result<Vec<_>>>()?;
    let records: Vec<Record> = ds.select(&args.split, negatives)?.into_iter().step_by(args.every.max(1)).collect();
    let (scores, summary) = match &args.segmenter {
        Some(path) => {
            let (seg_card, segmenter) = camseg::segmenter::load(path, &device)?;
            let scorer = Scorer { model: &model, spec: &card.input, data: &ds, device: &device, batch: args.batch };
            let scores = score_with_bar(&scorer, &records, &Maps::Segmenter { net: &segmenter, spec: &seg_card.input }, threshold)?;
            let summary = summarise(&scores, &format!("segmenter ({})", seg_card.labels), block, threshold);
            (scores, summary)
        }
        None => {
            let scores = score_records(&model, &card.input, &ds, &records, method, block, threshold, args.batch, &device)?;
            let summary = summarise(&scores, method.name(), block, threshold);
            (scores, summary)
        }
    };
    let mut comparisons = Vec::new();
    for (m, t, b) in baselines {
        let theirs = score_records(&model, &card.input, &ds, &records, m, b, t, args.batch, &device)?;
        comparisons.push(compare(&scores, &theirs, &format!("{} block {b}", m.name()), t));
    }
    if let Some(path) = &args.per_image {
        let mut w = csv::Writer::from_path(path).map_err(|e| camseg::Error::Invalid(format!("{}: {e}", path.display())))?;
        for s in &scores {
            let s = ImageScore { file: camseg::evaluate::spreadsheet_safe(&s.file).into_owned(), ..s.clone() };
            w.serialize(&s).map_err(|e| camseg::Error::Invalid(format!("{}: {e}", path.display())))?;
        }
        w.flush().map_err(|e| camseg::Error::io(path.display(), e))?;
    }
    let report = Report { summary, comparisons };
    if args.json {
        println!("{}", serde_json::to_string(&report).expect("summary serialises"));
    } else {
        print_table(&report);
    }
    Ok(())
}
