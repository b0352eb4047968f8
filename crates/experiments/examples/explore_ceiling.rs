//! How far the shipped maps could go, explored on **val** only: for the intensity rule, the
//! shipped default (fusion) and the classifier-only walk, each at its card cut, at the best
//! cut for each image (an oracle: it reads the true mask), and the per-slice best of two or
//! three methods (an oracle too). Upper bounds for any rule that picks a cut or a method per
//! image from these maps, to weigh a target such as "fusion >= intensity + 0.10".
//! `METHODS=a,b,...` names other methods (each at the card's block and cut for it); the pairs
//! shown are the first with each other one.
//!
//! cargo run --release --example explore_ceiling -- ../shared/data/lgg static/models/lgg val
//! METHODS=intensity,gradcam,layercam-multi,layercam-walk cargo run --example explore_ceiling -- ../shared/data/busi static/models/busi val
use camseg::cam::CamMethod;
use camseg::masks::Threshold;
use camseg::metrics::{dice, mean};
use camseg::pipeline::analyse;
use camseg::plane::Plane;
use camseg_experiments::explore::Exploration;

const CUTS: [f32; 20] = [0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];
const METHODS: [CamMethod; 3] = [CamMethod::Intensity, CamMethod::Fusion, CamMethod::LayerCamWalk];

fn methods() -> camseg::Result<Vec<CamMethod>> {
    match std::env::var("METHODS") {
        Ok(list) => list.split(',').map(CamMethod::parse).collect(),
        Err(_) => Ok(METHODS.to_vec()),
    }
}

fn main() -> camseg::Result<()> {
    let Exploration { split, device, card, model, ds, records } = Exploration::from_args("explore_ceiling")?;
    let spec = &card.input;
    let methods = methods()?;
    // Per method: Dice at its card cut and at the best cut for each image, slice by slice.
    let mut at_card = vec![Vec::new(); methods.len()];
    let mut best_cut = vec![Vec::new(); methods.len()];
    for chunk in records.chunks(8) {
        let images = chunk.iter().map(|r| ds.load_image(r, spec.channel)).collect::<camseg::Result<Vec<_>>>()?;
        let refs: Vec<&Plane> = images.iter().collect();
        let truths = chunk.iter().zip(&images).map(|(r, im)| ds.load_mask(r, im.width, im.height)).collect::<camseg::Result<Vec<_>>>()?;
        for (k, &method) in methods.iter().enumerate() {
            let (block, cut) = card.cam.for_method(method);
            let analyses = camseg::block_on(analyse(&model, spec, &refs, block, method, &device))?;
            for (a, truth) in analyses.iter().zip(&truths) {
                at_card[k].push(dice(&a.mask(cut), truth));
                let oracle = CUTS.iter().map(|&t| dice(&a.mask(Threshold::Fixed(t)), truth)).fold(0.0, f64::max);
                best_cut[k].push(oracle);
            }
        }
        eprint!(".");
    }
    eprintln!();
    println!("{split}: {} tumour slices, mean Dice\n", records.len());
    println!("| method | at its card cut | best cut per image (oracle) |\n|---|---|---|");
    for (k, method) in methods.iter().enumerate() {
        println!("| {method} | {:.3} | {:.3} |", mean(&at_card[k]), mean(&best_cut[k]));
    }
    let best_of = |which: &[usize], scores: &[Vec<f64>]| -> f64 {
        let per_slice: Vec<f64> = (0..records.len()).map(|i| which.iter().map(|&k| scores[k][i]).fold(0.0, f64::max)).collect();
        mean(&per_slice)
    };
    println!("\n| per-slice best of (oracle) | at card cuts | at each image's best cut |\n|---|---|---|");
    let mut combos: Vec<Vec<usize>> = (1..methods.len()).map(|k| vec![0, k]).collect();
    if methods.len() > 2 {
        combos.push((0..methods.len()).collect());
    }
    for which in combos {
        let name = which.iter().map(|&k| methods[k].to_string()).collect::<Vec<_>>().join(", ");
        println!("| {name} | {:.3} | {:.3} |", best_of(&which, &at_card), best_of(&which, &best_cut));
    }
    Ok(())
}
