//! Automatic cuts of one map, explored on **val** only: the card's method at its block, each
//! image's map cut by rules that read nothing but the map itself (its histogram or the shape
//! of its level sets), against the card's cut and the oracle (each image's best cut, which
//! reads the true mask). On BUSI the walk's oracle is 0.647 against Otsu's 0.447
//! (`explore_ceiling`): the map holds more than one global rule takes from it.
//!
//! METHOD=layercam-walk SCORES=runs/busi/cuts/val.csv cargo run -p camseg-experiments --example explore_cut_rules -- ../shared/data/busi static/models/busi val
use camseg::cam::CamMethod;
use camseg::masks::{otsu_threshold, threshold, Mask, Threshold};
use camseg::metrics::{dice, mean};
use camseg::pipeline::analyse;
use camseg::plane::Plane;
use camseg_experiments::explore::{self, Exploration};

const BINS: usize = 256;
const GRID: [f32; 17] = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9];

fn histogram(values: impl Iterator<Item = f32>) -> [f64; BINS] {
    let mut hist = [0.0; BINS];
    for v in values {
        hist[(v.clamp(0.0, 1.0) * (BINS - 1) as f32).round() as usize] += 1.0;
    }
    hist
}

fn bin_value(i: usize) -> f32 {
    (i as f32 + 0.5) / (BINS - 1) as f32
}

/// Otsu again on the pixels above Otsu's cut: the upper of a three-class split.
fn otsu_upper(heat: &Plane) -> f32 {
    let first = otsu_threshold(heat);
    let above: Vec<f32> = heat.data.iter().copied().filter(|&v| v >= first).collect();
    if above.len() < 2 {
        return first;
    }
    otsu_threshold(&Plane::new(above.len(), 1, above)).max(first)
}

/// Li and Tam's minimum cross-entropy cut (iterated), over the map's positive values.
fn li(heat: &Plane) -> f32 {
    let values: Vec<f64> = heat.data.iter().filter(|&&v| v > 0.0).map(|&v| v as f64 + 1e-6).collect();
    if values.is_empty() {
        return f32::INFINITY;
    }
    let mut t = values.iter().sum::<f64>() / values.len() as f64;
    for _ in 0..100 {
        let (lo, hi): (Vec<f64>, Vec<f64>) = values.iter().partition(|&&v| v < t);
        if lo.is_empty() || hi.is_empty() {
            break;
        }
        let (mb, mf) = (lo.iter().sum::<f64>() / lo.len() as f64, hi.iter().sum::<f64>() / hi.len() as f64);
        let next = (mf - mb) / (mf.ln() - mb.ln());
        if (next - t).abs() < 1e-5 {
            t = next;
            break;
        }
        t = next;
    }
    t as f32
}

/// Kapur's maximum-entropy cut of the histogram.
fn kapur(heat: &Plane) -> f32 {
    let hist = histogram(heat.data.iter().copied());
    let total: f64 = hist.iter().sum();
    let p: Vec<f64> = hist.iter().map(|c| c / total).collect();
    let (mut best, mut best_h) = (BINS / 2, f64::NEG_INFINITY);
    for t in 1..BINS - 1 {
        let w0: f64 = p[..t].iter().sum();
        let w1 = 1.0 - w0;
        if w0 <= 0.0 || w1 <= 0.0 {
            continue;
        }
        let h = |part: &[f64], w: f64| -part.iter().filter(|&&q| q > 0.0).map(|&q| (q / w) * (q / w).ln()).sum::<f64>();
        let total_h = h(&p[..t], w0) + h(&p[t..], w1);
        if total_h > best_h {
            best_h = total_h;
            best = t;
        }
    }
    bin_value(best - 1)
}

/// The triangle cut: the histogram bin farthest below the line from its peak to its far end.
fn triangle(heat: &Plane) -> f32 {
    let hist = histogram(heat.data.iter().copied());
    let peak = (0..BINS).max_by(|&a, &b| hist[a].total_cmp(&hist[b])).unwrap_or(0);
    let last = (0..BINS).rev().find(|&i| hist[i] > 0.0).unwrap_or(BINS - 1);
    if last <= peak + 1 {
        return otsu_threshold(heat);
    }
    let (x0, y0, x1, y1) = (peak as f64, hist[peak], last as f64, hist[last]);
    let norm = ((y1 - y0).powi(2) + (x1 - x0).powi(2)).sqrt();
    let best = (peak..=last).max_by(|&a, &b| {
        let d = |i: usize| ((y1 - y0) * i as f64 - (x1 - x0) * hist[i] + x1 * y0 - y1 * x0).abs() / norm;
        d(a).total_cmp(&d(b))
    });
    bin_value(best.unwrap_or(peak))
}

