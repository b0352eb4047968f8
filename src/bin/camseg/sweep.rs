use crate::common::{DataModelArgs, device, load_model};
use crate::eval::score_records;
use crate::figures;
use camseg::block_on;
use camseg::pipeline::analyse;
use camseg::render::{overlay_rgba, ColourMap};
use camseg::cam::CamMethod;
use camseg::data::{Dataset, Negatives};
use camseg::evaluate::{ImageScore, LARGE_MASK_PX, SWEEP};
use camseg::masks::Threshold;
use camseg::metrics::mean;
use camseg::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: DataModelArgs,
    /// Split to sweep. Val by default: methods, blocks and cuts are chosen there.
    #[arg(long, default_value = "val")]
    split: String,
    /// Methods to compare (default: all).
    #[arg(long, value_delimiter = ',')]
    methods: Vec<String>,
    /// Blocks to compare (default: all).
    #[arg(long, value_delimiter = ',')]
    blocks: Vec<usize>,
    /// Rule for no-tumour slices (default: the model's).
    #[arg(long)]
    negatives: Option<String>,
    /// Also draw mean Dice against threshold (SVG), one line per method and block.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Also write a grid of heatmap overlays (PNG): a row per method and block, a column per
    /// tumour slice (fixed choice); masks at the card's threshold.
    #[arg(long)]
    grid: Option<PathBuf>,
    /// Print JSON lines instead of a Markdown table.
    #[arg(long)]
    json: bool,
}

/// Mean Dice over `scores` at sweep position `k`, over true masks of at least `min_px`.
fn mean_at(scores: &[ImageScore], k: usize, min_px: usize) -> f64 {
    mean(&scores.iter().filter(|s| !s.sweep.is_empty() && s.truth_px >= min_px).map(|s| s.sweep[k]).collect::<Vec<_>>())
}

/// Mean Dice of every (method, block) over thresholds 0.1..0.9 and Otsu: the table that
/// shows which layer and method segment best.
pub fn run(args: Args) -> Result<()> {
    let device = device();
    let (card, model) = load_model(&args.input.model, &device)?;
    let methods = if args.methods.is_empty() { CamMethod::FROM_BLOCKS.to_vec() } else { args.methods.iter().map(|m| CamMethod::parse(m)).collect::<Result<_>>()? };
    let blocks = if args.blocks.is_empty() { (0..model.blocks()).collect() } else { args.blocks.clone() };
    if let Some(b) = blocks.iter().find(|&&b| b >= model.blocks()) {
        return Err(camseg::Error::Invalid(format!("block {b} does not exist: the model has blocks 0..{}", model.blocks() - 1)));
    }
    let negatives = Negatives::parse(args.negatives.as_deref().unwrap_or(&card.training.negatives))?;
    let ds = Dataset::open_for(&args.input.data, &card)?;
    let records: Vec<_> = ds.select(&args.split, negatives)?.into_iter().filter(|r| r.is_tumour()).collect();
    let names: Vec<String> = SWEEP.iter().map(|t| format!("{t}")).chain(["otsu".into()]).collect();
    if !args.json {
        println!("{} tumour slices of split `{}`; mean Dice (all / true mask >= {LARGE_MASK_PX} px)\n", records.len(), args.split);
        println!("| method | block | {} |", names.join(" | "));
        println!("|---|---|{}", "---|".repeat(names.len()));
    }
    let mut series = Vec::new();
    let mut tiles = Vec::new();
    let shown: Vec<_> = records.iter().filter(|r| r.tumor_px >= LARGE_MASK_PX as u64).step_by(7).take(6).cloned().collect();
    for &block in &blocks {
        for &method in &methods {
            let scores = score_records(&model, &card.input, &ds, &records, method, block, Threshold::Fixed(0.5), 16, &device)?;
            let all: Vec<f64> = (0..names.len()).map(|k| mean_at(&scores, k, 0)).collect();
            series.push((format!("{} block {block}", method.name()), all[..SWEEP.len()].to_vec()));
            if args.grid.is_some() {
                let images = shown.iter().map(|r| ds.load_image(r, card.input.channel)).collect::<Result<Vec<_>>>()?;
                let analyses = block_on(analyse(&model, &card.input, &images.iter().collect::<Vec<_>>(), block, method, &device))?;
                for ((r, im), a) in shown.iter().zip(&images).zip(&analyses) {
                    let truth = ds.load_mask(r, im.width, im.height)?;
                    let rgba = overlay_rgba(im, &a.heatmap, ColourMap::Turbo, 0.5, Some(&card.cam.threshold.apply(&a.heatmap)), Some(&truth));
                    tiles.push((im.width, im.height, rgba));
                }
            }
            let large: Vec<f64> = (0..names.len()).map(|k| mean_at(&scores, k, LARGE_MASK_PX)).collect();
            if args.json {
                let row = serde_json::json!({"method": method.name(), "block": block, "thresholds": names, "mean_dice": all, "mean_dice_ge50": large});
                println!("{row}");
            } else {
                let cells: Vec<String> = all.iter().zip(&large).map(|(a, l)| format!("{a:.3} / {l:.3}")).collect();
                println!("| {} | {block} | {} |", method.name(), cells.join(" | "));
            }
        }
    }
    if let Some(path) = &args.plot {
        figures::write_dice_plot(path, &SWEEP, &series)?;
    }
    if let Some(path) = &args.grid {
        if !tiles.is_empty() {
            figures::write_grid(path, &tiles, shown.len())?;
        }
    }
    Ok(())
}

