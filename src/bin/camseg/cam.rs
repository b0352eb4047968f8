use crate::common::{CamArgs, device, load_model};
use crate::volume::{self, VolumeArgs};
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
    /// The scan: an image (PNG, JPEG, TIFF or BMP) or a volume (a NIfTI file, or a folder
    /// holding a DICOM series).
    #[arg(long)]
    image: PathBuf,
    /// Its true tumour mask, to report Dice (for a volume: a label volume, NIfTI or DICOM).
    #[arg(long)]
    mask: Option<PathBuf>,
    /// Where to write the coloured heatmap PNG (for a volume: the predicted mask, .nii.gz).
    #[arg(long)]
    out: PathBuf,
    /// Where to write the scan with heatmap and contours.
    #[arg(long)]
    overlay: Option<PathBuf>,
    #[command(flatten)]
    cam: CamArgs,
    #[command(flatten)]
    volume: VolumeArgs,
    /// For a volume: leave the exported mask empty on slices the model calls "no tumour".
    #[arg(long)]
    gated: bool,
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

/// A volume: every slice explained, the predicted masks written as NIfTI on its grid.
fn run_volume(args: &Args) -> Result<()> {
    if args.overlay.is_some() {
        return Err(Error::Invalid("--overlay draws one image; for a volume, open the --out mask over the scan in a viewer".into()));
    }
    if !camseg::volume::nifti::is_nifti(&args.out.to_string_lossy()) {
        return Err(Error::Invalid(format!("--out {}: a volume's mask is written as NIfTI; name it .nii.gz or .nii", args.out.display())));
    }
    let device = device();
    let (card, model) = load_model(&args.model, &device)?;
    let cam = args.cam.resolve(&card, &model)?;
    let scan = volume::read(&args.image, args.mask.as_ref())?;
    let report = volume::analyse_volume(&card, &model, &scan, cam, &args.volume, &device)?;
    volume::write_mask(&scan, &report, args.gated, &args.out)?;
    if args.json {
        println!("{}", serde_json::to_string(&report).expect("report serialises"));
    } else {
        volume::print(&report);
        println!("mask written to {}", args.out.display());
    }
    Ok(())
}

pub fn run(args: Args) -> Result<()> {
    if volume::is_volume(&args.image) {
        return run_volume(&args);
    }
    let device = device();
    let (card, model) = load_model(&args.model, &device)?;
    let CamDefaults { method, block, threshold, .. } = args.cam.resolve(&card, &model)?;
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
