//! A random walk on the classifier's own features, explored on **val** only (after Ahn &
//! Kwak 2018, without their learnt affinities): the multi-layer LayerCAM map is spread over a
//! graph whose edges join nearby pixels with similar block-k activations. Evidence inside a
//! lesion stays inside it (its pixels are alike and unlike their surroundings); evidence
//! spilled onto healthy tissue spreads thin over it. As a comparison, the same walk on the
//! input pixels themselves. Mean Dice by cut, after the shape step.
//!
//! cargo run --release --example explore_walk -- ../shared/data/lgg static/models/lgg val
use burn::tensor::Device;
use camseg::cam::{self, fusion, CamMethod};
use camseg::card::files;
use camseg::data::{Dataset, Negatives};
use camseg::masks::Threshold;
use camseg::metrics::{dice, mean};
use camseg::pipeline::analyse;
use camseg::plane::Plane;

const CUTS: [f32; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// Features [C][h*w] -> the map after `steps` steps of the walk with edges to every pixel
/// within `radius`, weight exp(-|f_i - f_j|^2 / (beta * mean |f_i - f_j|^2)).
fn walk(features: &[Vec<f32>], w: usize, h: usize, seed: &Plane, radius: isize, beta: f32, steps: usize) -> Plane {
    let n = w * h;
    let mut edges: Vec<Vec<(usize, f32)>> = vec![Vec::new(); n];
    let mut total = 0.0f64;
    let mut count = 0usize;
    for y in 0..h as isize {
        for x in 0..w as isize {
            let i = (y * w as isize + x) as usize;
            for dy in -radius..=radius {
                for dx in -radius..=radius {
                    let (nx, ny) = (x + dx, y + dy);
                    if (dx, dy) == (0, 0) || dx * dx + dy * dy > radius * radius || nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                        continue;
                    }
                    let j = (ny * w as isize + nx) as usize;
                    let d: f32 = features.iter().map(|f| (f[i] - f[j]).powi(2)).sum();
                    edges[i].push((j, d));
                    total += d as f64;
                    count += 1;
                }
            }
        }
    }
    let scale = (total / count.max(1) as f64) as f32 * beta;
    for e in edges.iter_mut() {
        e.iter_mut().for_each(|(_, d)| *d = (-*d / scale.max(1e-12)).exp());
        let sum: f32 = 1.0 + e.iter().map(|(_, a)| a).sum::<f32>();
        e.iter_mut().for_each(|(_, a)| *a /= sum);
        e.push((usize::MAX, 1.0 / sum)); // self loop, stored last
    }
    let mut v = seed.data.clone();
    for _ in 0..steps {
        v = (0..n).map(|i| edges[i].iter().map(|&(j, a)| a * if j == usize::MAX { v[i] } else { v[j] }).sum()).collect();
    }
    Plane::new(w, h, v)
}

/// The control seed: a Gaussian (sigma a sixth of the side) at the head's centre of mass.
fn centre_gaussian(image: &Plane) -> Plane {
    let (w, h) = (image.width, image.height);
    let head = camseg::cam::intensity::head_interior(image, 0);
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, model_path, split] = <[String; 3]>::try_from(args).map_err(|_| camseg::Error::Invalid("usage: explore_walk DATA MODEL SPLIT".into()))?;
    assert_ne!(split, "test", "explore on val only");
    let device = Device::flex();
    let (card, model) = files::load(std::path::Path::new(&model_path), &device)?;
    let spec = &card.input;
    let ds = Dataset::open(&data)?;
    let every: usize = std::env::var("EVERY").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let records: Vec<_> = ds.select(&split, Negatives::All)?.into_iter().filter(|r| r.is_tumour()).step_by(every).collect();
    // (features: 0/1 = block, 9 = input pixels; radius; beta; steps; seed: the CAM, or (control,
    // no classifier) a Gaussian at the head's centre)
    let variants: Vec<(usize, isize, f32, usize, bool)> = vec![
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
    let mut scores = vec![vec![Vec::new(); CUTS.len() + 1]; variants.len()];
    for chunk in records.chunks(16) {
        let images = chunk.iter().map(|r| ds.load_image(r, spec.channel)).collect::<camseg::Result<Vec<_>>>()?;
        let refs: Vec<&Plane> = images.iter().collect();
        let seeds = camseg::block_on(analyse(&model, spec, &refs, 2, CamMethod::LayerCamMulti, &device))?;
        let prepared: Vec<Plane> = images.iter().map(|im| spec.prepare(im)).collect();
        let input = spec.batch(&prepared.iter().collect::<Vec<_>>(), &device);
        let acts: Vec<(usize, usize, usize, Vec<f32>)> = (0..2)
            .map(|b| {
                let a = model.activations(input.clone(), b);
                let [_, c, h, w] = a.dims();
                (c, h, w, a.into_data().try_to_vec::<f32>().expect("floats"))
            })
            .collect();
        for (i, (r, image)) in chunk.iter().zip(&images).enumerate() {
            let truth = ds.load_mask(r, image.width, image.height)?;
            for (v, &(feat, radius, beta, steps, cam_seed)) in variants.iter().enumerate() {
                let map = if steps == 0 {
                    seeds[i].heatmap.clone()
                } else {
                    let (features, w, h) = if feat == 9 {
                        (vec![prepared[i].data.clone()], spec.size, spec.size)
                    } else {
                        let (c, h, w, ref values) = acts[feat];
                        ((0..c).map(|k| values[(i * c + k) * h * w..(i * c + k + 1) * h * w].to_vec()).collect(), w, h)
                    };
                    let seed = if cam_seed { seeds[i].heatmap.resize_bilinear(w, h) } else { centre_gaussian(image).resize_bilinear(w, h) };
                    cam::heatmap(&walk(&features, w, h, &seed, radius, beta, steps), image.width, image.height)
                };
                let shaped = fusion::shaped(image, &map);
                for (k, t) in CUTS.iter().map(|&t| Threshold::Fixed(t)).chain([Threshold::Otsu]).enumerate() {
                    scores[v][k].push(dice(&t.apply(&shaped), &truth));
                }
            }
        }
        eprint!(".");
    }
    eprintln!();
    println!("{split}: {} tumour slices; seed: multi-layer LayerCAM blocks 1-2, shaped; mean Dice by cut\n", records.len());
    println!("| features, radius, beta, steps | {} | otsu |\n|---|{}", CUTS.map(|t| t.to_string()).join(" | "), "---|".repeat(CUTS.len() + 1));
    for (v, (feat, radius, beta, steps, cam_seed)) in variants.iter().enumerate() {
        let mut name = if *steps == 0 { "seed alone".to_string() } else if *feat == 9 { format!("input pixels, {radius}, {beta}, {steps}") } else { format!("block {feat}, {radius}, {beta}, {steps}") };
        if !cam_seed {
            name += " (control: seed = Gaussian at the head's centre, no CAM)";
        }
        let cells: Vec<String> = (0..=CUTS.len()).map(|k| format!("{:.3}", mean(&scores[v][k]))).collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
    Ok(())
}
