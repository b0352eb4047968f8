//! `camseg card`: rewrites a model card's CAM default and figures from the data, so that no
//! number in a card is typed by hand. The weights are not touched.

use crate::common::{device, load_model, model_paths, DataModelArgs};
use crate::choose::{choose_cam, report};
use camseg::card::ModelCard;
use camseg::data::{Dataset, Negatives};
use camseg::Result;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: DataModelArgs,
    /// Also score the chosen default on this split and record it (`test`: report only; the
    /// choice never sees it).
    #[arg(long)]
    report_split: Option<String>,
    /// Set `layercam-walk`'s random walk (FEATURE_BLOCK,RADIUS,BETA,STEPS, chosen on val with
    /// `examples/explore_walk.rs`) before the default is re-chosen.
    #[arg(long)]
    walk: Option<String>,
    /// Also write every val lesion image's Dice under each method, block and cut that the
    /// choice weighed (CSV: cluster, then one column each), for a split-half check of the
    /// choice (`scripts/split-half.py FILE BASELINE`).
    #[arg(long)]
    choice_scores: Option<std::path::PathBuf>,
}

/// The sentence of the description that says how the default was chosen; replaced on each run.
const CHOICE: &str = " CAM default chosen on val by `camseg card`";

pub fn run(args: Args) -> Result<()> {
    if let Some(path) = &args.choice_scores {
        crate::common::check_folder_of(path, "--choice-scores")?;
    }
    let device = device();
    let (mut card, model) = load_model(&args.input.model, &device)?;
    if let Some(walk) = &args.walk {
        card.input.scan.walk = camseg::cam::walk::Walk::parse(walk).map_err(|e| camseg::Error::Invalid(format!("--walk: {e}")))?;
    }
    let ds = Dataset::open_for(&args.input.data, &card)?;
    let negatives = Negatives::parse(&card.training.negatives)?;
    let val = ds.select("val", negatives)?;
    let choice = choose_cam(&model, &card, &ds, &val, &device)?
        .ok_or_else(|| camseg::Error::Invalid(format!("{}: the val split has no tumour slices to choose a CAM on", args.input.data.display())))?;
    if let Some(path) = &args.choice_scores {
        camseg::card::files::write_atomically(path, &choice.candidates.to_csv())?;
    }
    let dice = choice.dice;
    card.cam = choice.cam;
    // Mask figures of the previous default are dropped: they described another method. The
    // classifier's own figures stand.
    card.metrics.retain(|k, _| !(k.contains("dice") || k.contains("mask_rate")));
    card.metrics.insert("val_mean_dice".into(), dice);
    if let Some(split) = &args.report_split {
        report(&model, &mut card, &ds, split, negatives, &device)?;
    }
    // This command's sentence, or an older card's own words for the same thing, is replaced.
    let base = card.description.split(" CAM default chosen on val").next().unwrap_or_default().trim_end().to_string();
    card.description = format!(
        "{base}{CHOICE} over every method (the classifier-free `intensity` included), the last two blocks and the sweep's cuts: `{}` ({}), block {}, threshold {} (val mean Dice {dice:.3}).",
        card.cam.method.name(),
        card.cam.method.label(),
        card.cam.block,
        card.cam.threshold
    );
    if card.cam.method == camseg::cam::CamMethod::LayerCamWalk {
        let w = card.input.scan.walk;
        card.description += &format!(" The walk: block {}'s features, radius {}, beta {}, {} steps.", w.feature_block, w.radius, w.beta, w.steps);
    }
    let (_, card_path) = model_paths(&args.input.model);
    ModelCard::from_json(&card.to_json())?;
    camseg::card::files::write_atomically(&card_path, card.to_json().as_bytes())?;
    println!("wrote {}: CAM {} block {} threshold {} (val mean Dice {dice:.4})", card_path.display(), card.cam.method, card.cam.block, card.cam.threshold);
    Ok(())
}
