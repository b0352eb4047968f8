//! `camseg lesion-removed`: the control for burnt-in annotations. Each lesion is filled with
//! the texture round it (its true mask says where; no method ever sees the mask), and the
//! classifier and its map are asked again. A classifier that finds lesions loses its
//! confidence; one that learnt the calipers or text beside them keeps it. Intervals resample
//! patients (clusters on BUSI).

use crate::common::{bar, device, load_model, CamArgs, DataModelArgs};
use camseg::controls::{heat_share, lesion_removed};
use camseg::data::{Dataset, Negatives};
use camseg::evaluate::{points_inside, GATE};
use camseg::metrics::mean;
use camseg::pipeline::analyse;
use camseg::uncertainty::{Estimate, Patients};
use camseg::{block_on, Result};
use serde::Serialize;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: DataModelArgs,
    /// Split to score. Val by default: choose on val, report test once.
    #[arg(long, default_value = "val")]
    split: String,
    #[command(flatten)]
    cam: CamArgs,
    /// Seeds the texture drawn into each lesion.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// One lesion image's figures, as it is ([0]) and with its lesion filled ([1]).
struct Row {
    patient: String,
    p: [f64; 2],
    share: [f64; 2],
    hit: [f64; 2],
}

#[derive(Serialize)]
struct Report {
    split: String,
    method: String,
    block: usize,
    lesion_images: usize,
    patients: usize,
    /// Mean p(lesion) on the lesion images as they are, and with the lesion filled.
    p_original: Estimate,
    p_lesion_removed: Estimate,
    /// The paired fall in p (original minus removed).
    p_drop: Estimate,
    /// Share of lesion images still called lesion (p >= 0.5) once the lesion is gone.
    still_called_lesion: Estimate,
    /// Mean p on the split's normal images, for scale.
    p_normal_images: f64,
    /// Share of the map's mass inside the (former) lesion, before and after.
    heat_in_lesion_original: Estimate,
    heat_in_lesion_removed: Estimate,
    /// The pointing game (peak inside the true mask), before and after.
    pointing_original: Estimate,
    pointing_removed: Estimate,
}

pub fn run(args: Args) -> Result<()> {
    let device = device();
    let (card, model) = load_model(&args.input.model, &device)?;
    let cam = args.cam.resolve(&card, &model)?;
    let ds = Dataset::open_for(&args.input.data, &card)?;
    let records = ds.select(&args.split, Negatives::All)?;
    let (lesions, normals): (Vec<_>, Vec<_>) = records.into_iter().partition(|r| r.is_tumour());
    if lesions.is_empty() {
        return Err(camseg::Error::Invalid(format!("{}: the {} split has no lesion images to remove a lesion from", args.input.data.display(), args.split)));
    }
    let progress = bar(lesions.len() + normals.len(), "lesion-removed");
    // One row per lesion image: p, the map's share inside the lesion and its pointing hit,
    // as it is and with the lesion filled.
    let mut rows: Vec<Row> = Vec::with_capacity(lesions.len());
    for (k, chunk) in lesions.chunks(16).enumerate() {
        let images = chunk.iter().map(|r| ds.load_image(r, card.input.channel)).collect::<Result<Vec<_>>>()?;
        let truths = chunk.iter().zip(&images).map(|(r, im)| ds.load_mask(r, im.width, im.height)).collect::<Result<Vec<_>>>()?;
        let removed: Vec<_> = images.iter().zip(&truths).enumerate().map(|(i, (im, t))| lesion_removed(im, t, args.seed.wrapping_add((k * 16 + i) as u64))).collect();
        let both: Vec<&camseg::plane::Plane> = images.iter().chain(&removed).collect();
        let analyses = block_on(analyse(&model, &card.input, &both, cam.block, cam.method, &device))?;
        let (orig, gone) = analyses.split_at(images.len());
        for (((r, t), o), g) in chunk.iter().zip(&truths).zip(orig).zip(gone) {
            rows.push(Row {
                patient: r.patient.clone(),
                p: [o.probability as f64, g.probability as f64],
                share: [heat_share(&o.heatmap, t), heat_share(&g.heatmap, t)],
                hit: [points_inside(&o.heatmap, t) as u8 as f64, points_inside(&g.heatmap, t) as u8 as f64],
            });
        }
        progress.inc(chunk.len() as u64);
    }
    let mut normal_p = Vec::new();
    for chunk in normals.chunks(16) {
        let images = chunk.iter().map(|r| ds.load_image(r, card.input.channel)).collect::<Result<Vec<_>>>()?;
        let prepared: Vec<_> = images.iter().map(|im| card.input.prepare(im)).collect();
        normal_p.extend(block_on(camseg::train::predict(&model, &card.input, &prepared.iter().collect::<Vec<_>>(), 16, &device))?.into_iter().map(|p| p as f64));
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    let groups = Patients::of(&rows.iter().map(|r| r.patient.as_str()).collect::<Vec<_>>());
    let figure = |value: &dyn Fn(&Row) -> f64| groups.estimate(&rows.iter().map(value).collect::<Vec<_>>());
    let report = Report {
        split: args.split.clone(),
        method: cam.method.name().into(),
        block: cam.block,
        lesion_images: rows.len(),
        patients: groups.len(),
        p_original: figure(&|r| r.p[0]),
        p_lesion_removed: figure(&|r| r.p[1]),
        p_drop: figure(&|r| r.p[0] - r.p[1]),
        still_called_lesion: figure(&|r| (r.p[1] >= GATE as f64) as u8 as f64),
        p_normal_images: mean(&normal_p),
        heat_in_lesion_original: figure(&|r| r.share[0]),
        heat_in_lesion_removed: figure(&|r| r.share[1]),
        pointing_original: figure(&|r| r.hit[0]),
        pointing_removed: figure(&|r| r.hit[1]),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report).expect("report serialises"));
    } else {
        let f = |x: &Estimate| format!("{:.3} ({})", x.mean, x.ci95);
        println!("{} split, {} lesion images in {} patients/clusters; {} block {}", report.split, report.lesion_images, report.patients, report.method, report.block);
        println!("p(lesion): original {}, lesion removed {}, drop {}; normal images {:.3}", f(&report.p_original), f(&report.p_lesion_removed), f(&report.p_drop), report.p_normal_images);
        println!("still called lesion after removal: {}", f(&report.still_called_lesion));
        println!("map's mass inside the lesion: original {}, removed {}", f(&report.heat_in_lesion_original), f(&report.heat_in_lesion_removed));
        println!("pointing game: original {}, removed {}", f(&report.pointing_original), f(&report.pointing_removed));
    }
    Ok(())
}
