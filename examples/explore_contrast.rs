//! Which score the CAM explains, explored on **val** only: the tumour logit (as every CAM
//! here does, after Selvaraju et al.) or the tumour logit minus the no-tumour logit (the log
//! odds, up to a factor per image): evidence that both classes share (healthy tissue) cancels
//! in the second. Multi-layer LayerCAM of blocks 1..=B, shaped, mean Dice by cut.
//!
//! cargo run --release --example explore_contrast -- ../shared/data/lgg static/models/lgg val
#[path = "shared/explore.rs"]
mod explore;
use explore::Exploration;
use burn::tensor::Tensor;
use camseg::cam::{self, fusion, CamMethod};
use camseg::masks::Threshold;
use camseg::metrics::dice;
use camseg::model::TUMOUR;
use camseg::plane::Plane;

const CUTS: [f32; 9] = [0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7];

fn main() -> camseg::Result<()> {
    let Exploration { split, device, card, model, ds, records } = Exploration::from_args("explore_contrast")?;
    let spec = &card.input;
    let variants = ["tumour logit, blocks 1-2", "log odds, blocks 1-2", "tumour logit, blocks 1-3", "log odds, blocks 1-3", "log odds, block 3", "log odds, blocks 2-3"];
    let mut scores = vec![vec![Vec::new(); CUTS.len() + 1]; variants.len()];
    for chunk in records.chunks(16) {
        let images = chunk.iter().map(|r| ds.load_image(r, spec.channel)).collect::<camseg::Result<Vec<_>>>()?;
        let prepared: Vec<Plane> = images.iter().map(|im| spec.prepare(im)).collect();
        let input = spec.batch(&prepared.iter().collect::<Vec<_>>(), &device);
        // maps[contrast][block][image], at image size
        let mut maps = vec![vec![Vec::new(); 4]; 2];
        for block in 1..=3 {
            let acts = model.activations(input.clone(), block).without_autodiff();
            for contrast in [false, true] {
                let leaf = acts.clone().autodiff().require_grad();
                let logits = model.forward_from(leaf.clone(), block);
                let n = logits.dims()[0];
                let tumour = logits.clone().slice([0..n, TUMOUR..TUMOUR + 1]);
                let score: Tensor<2> = if contrast { tumour - logits.slice([0..n, 1 - TUMOUR..2 - TUMOUR]) } else { tumour };
                let grads = score.sum().backward();
                let g: Tensor<4> = leaf.grad(&grads).expect("leaf");
                let m = CamMethod::LayerCam.combine(acts.clone(), g);
                let [_, _, h, w] = m.dims();
                let values = m.into_data().try_to_vec::<f32>().expect("floats");
                maps[contrast as usize][block] =
                    (0..n).map(|i| cam::heatmap(&Plane::new(w, h, values[i * h * w..(i + 1) * h * w].to_vec()), images[i].width, images[i].height)).collect();
            }
        }
        for (i, (r, image)) in chunk.iter().zip(&images).enumerate() {
            let truth = ds.load_mask(r, image.width, image.height)?;
            let mean_of = |c: usize, blocks: &[usize]| fusion::mean_map(&blocks.iter().map(|&b| maps[c][b][i].clone()).collect::<Vec<_>>());
            let recipes = [mean_of(0, &[1, 2]), mean_of(1, &[1, 2]), mean_of(0, &[1, 2, 3]), mean_of(1, &[1, 2, 3]), mean_of(1, &[3]), mean_of(1, &[2, 3])];
            for (v, map) in recipes.iter().enumerate() {
                let shaped = fusion::shaped(image, map);
                for (k, t) in CUTS.iter().map(|&t| Threshold::Fixed(t)).chain([Threshold::Otsu]).enumerate() {
                    scores[v][k].push(dice(&t.apply(&shaped), &truth));
                }
            }
        }
        eprint!(".");
    }
    eprintln!();
    println!("{split}: {} tumour slices; multi-layer LayerCAM, shaped; mean Dice by cut\n", records.len());
    let names: Vec<String> = variants.iter().map(|v| v.to_string()).collect();
    explore::print_table("score explained", &CUTS, &names, &scores);
    Ok(())
}
