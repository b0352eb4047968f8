//! `camseg trust`: can each method's heatmap be trusted? On the lesion images of a split:
//! - model randomisation (Adebayo et al. 2018): the classifier randomised from the top down
//!   (the head, then the last block, ...), each method's map again at every step, compared with
//!   the original by Spearman rank correlation and SSIM;
//! - deletion and insertion (RISE) and ROAD: p(lesion) as the hottest pixels go (blanked, or
//!   imputed from their neighbours) or come back into a blurred image, in 5% steps; the areas
//!   under the curves (deletion and ROAD: lower is more faithful; insertion: higher);
//! - the pointing game.
//! Every figure has a 95% bootstrap interval over patients (clusters on BUSI).

use crate::common::{bar, device, load_model, DataModelArgs};
use camseg::cam::CamMethod;
use camseg::data::{Dataset, Negatives};
use camseg::evaluate::points_inside;
use camseg::faithfulness::{curve_area, spearman_within, ssim};
use camseg::pipeline::analyse;
use camseg::plane::Plane;
use camseg::uncertainty::{Estimate, Patients};
use camseg::{block_on, Error, Result};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: DataModelArgs,
    /// Split to check. Val by default.
    #[arg(long, default_value = "val")]
    split: String,
    /// Methods, each at the card's own block for it (default: every classifier method made from a
    /// block; add `occlusion` by name: about 226 forward passes per map).
    #[arg(long, value_delimiter = ',')]
    methods: Vec<String>,
    /// Check every K-th lesion image only (a fixed, spread-out subset).
    #[arg(long, default_value_t = 1)]
    every: usize,
    /// Seeds the randomised weights and ROAD's noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Step {
    /// What is randomised: `head`, then `block N` (with everything above it).
    randomised: String,
    /// The lowest block randomised at this step (none when only the head is).
    block: Option<usize>,
    spearman: Estimate,
    ssim: Estimate,
}

#[derive(Serialize)]
struct MethodReport {
    block: usize,
    randomisation: Vec<Step>,
    /// Whether the map survives randomising the head and every block from the explained one
    /// up: a rank correlation with the original still above 0.5 there means the map shows the
    /// image, not the model.
    fails_randomisation: bool,
    deletion_auc: Estimate,
    insertion_auc: Estimate,
    road_auc: Estimate,
    pointing_game: Estimate,
}

#[derive(Serialize)]
struct Report {
    split: String,
    lesion_images: usize,
    patients: usize,
    methods: BTreeMap<String, MethodReport>,
}


