//! How the shape step and the classifier-only recipes were chosen: mean Dice on **val** of
//! every recipe at every cut (run on val only; test was never printed by this program).
//!
//! cargo run --example explore_masks -- ../shared/data/lgg static/models/lgg val
use burn::tensor::Device;
use camseg::cam::{fusion, intensity, refine, CamMethod};
use camseg::card::files;
use camseg::data::{Dataset, InputSpec, Negatives};
use camseg::masks::{threshold, Mask, Threshold};
use camseg::metrics::{dice, mean};
use camseg::pipeline::analyse;
use camseg::plane::Plane;

const CUTS: [f32; 9] = [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7];

fn times(a: &Plane, b: &Plane) -> Plane {
    Plane::new(a.width, a.height, a.data.iter().zip(&b.data).map(|(x, y)| x * y).collect()).normalised()
}

/// The shape step before this change: the peak's region (first maximal pixel), holes filled.
fn old_shape(m: &Plane) -> Plane {
    refine::fill_holes(&refine::peak_component(m))
}

/// The intensity rule as it described it: at each cut, the largest 8-connected region
/// of the mask inside the head's interior, holes filled.
fn largest_region(mask: &Mask, interior: &[bool]) -> Mask {
    let (w, h) = (mask.width, mask.height);
    let on: Vec<bool> = mask.bits.iter().zip(interior).map(|(a, b)| *a && *b).collect();
    let mut label = vec![0usize; w * h];
    let (mut best, mut best_size, mut next) = (0, 0, 1);
    for start in 0..w * h {
        if !on[start] || label[start] != 0 {
            continue;
        }
        let (mut stack, mut size) = (vec![start], 0);
        label[start] = next;
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = ((i % w) as isize, (i / w) as isize);
            for (dx, dy) in [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)] {
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                    continue;
                }
                let j = ny as usize * w + nx as usize;
                if on[j] && label[j] == 0 {
                    label[j] = next;
                    stack.push(j);
                }
            }
        }
        if size > best_size {
            (best, best_size) = (next, size);
        }
        next += 1;
    }
    let kept = Mask::new(w, h, label.iter().map(|&l| l == best && l != 0).collect());
    threshold(&refine::fill_holes(&kept.to_plane()), 0.5)
}

fn main() -> camseg::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, model_path, split] = <[String; 3]>::try_from(args).map_err(|_| camseg::Error::Invalid("usage: explore_masks DATA MODEL SPLIT".into()))?;
    let device = Device::flex();
    let (card, model) = files::load(std::path::Path::new(&model_path), &device)?;
    let ds = Dataset::open(&data)?;
    let records: Vec<_> = ds.select(&split, Negatives::All)?.into_iter().filter(|r| r.is_tumour()).collect();
    let names = [
        "Grad-CAM b3", "Grad-CAM++ b2+b3, old shape", "LayerCAM b1-b3, old shape", "LayerCAM b1-b3 + flips, new shape",
        "LayerCAM b2+b3, new shape", "Grad-CAM++ b3 at 192 px, old shape", "Grad-CAM++ b3 at 256 px, old shape",
        "prior, largest region (issue's rule)", "prior, new shape", "fusion, old shape", "fusion, new shape",
    ];
    let mut scores = vec![vec![Vec::new(); CUTS.len()]; names.len()];
    for chunk in records.chunks(16) {
        let images = chunk.iter().map(|r| ds.load_image(r, card.input.channel)).collect::<camseg::Result<Vec<_>>>()?;
        let refs: Vec<&Plane> = images.iter().collect();
        let flipped: Vec<Plane> = images.iter().map(|p| p.flipped_horizontally()).collect();
        let flipped_refs: Vec<&Plane> = flipped.iter().collect();
        let at = |size: usize, ims: &[&Plane], b, m| {
            let spec = InputSpec { size, ..card.input.clone() };
            camseg::block_on(analyse(&model, &spec, ims, b, m, &device))
        };
        let gc3 = at(128, &refs, 3, CamMethod::GradCam)?;
        let gpp = [at(128, &refs, 2, CamMethod::GradCamPlusPlus)?, at(128, &refs, 3, CamMethod::GradCamPlusPlus)?];
        let lc = [at(128, &refs, 1, CamMethod::LayerCam)?, at(128, &refs, 2, CamMethod::LayerCam)?, at(128, &refs, 3, CamMethod::LayerCam)?];
        let lc_flipped = [at(128, &flipped_refs, 1, CamMethod::LayerCam)?, at(128, &flipped_refs, 2, CamMethod::LayerCam)?, at(128, &flipped_refs, 3, CamMethod::LayerCam)?];
        let big = [at(192, &refs, 3, CamMethod::GradCamPlusPlus)?, at(256, &refs, 3, CamMethod::GradCamPlusPlus)?];
        for (i, (r, image)) in chunk.iter().zip(&images).enumerate() {
            let truth = ds.load_mask(r, image.width, image.height)?;
            let interior = intensity::head_interior(image, intensity::RIM_PX);
            let prior = intensity::prior(image);
            let lc_all: Vec<Plane> = lc.iter().map(|a| a[i].heatmap.clone()).collect();
            let lc_both: Vec<Plane> = lc_all.iter().cloned().chain(lc_flipped.iter().map(|a| a[i].heatmap.flipped_horizontally())).collect();
            let gpp23 = fusion::mean_map(&[gpp[0][i].heatmap.clone(), gpp[1][i].heatmap.clone()]);
            let maps = [
                gc3[i].heatmap.clone(),
                old_shape(&gpp23),
                old_shape(&fusion::mean_map(&lc_all)),
                fusion::shaped(image, &fusion::mean_map(&lc_both)),
                fusion::shaped(image, &fusion::mean_map(&lc_all[1..])),
                old_shape(&big[0][i].heatmap),
                old_shape(&big[1][i].heatmap),
                prior.clone(),
                fusion::shaped(image, &prior),
                old_shape(&times(&gpp23, &prior)),
                fusion::shaped(image, &times(&gpp23, &prior)),
            ];
            for (v, map) in maps.iter().enumerate() {
                for (k, &t) in CUTS.iter().enumerate() {
                    let mask = Threshold::Fixed(t).apply(map);
                    let mask = if v == 7 { largest_region(&mask, &interior) } else { mask };
                    scores[v][k].push(dice(&mask, &truth));
                }
            }
        }
        eprint!(".");
    }
    eprintln!();
    println!("{split}: {} tumour slices; mean Dice by cut\n", records.len());
    println!("| recipe | {} |\n|---|{}", CUTS.map(|t| t.to_string()).join(" | "), "---|".repeat(CUTS.len()));
    for (name, row) in names.iter().zip(&scores) {
        println!("| {name} | {} |", row.iter().map(|d| format!("{:.3}", mean(d))).collect::<Vec<_>>().join(" | "));
    }
    Ok(())
}
