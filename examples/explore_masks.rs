//! Exploration (val only to choose): which map recipe gives the best masks.
//! cargo run --example explore_masks -- ../shared/data/lgg static/models/lgg val
use burn::tensor::Device;
use camseg::cam::{intensity, refine, CamMethod};
use camseg::card::files;
use camseg::data::{Dataset, Negatives};
use camseg::masks::{Mask, Threshold};
use camseg::metrics::{dice, mean};
use camseg::pipeline::analyse;
use camseg::plane::Plane;

fn avg(maps: &[&Plane]) -> Plane {
    let n = maps.len() as f32;
    Plane::new(maps[0].width, maps[0].height, (0..maps[0].data.len()).map(|i| maps.iter().map(|m| m.data[i]).sum::<f32>() / n).collect()).normalised()
}
fn times(a: &Plane, b: &Plane) -> Plane {
    Plane::new(a.width, a.height, a.data.iter().zip(&b.data).map(|(x, y)| x * y).collect()).normalised()
}
fn largest_component_mask(m: &Mask) -> Mask {
    let (w, h) = (m.width, m.height);
    let mut label = vec![0usize; w * h];
    let mut best = (0, 0);
    let mut next = 1;
    for s in 0..w * h {
        if m.bits[s] && label[s] == 0 {
            let mut stack = vec![s];
            label[s] = next;
            let mut n = 0;
            while let Some(i) = stack.pop() {
                n += 1;
                let (x, y) = ((i % w) as isize, (i / w) as isize);
                for dy in -1..=1 { for dx in -1..=1 {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize { continue; }
                    let j = ny as usize * w + nx as usize;
                    if m.bits[j] && label[j] == 0 { label[j] = next; stack.push(j); }
                }}
            }
            if n > best.1 { best = (next, n); }
            next += 1;
        }
    }
    let lc = Mask::new(w, h, label.iter().map(|&l| l == best.0 && l != 0).collect());
    // fill holes
    let filled = refine::fill_holes(&lc.to_plane());
    camseg::masks::threshold(&filled, 0.5)
}

fn main() -> camseg::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (data, model_path, split) = (&args[0], &args[1], &args[2]);
    let device = Device::flex();
    let (card, model) = files::load(std::path::Path::new(model_path), &device)?;
    let ds = Dataset::open(data)?;
    let records: Vec<_> = ds.select(split, Negatives::All)?.into_iter().filter(|r| r.is_tumour()).collect();
    let ts: Vec<f32> = vec![0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7];
    let names = ["gc3", "gpp3@128 shape", "gpp3@192 shape", "gpp3@256 shape", "gpp23@192 shape", "gpp23@256 shape", "lc23@192 shape", "lc23@256 shape", "lc123@192 shape", "lc123@256 shape", "gpp3 ms shape", "gpp23 ms shape", "lc123 ms shape", "gpp23 ms rimshape", "prior broadrim", "gc3 again"];
    let _names = ["gc3", "gc3 shape", "gpp23 shape", "lc23 shape", "lc123 shape", "lc23+flip shape", "lc2 shape", "lc23 rimshape", "lc23+flip rimshape", "lc23flip broadrim",
        "prior broadrim", "prior LC(author)", "fusion", "fusion rim", "fusion broadrim", "lc23flip x prior broadrim", "gc3 rimshape", "lc3 rimshape"];
    let mut d = vec![vec![Vec::new(); ts.len()]; names.len()];
    let mut probs = Vec::new();
    for chunk in records.chunks(16) {
        let images = chunk.iter().map(|r| ds.load_image(r, card.input.channel)).collect::<camseg::Result<Vec<_>>>()?;
        let refs: Vec<&Plane> = images.iter().collect();
        let flipped: Vec<Plane> = images.iter().map(|p| p.flipped_horizontally()).collect();
        let frefs: Vec<&Plane> = flipped.iter().collect();
        let run = |ims: &[&Plane], b, m| camseg::block_on(analyse(&model, &card.input, ims, b, m, &device));
        let spec_at = |size| { let mut sp = card.input.clone(); sp.size = size; sp };
        let runs = |size, b, m| camseg::block_on(analyse(&model, &spec_at(size), &refs, b, m, &device));
        let gc3 = runs(128, 3, CamMethod::GradCam)?;
        let mut ms = Vec::new();
        for size in [128usize, 192, 256] {
            for (b, m) in [(3, CamMethod::GradCamPlusPlus), (2, CamMethod::GradCamPlusPlus), (3, CamMethod::LayerCam), (2, CamMethod::LayerCam), (1, CamMethod::LayerCam)] {
                ms.push(runs(size, b, m)?);
            }
        }
        let _ = &frefs; let _ = run;
        for (i, (r, image)) in chunk.iter().zip(&images).enumerate() {
            probs.push(gc3[i].probability);
            let truth = ds.load_mask(r, image.width, image.height)?;
            let shape = |m: &Plane| refine::fill_holes(&refine::peak_component(m));
            let interior = intensity::head_interior(image, intensity::RIM_PX);
            let rimshape = |m: &Plane| refine::fill_holes(&refine::peak_component(&intensity::restricted(m, &interior)));
            let broadrim = |m: &Plane| refine::fill_holes(&refine::broad_peak_component(&intensity::restricted(m, &interior), 8));
            let prior = intensity::prior(image);
            let (l2f, l3f, lc23, lc23f, gpp) = ((), (), (), (), ());
            let h = |k: usize| &ms[k][i].heatmap;
            // k = scale*5 + {0 gpp3, 1 gpp2, 2 lc3, 3 lc2, 4 lc1}
            let maps = [
                gc3[i].heatmap.clone(),
                shape(h(0)),
                shape(h(5)), shape(h(10)),
                shape(&avg(&[h(5), h(6)])), shape(&avg(&[h(10), h(11)])),
                shape(&avg(&[h(7), h(8)])), shape(&avg(&[h(12), h(13)])),
                shape(&avg(&[h(7), h(8), h(9)])), shape(&avg(&[h(12), h(13), h(14)])),
                shape(&avg(&[h(0), h(5), h(10)])),
                shape(&avg(&[h(0), h(1), h(5), h(6), h(10), h(11)])),
                shape(&avg(&[h(2), h(3), h(4), h(7), h(8), h(9), h(12), h(13), h(14)])),
                rimshape(&avg(&[h(0), h(1), h(5), h(6), h(10), h(11)])),
                broadrim(&prior),
                gc3[i].heatmap.clone(),
            ];
            let _ = (&l2f, &l3f, &lc23, &lc23f, &gpp);
            for (v, m) in maps.iter().enumerate() {
                for (k, &t) in ts.iter().enumerate() {
                    let mask = Threshold::Fixed(t).apply(m);
                    let mask = if false {
                        let restricted = Mask::new(mask.width, mask.height, mask.bits.iter().zip(&interior).map(|(a, b)| *a && *b).collect());
                        largest_component_mask(&restricted)
                    } else { mask };
                    d[v][k].push(dice(&mask, &truth));
                }
            }
        }
        eprint!(".");
    }
    println!("{split}: {} tumour slices", records.len());
    println!("| recipe | {} |", ts.iter().map(|t| format!("{t}")).collect::<Vec<_>>().join(" | "));
    for (name, row) in names.iter().zip(&d) {
        println!("| {name} | {} |", row.iter().map(|x| format!("{:.3}", mean(x))).collect::<Vec<_>>().join(" | "));
    }
    Ok(())
}
