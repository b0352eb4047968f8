use crate::common::{CamArgs, device, load_model};
use camseg::card::CamDefaults;
use camseg::data::decode::{check_mask_size, encode_png_rgba};
use camseg::data::{decode_image, decode_mask};
use camseg::pipeline::analyse;
use camseg::render::{heatmap_rgba, overlay_rgba, ColourMap};
use camseg::{block_on, metrics, Error, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Model weights (.bpk) or card (.json).
    #[arg(long)]
    model: PathBuf,
    /// The scan (PNG, JPEG, TIFF or BMP).
    #[arg(long)]
    image: PathBuf,
    /// Its true tumour mask, to report Dice.
    #[arg(long)]
    mask: Option<PathBuf>,
    /// Where to write the coloured heatmap PNG.
    #[arg(long)]
    out: PathBuf,
    /// Where to write the scan with heatmap and contours.
    #[arg(long)]
    overlay: Option<PathBuf>,
    #[command(flatten)]
    cam: CamArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path.display(), e))
}

fn write(path: &PathBuf, bytes: Vec<u8>) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path.display(), e))
}

pub fn run(args: Args) -> Result<()> {
    let device = device();
    let (card, model) = load_model(&args.model, &device)?;
    let CamDefaults { method, block, threshold } = args.cam.resolve(&card, &model)?;
    let image = decode_image(&read(&args.image)?, &args.image.display().to_string(), card.input.channel)?;
    let truth = match &args.mask {
        Some(p) => {
            let mask = decode_mask(&read(p)?, &p.display().to_string())?;
            check_mask_size(&mask, image.width, image.height, &p.display().to_string())?;
            Some(mask)
        }
        None => None,
    };
    let analysis = block_on(analyse(&model, &card.input, &[&image], block, method, &device))?.remove(0);
    let predicted = analysis.mask(threshold);
    let (w, h) = (image.width, image.height);
    write(&args.out, encode_png_rgba(w, h, heatmap_rgba(&analysis.heatmap, ColourMap::Turbo)))?;
    if let Some(path) = &args.overlay {
        let rgba = overlay_rgba(&image, &analysis.heatmap, ColourMap::Turbo, 0.5, Some(&predicted), truth.as_ref());
        write(path, encode_png_rgba(w, h, rgba))?;
    }
    let dice = truth.as_ref().map(|t| metrics::dice(&predicted, t));
    if args.json {
        let out = serde_json::json!({
            "probability": analysis.probability,
            "dice": dice,
            "method": method.name(),
            "block": block,
            "threshold": threshold.to_string(),
            "mask_px": predicted.area(),
        });
        println!("{out}");
    } else {
        println!("tumour probability {:.4}", analysis.probability);
        println!("{} block {block} threshold {threshold}: mask {} px", method.name(), predicted.area());
        if let Some(d) = dice {
            println!("dice {d:.4}");
        }
    }
    Ok(())
}
