use crate::common::{CamArgs, bar, device, load_model};
use crate::volume::{self, VolumeArgs};
use burn::tensor::Device;
use camseg::card::CamDefaults;
use camseg::cam::CamMethod;
use camseg::data::{Dataset, InputSpec, Negatives, Record};
use camseg::evaluate::{summarise, ImageScore, Summary};
use camseg::masks::Threshold;
use camseg::model::Classifier;
use camseg::pipeline::analyse;
use camseg::{block_on, Result};
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
    /// Split to score, or `all`.
    #[arg(long, default_value = "test")]
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
    /// Print one JSON object on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write each image's scores to this CSV file.
    #[arg(long)]
    per_image: Option<PathBuf>,
}

/// Scores `records` in batches: classify, CAM, threshold, Dice.
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
    let bar = bar(records.len(), method.name());
    let mut scores = Vec::with_capacity(records.len());
    for chunk in records.chunks(batch.max(1)) {
        let images = chunk.iter().map(|r| ds.load_image(r, spec.channel)).collect::<Result<Vec<_>>>()?;
        let analyses = block_on(analyse(model, spec, &images.iter().collect::<Vec<_>>(), block, method, device))?;
        for ((r, image), a) in chunk.iter().zip(&images).zip(&analyses) {
            let truth = ds.load_mask(r, image.width, image.height)?;
            scores.push(ImageScore::new(&r.file, a.probability, &a.heatmap, Some(&truth), r.is_tumour(), threshold));
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(scores)
}

fn print_table(s: &Summary) {
    println!("images {} (tumour {})", s.images, s.tumour_images);
    println!("accuracy {:.4}  auc {:.4}  sensitivity {:.4}  specificity {:.4}", s.accuracy, s.auc, s.sensitivity, s.specificity);
    println!("{} block {} threshold {}: mean Dice {:.4} (true mask >= 50 px: {:.4})", s.method, s.block, s.threshold, s.mean_dice, s.mean_dice_ge50);
    let sweep: Vec<String> = s.dice_by_threshold.iter().map(|(t, d)| format!("{t}:{d:.3}")).collect();
    println!("mean Dice by threshold: {}", sweep.join("  "));
}

pub fn run(args: Args) -> Result<()> {
    let device = device();
    let (card, model) = load_model(&args.model, &device)?;
    let cam = args.cam.resolve(&card, &model)?;
    let CamDefaults { method, block, threshold } = cam;
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
    let ds = Dataset::open(args.data.as_ref().expect("clap requires --data without --volume"))?;
    let records: Vec<Record> = ds.select(&args.split, negatives)?.into_iter().step_by(args.every.max(1)).collect();
    let scores = score_records(&model, &card.input, &ds, &records, method, block, threshold, args.batch, &device)?;
    let summary = summarise(&scores, method.name(), block, threshold);
    if let Some(path) = &args.per_image {
        let mut w = csv::Writer::from_path(path).map_err(|e| camseg::Error::Invalid(format!("{}: {e}", path.display())))?;
        for s in &scores {
            let s = ImageScore { file: camseg::evaluate::spreadsheet_safe(&s.file).into_owned(), ..s.clone() };
            w.serialize(&s).map_err(|e| camseg::Error::Invalid(format!("{}: {e}", path.display())))?;
        }
        w.flush().map_err(|e| camseg::Error::io(path.display(), e))?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&summary).expect("summary serialises"));
    } else {
        print_table(&summary);
    }
    Ok(())
}