/// The grid cut whose region's area changes least across its neighbours (a maximally stable
/// level set).
fn stable(heat: &Plane) -> f32 {
    let areas: Vec<f64> = GRID.iter().map(|&t| threshold(heat, t).area() as f64).collect();
    (1..GRID.len() - 1)
        .filter(|&k| areas[k] > 0.0)
        .min_by(|&a, &b| {
            let change = |k: usize| (areas[k - 1] - areas[k + 1]) / areas[k];
            change(a).total_cmp(&change(b))
        })
        .map_or(f32::INFINITY, |k| GRID[k])
}

/// The grid cut whose outline runs where the map falls most steeply (mean gradient magnitude
/// on the region's boundary pixels).
fn steepest(heat: &Plane) -> f32 {
    let (w, h) = (heat.width, heat.height);
    let at = |x: usize, y: usize| heat.data[y * w + x];
    let grad = |x: usize, y: usize| {
        let gx = at((x + 1).min(w - 1), y) - at(x.saturating_sub(1), y);
        let gy = at(x, (y + 1).min(h - 1)) - at(x, y.saturating_sub(1));
        (gx * gx + gy * gy).sqrt()
    };
    let edge_strength = |mask: &Mask| {
        let inside = |x: usize, y: usize| mask.bits[y * w + x];
        let mut sum = 0.0f64;
        let mut n = 0usize;
        for y in 0..h {
            for x in 0..w {
                if inside(x, y) && (x == 0 || y == 0 || x == w - 1 || y == h - 1 || !inside(x - 1, y) || !inside(x + 1, y) || !inside(x, y - 1) || !inside(x, y + 1)) {
                    sum += grad(x, y) as f64;
                    n += 1;
                }
            }
        }
        if n == 0 { f64::NEG_INFINITY } else { sum / n as f64 }
    };
    GRID.iter().copied().max_by(|&a, &b| edge_strength(&threshold(heat, a)).total_cmp(&edge_strength(&threshold(heat, b)))).unwrap_or(0.5)
}

type Rule = (&'static str, fn(&Plane) -> f32);
const RULES: [Rule; 7] = [
    ("otsu", otsu_threshold),
    ("otsu, upper of three classes", otsu_upper),
    ("li (minimum cross-entropy)", li),
    ("kapur (maximum entropy)", kapur),
    ("triangle", triangle),
    ("most stable level set", stable),
    ("steepest outline", steepest),
];

fn main() -> camseg::Result<()> {
    let Exploration { split, device, card, model, ds, records } = Exploration::from_args("explore_cut_rules")?;
    let method = std::env::var("METHOD").map_or(Ok(card.cam.method), |m| CamMethod::parse(&m))?;
    let (block, card_cut) = card.cam.for_method(method);
    let spec = &card.input;
    let (mut scores, mut at_card, mut oracle, mut clusters) = (vec![Vec::new(); RULES.len()], Vec::new(), Vec::new(), Vec::new());
    let mut area_ratio = vec![Vec::new(); RULES.len()];
    for chunk in records.chunks(8) {
        let images = chunk.iter().map(|r| ds.load_image(r, spec.channel)).collect::<camseg::Result<Vec<_>>>()?;
        let refs: Vec<&Plane> = images.iter().collect();
        let analyses = camseg::block_on(analyse(&model, spec, &refs, block, method, &device))?;
        for ((r, image), a) in chunk.iter().zip(&images).zip(&analyses) {
            let truth = ds.load_mask(r, image.width, image.height)?;
            clusters.push(r.patient.clone());
            at_card.push(dice(&a.mask(card_cut), &truth));
            oracle.push((1..20).map(|k| dice(&a.mask(Threshold::Fixed(k as f32 * 0.05)), &truth)).fold(0.0, f64::max));
            for (k, (_, rule)) in RULES.iter().enumerate() {
                let mask = threshold(&a.heatmap, rule(&a.heatmap));
                scores[k].push(dice(&mask, &truth));
                area_ratio[k].push(mask.area() as f64 / truth.area().max(1) as f64);
            }
        }
        eprint!(".");
    }
    eprintln!();
    let median = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    println!("{split}: {} lesion images; {method} at block {block}; mean Dice\n", records.len());
    println!("| cut | mean Dice | median mask area / lesion area |\n|---|---|---|");
    println!("| the card's ({card_cut}) | {:.3} | |", mean(&at_card));
    for (k, (name, _)) in RULES.iter().enumerate() {
        println!("| {name} | {:.3} | {:.2} |", mean(&scores[k]), median(&area_ratio[k]));
    }
    println!("| *oracle: each image's best cut (reads the true mask)* | {:.3} | |", mean(&oracle));
    if let Ok(path) = std::env::var("SCORES") {
        let names: Vec<String> = RULES.iter().map(|(n, _)| n.to_string()).collect();
        explore::write_scores(&path, &clusters, &names, &scores)?;
    }
    Ok(())
}
