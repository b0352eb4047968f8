//! A cut for each image chosen by the classifier itself, explored on **val** only: the
//! multi-layer LayerCAM map is cut at every level, the scan is filtered with each mask (keep
//! the region, or remove it), and the classifier says which cut still holds (or no longer
//! holds) its evidence. The paper's keep-hot / remove-hot filters, turned into a rule for the
//! cut. Mean Dice by rule, beside fixed cuts and the per-image best cut (an oracle bound).
//!
//! cargo run --release --example explore_keep -- ../shared/data/lgg static/models/lgg val
#[path = "shared/explore.rs"]
mod explore;
use explore::Exploration;
use camseg::cam::{self, intensity, CamMethod};
use camseg::masks::{Mask, Threshold};
use camseg::metrics::{dice, mean};
use camseg::pipeline::analyse;
use camseg::plane::Plane;

const CUTS: [f32; 19] = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

/// `image` with the pixels where `inside(mask bit)` holds kept, the others set to `fill`
/// inside the head (the background stays black, so the head's outline is unchanged).
fn filtered(image: &Plane, head: &[bool], mask: &Mask, keep: bool, fill: f32) -> Plane {
    let data = (0..image.data.len())
        .map(|i| if !head[i] || mask.bits[i] == keep { image.data[i] } else { fill })
        .collect();
    Plane::new(image.width, image.height, data)
}

fn main() -> camseg::Result<()> {
    let Exploration { split, device, card, model, ds, records } = Exploration::from_args("explore_keep")?;
    let spec = &card.input;
    // Rules: (name, keep?, fill as a share of the head mean, p level)
    let rules: [(&str, bool, f32, f32); 6] = [
        ("keep: smallest region with p >= 0.5, rest = head mean", true, 1.0, 0.5),
        ("keep: smallest region with p >= 0.5, rest = black", true, 0.0, 0.5),
        ("keep: smallest region with p >= 0.9, rest = head mean", true, 1.0, 0.9),
        ("remove: smallest region whose removal gives p < 0.5, filled with head mean", false, 1.0, 0.5),
        ("remove: ... p < 0.5, filled black", false, 0.0, 0.5),
        ("remove: ... p < 0.1, filled with head mean", false, 1.0, 0.1),
    ];
    let mut fixed = vec![Vec::new(); CUTS.len() + 1];
    let mut oracle = Vec::new();
    let mut by_rule = vec![Vec::new(); rules.len()];
    let mut cut_of_rule = vec![Vec::new(); rules.len()];
    for chunk in records.chunks(8) {
        let images = chunk.iter().map(|r| ds.load_image(r, spec.channel)).collect::<camseg::Result<Vec<_>>>()?;
        let refs: Vec<&Plane> = images.iter().collect();
        let analyses = camseg::block_on(analyse(&model, spec, &refs, 2, CamMethod::LayerCamMulti, &device))?;
        for ((r, image), a) in chunk.iter().zip(&images).zip(&analyses) {
            let truth = ds.load_mask(r, image.width, image.height)?;
            let masks: Vec<Mask> = CUTS.iter().map(|&t| Threshold::Fixed(t).apply(&a.heatmap)).collect();
            let scores: Vec<f64> = masks.iter().map(|m| dice(m, &truth)).collect();
            for (k, s) in scores.iter().enumerate() {
                fixed[k].push(*s);
            }
            fixed[CUTS.len()].push(dice(&Threshold::Otsu.apply(&a.heatmap), &truth));
            oracle.push(scores.iter().cloned().fold(0.0, f64::max));
            let head = intensity::head_interior(image, 0);
            let (sum, n) = image.data.iter().zip(&head).filter(|(_, &h)| h).fold((0.0, 0), |(s, n), (&v, _)| (s + v, n + 1));
            let head_mean = sum / n.max(1) as f32;
            for (j, &(_, keep, fill, level)) in rules.iter().enumerate() {
                let prepared: Vec<Plane> = masks.iter().map(|m| spec.prepare_like(&filtered(image, &head, m, keep, fill * head_mean), image)).collect();
                let p = camseg::block_on(cam::probabilities(&model, spec.batch(&prepared.iter().collect::<Vec<_>>(), &device)))?;
                // The highest cut (smallest region) that still convinces (keep) or that
                // already un-convinces (remove); else the lowest cut.
                let chosen = (0..CUTS.len()).rev().find(|&k| if keep { p[k] >= level } else { p[k] < level }).unwrap_or(0);
                by_rule[j].push(scores[chosen]);
                cut_of_rule[j].push(CUTS[chosen] as f64);
            }
        }
        eprint!(".");
    }
    eprintln!();
    println!("{split}: {} tumour slices; multi-layer LayerCAM (blocks 1-2, shaped)\n", records.len());
    let best = (0..CUTS.len()).max_by(|&a, &b| mean(&fixed[a]).total_cmp(&mean(&fixed[b]))).unwrap();
    println!("best fixed cut {}: {:.3}; otsu {:.3}; per-image best cut (oracle) {:.3}\n", CUTS[best], mean(&fixed[best]), mean(&fixed[CUTS.len()]), mean(&oracle));
    println!("| rule | mean Dice | mean cut |\n|---|---|---|");
    for (j, (name, ..)) in rules.iter().enumerate() {
        println!("| {name} | {:.3} | {:.2} |", mean(&by_rule[j]), mean(&cut_of_rule[j]));
    }
    Ok(())
}
