//! What each step of the `fusion` CAM adds: mean Dice on a split's tumour slices, at the
//! sweep's thresholds, for the two-layer Grad-CAM++ map weighted by the intensity prior
//! alone, then with each shape refinement, then with both (= `fusion`).
//!
//! cargo run --release --example fusion_ablation -- ../shared/data/lgg static/models/lgg val
use burn::tensor::Device;
use camseg::cam::{fusion, refine, CamMethod};
use camseg::card::files;
use camseg::data::{Dataset, Negatives};
use camseg::evaluate::SWEEP;
use camseg::masks::Threshold;
use camseg::metrics::{dice, mean};
use camseg::pipeline::analyse;
use camseg::plane::Plane;

fn main() -> camseg::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, model_path, split] = <[String; 3]>::try_from(args)
        .map_err(|_| camseg::Error::Invalid("usage: fusion_ablation DATA MODEL SPLIT".into()))?;
    let device = Device::flex();
    let (card, model) = files::load(std::path::Path::new(&model_path), &device)?;
    let ds = Dataset::open(&data)?;
    let records: Vec<_> = ds.select(&split, Negatives::All)?.into_iter().filter(|r| r.is_tumour()).collect();
    let block = card.cam.block;
    let thresholds: Vec<Threshold> = SWEEP.iter().map(|&t| Threshold::Fixed(t)).chain([Threshold::Otsu]).collect();
    let variants: [(&str, fn(&Plane) -> Plane); 4] = [
        ("prior only", |h| h.clone()),
        ("+ fill holes", refine::fill_holes),
        ("+ peak component", refine::peak_component),
        ("+ peak component + fill holes (= fusion)", fusion::shaped),
    ];
    let mut dices = vec![vec![Vec::new(); thresholds.len()]; variants.len()];
    for chunk in records.chunks(16) {
        let images = chunk.iter().map(|r| ds.load_image(r, card.input.channel)).collect::<camseg::Result<Vec<_>>>()?;
        let refs: Vec<&Plane> = images.iter().collect();
        let per_block = |b| camseg::block_on(analyse(&model, &card.input, &refs, b, CamMethod::GradCamPlusPlus, &device));
        let (coarse, finer) = (per_block(block)?, per_block(block - 1)?);
        let fused = camseg::block_on(analyse(&model, &card.input, &refs, block, CamMethod::Fusion, &device))?;
        for (i, (r, image)) in chunk.iter().zip(&images).enumerate() {
            let truth = ds.load_mask(r, image.width, image.height)?;
            let maps = [coarse[i].heatmap.clone(), finer[i].heatmap.clone()];
            let weighted = fusion::weighted(image, &maps);
            // The ablation rebuilds `fusion` from its parts; check it is the same map.
            let rebuilt = fusion::fuse(image, &maps);
            let gap = rebuilt.data.iter().zip(&fused[i].heatmap.data).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(gap < 1e-4, "{}: rebuilt fusion differs from the pipeline's by {gap}", r.file);
            for (v, (_, refine)) in variants.iter().enumerate() {
                let map = refine(&weighted);
                for (k, t) in thresholds.iter().enumerate() {
                    dices[v][k].push(dice(&t.apply(&map), &truth));
                }
            }
        }
    }
    println!("{split}: {} tumour slices, block {block}\n", records.len());
    let header: Vec<String> = SWEEP.iter().map(|t| format!("{t:.1}")).chain(["otsu".into()]).collect();
    println!("| variant | {} |\n|---|{}", header.join(" | "), "---|".repeat(header.len()));
    for ((name, _), row) in variants.iter().zip(&dices) {
        let cells: Vec<String> = row.iter().map(|d| format!("{:.3}", mean(d))).collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
    Ok(())
}
