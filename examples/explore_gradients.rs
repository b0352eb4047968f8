//! Classifier-only maps at the input's resolution, explored on **val** only: the tumour
//! logit's gradient with respect to the input pixels (saliency), gradient x input, and each
//! joined with multi-layer LayerCAM; and, as the control with no classifier, the blurred input
//! itself. Mean Dice by cut, raw and after the shape step (docs/results.md, section 2).
//!
//! cargo run --release --example explore_gradients -- ../shared/data/lgg static/models/lgg val
#[path = "shared/explore.rs"]
mod explore;
use explore::Exploration;
use burn::tensor::Tensor;
use camseg::cam::refine::box_blurred as box_blur;
use camseg::cam::{self, fusion, CamMethod};
use camseg::masks::Threshold;
use camseg::metrics::{dice, mean};
use camseg::model::TUMOUR;
use camseg::pipeline::analyse;
use camseg::plane::Plane;

const CUTS: [f32; 8] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

fn times(a: &Plane, b: &Plane) -> Plane {
    Plane::new(a.width, a.height, a.data.iter().zip(&b.data).map(|(x, y)| x * y).collect()).normalised()
}

fn main() -> camseg::Result<()> {
    let Exploration { split, device, card, model, ds, records } = Exploration::from_args("explore_gradients")?;
    let spec = &card.input;
    let names = [
        "LayerCAM b1-b2 (reference)",
        "saliency relu(g)",
        "saliency relu(g), blur 2",
        "gradient x input relu(g x)",
        "gradient x input, blur 2",
        "gradient x input, blur 4",
        "LayerCAM b1-b2 x (g x input, blur 2)",
        "LayerCAM b1-b2 x saliency blur 2",
        "gradient x input, blur 6",
        "gradient x input, blur 8",
        "saliency relu(g), blur 4",
        "saliency relu(g), blur 6",
        "relu(blur 4 of g x input)",
        "input alone, blur 4 (control: no classifier)",
        "input alone, blur 8 (control: no classifier)",
    ];
    let mut raw = vec![vec![Vec::new(); CUTS.len() + 1]; names.len()];
    let mut shaped = vec![vec![Vec::new(); CUTS.len() + 1]; names.len()];
    for chunk in records.chunks(16) {
        let images = chunk.iter().map(|r| ds.load_image(r, spec.channel)).collect::<camseg::Result<Vec<_>>>()?;
        let refs: Vec<&Plane> = images.iter().collect();
        let prepared: Vec<Plane> = images.iter().map(|im| spec.prepare(im)).collect();
        let leaf = spec.batch(&prepared.iter().collect::<Vec<_>>(), &device).autodiff().require_grad();
        let logits = model.forward(leaf.clone());
        let n = logits.dims()[0];
        let grads = logits.slice([0..n, TUMOUR..TUMOUR + 1]).sum().backward();
        let g: Tensor<4> = leaf.grad(&grads).expect("leaf");
        let g = g.into_data().try_to_vec::<f32>().expect("floats");
        let layer_cam = |block| camseg::block_on(analyse(&model, spec, &refs, block, CamMethod::LayerCam, &device));
        let lc = [layer_cam(1)?, layer_cam(2)?];
        let s = spec.size;
        for (i, (r, image)) in chunk.iter().zip(&images).enumerate() {
            let truth = ds.load_mask(r, image.width, image.height)?;
            let gi = &g[i * s * s..(i + 1) * s * s];
            let x = &prepared[i].data;
            let sal = Plane::new(s, s, gi.iter().map(|v| v.max(0.0)).collect());
            let gxi = Plane::new(s, s, gi.iter().zip(x).map(|(g, x)| (g * x).max(0.0)).collect());
            let up = |p: &Plane| cam::heatmap(p, image.width, image.height);
            let layer = fusion::mean_map(&[lc[0][i].heatmap.clone(), lc[1][i].heatmap.clone()]);
            let sal2 = up(&box_blur(&sal, 2));
            let gxi2 = up(&box_blur(&gxi, 2));
            let signed = Plane::new(s, s, gi.iter().zip(x).map(|(g, x)| g * x).collect());
            let signed4 = box_blur(&signed, 4);
            let signed4 = Plane::new(s, s, signed4.data.iter().map(|v| v.max(0.0)).collect());
            let maps = [
                layer.clone(), up(&sal), sal2.clone(), up(&gxi), gxi2.clone(), up(&box_blur(&gxi, 4)), times(&layer, &gxi2), times(&layer, &sal2),
                up(&box_blur(&gxi, 6)), up(&box_blur(&gxi, 8)), up(&box_blur(&sal, 4)), up(&box_blur(&sal, 6)), up(&signed4), up(&box_blur(&prepared[i], 4)), up(&box_blur(&prepared[i], 8)),
            ];
            for (v, map) in maps.iter().enumerate() {
                let shaped_map = fusion::shaped(image, map);
                for (k, t) in CUTS.iter().map(|&t| Threshold::Fixed(t)).chain([Threshold::Otsu]).enumerate() {
                    raw[v][k].push(dice(&t.apply(map), &truth));
                    shaped[v][k].push(dice(&t.apply(&shaped_map), &truth));
                }
            }
        }
        eprint!(".");
    }
    eprintln!();
    println!("{split}: {} tumour slices; mean Dice by cut (raw / after the shape step)\n", records.len());
    println!("| recipe | {} | otsu |\n|---|{}", CUTS.map(|t| t.to_string()).join(" | "), "---|".repeat(CUTS.len() + 1));
    for (v, name) in names.iter().enumerate() {
        let cells: Vec<String> = (0..=CUTS.len()).map(|k| format!("{:.3} / {:.3}", mean(&raw[v][k]), mean(&shaped[v][k]))).collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
    Ok(())
}