pub fn run(args: Args) -> Result<()> {
    let device = device();
    let (card, model) = load_model(&args.input.model, &device)?;
    let blocks = model.blocks();
    let cascade = camseg::trust::cascade(&model, &card, args.seed, &device).map_err(|e| Error::Invalid(format!("{}: {e}", args.input.model.display())))?;
    let methods: Vec<CamMethod> = if args.methods.is_empty() {
        CamMethod::FROM_BLOCKS.into_iter().filter(|m| m.uses_classifier()).collect()
    } else {
        args.methods.iter().map(|m| CamMethod::parse(m)).collect::<Result<_>>()?
    };
    let ds = Dataset::open_for(&args.input.data, &card)?;
    let lesions: Vec<_> = ds.select(&args.split, Negatives::All)?.into_iter().filter(|r| r.is_tumour()).step_by(args.every.max(1)).collect();
    if lesions.is_empty() {
        return Err(Error::Invalid(format!("{}: the {} split has no lesion images to check", args.input.data.display(), args.split)));
    }
    let images = lesions.iter().map(|r| ds.load_image(r, card.input.channel)).collect::<Result<Vec<_>>>()?;
    let truths = lesions.iter().zip(&images).map(|(r, im)| ds.load_mask(r, im.width, im.height)).collect::<Result<Vec<_>>>()?;
    let groups = Patients::of(&lesions.iter().map(|r| r.patient.as_str()).collect::<Vec<_>>());
    let figure = |values: &[f64]| groups.estimate(values);
    let refs: Vec<&Plane> = images.iter().collect();
    // Ranks are compared inside each image's field of view: both maps leave its black surround
    // at 0, which would otherwise pass for agreement.
    let level = card.input.scan.field_of_view_level;
    let fields: Vec<Vec<bool>> = images.iter().map(|im| im.data.iter().map(|&v| v > level).collect()).collect();
    let progress = bar(methods.len() * images.len(), "trust");
    let mut report = Report { split: args.split.clone(), lesion_images: images.len(), patients: groups.len(), methods: BTreeMap::new() };
    for method in methods {
        let (block, _) = card.cam.for_method(method);
        let maps = block_on(analyse(&model, &card.input, &refs, block, method, &device))?;
        // The randomised models' maps, and each image's curves, in parallel: each analysis
        // and each curve is a batch of its own, and the shaping after it runs per image.
        let steps = cascade
            .par_iter()
            .enumerate()
            .map(|(j, (name, randomised))| {
                let again = block_on(analyse(randomised, &card.input, &refs, block, method, &device))?;
                let pairs = || fields.par_iter().zip(maps.par_iter().zip(&again));
                let rho: Vec<f64> = pairs().map(|(keep, (a, b))| spearman_within(&a.heatmap, &b.heatmap, keep)).collect();
                let sim: Vec<f64> = pairs().map(|(_, (a, b))| ssim(&a.heatmap, &b.heatmap)).collect();
                Ok(Step { randomised: name.clone(), block: j.checked_sub(1).map(|top| blocks - 1 - top), spearman: figure(&rho), ssim: figure(&sim) })
            })
            .collect::<Result<Vec<Step>>>()?;
        let curves = images
            .par_iter()
            .zip(&maps)
            .enumerate()
            .map(|(i, (image, a))| {
                let c = block_on(camseg::trust::curves(&model, &card, image, &a.heatmap, args.seed.wrapping_add(i as u64), &device));
                progress.inc(1);
                c
            })
            .collect::<Result<Vec<_>>>()?;
        let area = |pick: fn(&camseg::trust::Curves) -> &Vec<f64>| curves.iter().map(|c| curve_area(pick(c))).collect::<Vec<f64>>();
        let (deletion, road, insertion) = (area(|c| &c.deletion), area(|c| &c.road), area(|c| &c.insertion));
        let hits: Vec<f64> = maps.iter().zip(&truths).map(|(a, truth)| points_inside(&a.heatmap, truth) as u8 as f64).collect();
        // Once the head and every block from the explained one up are random, a map that still
        // ranks its pixels as before shows the image, not what the model learnt.
        let fails_randomisation = steps.get(blocks - block).is_some_and(|s| s.spearman.mean > camseg::trust::RANDOMISATION_CUT);
        report.methods.insert(
            method.name().to_string(),
            MethodReport { block, randomisation: steps, fails_randomisation, deletion_auc: figure(&deletion), insertion_auc: figure(&insertion), road_auc: figure(&road), pointing_game: figure(&hits) },
        );
    }
    progress.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string(&report).expect("report serialises"));
    } else {
        let f = |x: &Estimate| format!("{:.3} ({})", x.mean, x.ci95);
        println!("{} split, {} lesion images in {} patients/clusters", report.split, report.lesion_images, report.patients);
        for (name, m) in &report.methods {
            println!("\n{name} (block {}): deletion AUC {} (lower is better), insertion AUC {} (higher), ROAD AUC {} (lower), pointing game {}", m.block, f(&m.deletion_auc), f(&m.insertion_auc), f(&m.road_auc), f(&m.pointing_game));
            for s in &m.randomisation {
                println!("  randomised down to {:<8}: Spearman {}  SSIM {}", s.randomised, f(&s.spearman), f(&s.ssim));
            }
            println!("  randomisation check: {}", if m.fails_randomisation { "FAILS (the map barely changes when the model's top is random)" } else { "passes" });
        }
    }
    Ok(())
}
