//! The random walk of `layercam-walk` ([`camseg::cam::walk`]), explored on **val** only: the
//! multi-layer LayerCAM map spread over the classifier's block-0 or block-1 activations at
//! several radii, kernel widths and step counts; as a comparison, over the input pixels; as a
//! control, seeded by a Gaussian at the field of view's centre instead of the CAM. Mean Dice by
//! cut, after the card's shape step (docs/results.md, sections 2 and 5). The seed is taken at the
//! card's own block for the walk. `GRID=wide` sweeps feature block x radius x beta x steps.
//!
//! cargo run --release --example explore_walk -- ../shared/data/lgg static/models/lgg val
//! GRID=wide cargo run --release --example explore_walk -- ../shared/data/busi static/models/busi val
use camseg::prelude::*;
use camseg_experiments::explore::{self, Exploration};
use camseg::cam::walk::Walk;
use camseg::cam::{self, fusion, CamMethod};
use camseg::data::ScanSettings;
use camseg::masks::Threshold;
use camseg::metrics::dice;
use camseg::pipeline::analyse;
use camseg::plane::Plane;

const CUTS: [f32; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// The control seed: a Gaussian (sigma a sixth of the side) at the field of view's centre of
/// mass.
fn centre_gaussian(image: &Plane, scan: &ScanSettings) -> Plane {
    let (w, h) = (image.width, image.height);
    let head = camseg::cam::intensity::interior(image, scan.field_of_view_level, 0);
    let (mut sx, mut sy, mut n) = (0.0f32, 0.0f32, 0.0f32);
    for i in (0..w * h).filter(|&i| head[i]) {
        (sx, sy, n) = (sx + (i % w) as f32, sy + (i / w) as f32, n + 1.0);
    }
    let (cx, cy) = (sx / n.max(1.0), sy / n.max(1.0));
    let sigma = w.max(h) as f32 / 6.0;
    let data = (0..w * h).map(|i| (-(((i % w) as f32 - cx).powi(2) + ((i / w) as f32 - cy).powi(2)) / (2.0 * sigma * sigma)).exp()).collect();
    Plane::new(w, h, data)
}

fn main() -> camseg::Result<()> {
    let Exploration { split, device, card, model, ds, records } = Exploration::from_args("explore_walk")?;
    let spec = &card.input;
    let every: usize = std::env::var("EVERY").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let records: Vec<_> = records.into_iter().step_by(every).collect();
    // (features: a block, or 9 = input pixels; radius; beta; steps; seed: the CAM, or (control,
    // no classifier) a Gaussian at the field of view's centre)
    let wide = std::env::var("GRID").is_ok_and(|g| g == "wide");
    let walk_block = card.cam.per_method.iter().find(|m| m.method == CamMethod::LayerCamWalk).map_or(2, |m| m.block);
    let feature_blocks = model.blocks().min(3);
    let mut variants: Vec<(usize, usize, f32, usize, bool)> = vec![
        (0, 0, 1.0, 0, true),
        (1, 2, 0.3, 32, true),
        (1, 2, 0.3, 64, true),
        (1, 2, 0.3, 128, true),
        (1, 2, 0.1, 64, true),
        (1, 2, 0.1, 128, true),
        (1, 3, 0.3, 64, true),
        (0, 3, 0.3, 64, true),
        (9, 3, 0.3, 32, true),
        (9, 3, 0.3, 64, true),
        (1, 2, 0.3, 64, false),
        (1, 2, 0.3, 128, false),
    ];
    if wide {
        variants = vec![(0, 0, 1.0, 0, true)];
        for feat in 0..feature_blocks {
            for radius in [1, 2, 3] {
                for beta in [0.1, 0.3, 1.0] {
                    for steps in [16, 64, 256] {
                        variants.push((feat, radius, beta, steps, true));
                    }
                }
            }
        }
        variants.push((1, 2, 0.3, 64, false));
    }
    let mut scores = vec![vec![Vec::new(); CUTS.len() + 1]; variants.len()];
    let mut clusters = Vec::new();
    for chunk in records.chunks(16) {
        let images = chunk.iter().map(|r| ds.load_image(r, spec.channel)).collect::<camseg::Result<Vec<_>>>()?;
        let refs: Vec<&Plane> = images.iter().collect();
        let seeds = camseg::block_on(analyse(&model, spec, &refs, walk_block, CamMethod::LayerCamMulti, &device))?;
        let prepared: Vec<Plane> = images.iter().map(|im| spec.prepare(im)).collect();
        let input = spec.batch(&prepared.iter().collect::<Vec<_>>(), &device);
        let acts: Vec<(usize, usize, usize, Vec<f32>)> = (0..feature_blocks)
            .map(|b| {
                let a = model.activations(input.clone(), b);
                let [_, c, h, w] = a.dims();
                (c, h, w, a.into_data().try_to_vec::<f32>().expect("floats"))
            })
            .collect();
        for (i, (r, image)) in chunk.iter().zip(&images).enumerate() {
            clusters.push(r.patient.clone());
            let truth = ds.load_mask(r, image.width, image.height)?;
            for (v, &(feat, radius, beta, steps, cam_seed)) in variants.iter().enumerate() {
                let map = if steps == 0 {
                    seeds[i].heatmap.clone()
                } else {
                    let (features, channels, w, h) = if feat == 9 {
                        (&prepared[i].data[..], 1, spec.size, spec.size)
                    } else {
                        let (c, h, w, ref values) = acts[feat];
                        (&values[i * c * h * w..(i + 1) * c * h * w], c, w, h)
                    };
                    let seed = if cam_seed { seeds[i].heatmap.resize_bilinear(w, h) } else { centre_gaussian(image, &spec.scan).resize_bilinear(w, h) };
                    let walk = Walk { feature_block: feat, radius, beta, steps };
                    cam::heatmap(&walk.spread(features, channels, &seed), image.width, image.height)
                };
                let shaped = fusion::shaped(image, &map, &spec.scan);
                for (k, t) in CUTS.iter().map(|&t| Threshold::Fixed(t)).chain([Threshold::Otsu]).enumerate() {
                    scores[v][k].push(dice(&t.apply(&shaped), &truth));
                }
            }
        }
        eprint!(".");
    }
    eprintln!();
    println!("{split}: {} lesion images; seed: multi-layer LayerCAM up to block {walk_block}, shaped; mean Dice by cut\n", records.len());
    let names: Vec<String> = variants
        .iter()
        .map(|(feat, radius, beta, steps, cam_seed)| {
            let name = if *steps == 0 { "seed alone".to_string() } else if *feat == 9 { format!("input pixels, {radius}, {beta}, {steps}") } else { format!("block {feat}, {radius}, {beta}, {steps}") };
            if *cam_seed { name } else { name + " (control: seed = Gaussian at the field of view's centre, no CAM)" }
        })
        .collect();
    explore::print_table("features, radius, beta, steps", &CUTS, &names, &scores);
    // SCORES=path: every image's Dice at Otsu per variant (CSV), for checking a choice on one
    // half of the split's clusters against the other (scripts/split-half.py).
    if let Ok(path) = std::env::var("SCORES") {
        let at_otsu: Vec<Vec<f64>> = scores.iter().map(|s| s[CUTS.len()].clone()).collect();
        explore::write_scores(&path, &clusters, &names, &at_otsu)?;
    }
    Ok(())
}
