//! Each image's cut chosen by the classifier, explored on **val** only: the card's map is cut at
//! every level of a grid; for each region the classifier is asked whether it suffices (the
//! region kept, the rest blurred: RISE's insertion) and whether it is needed (the region
//! imputed from its surround: ROAD). Rules pick a level from those answers, with no true mask
//! and no image prior; the card's cut and the oracle (each image's best level) stand beside.
//! On LGG the paper's keep / remove tests as a cut lost to a fixed cut; BUSI's walk has an
//! oracle of 0.647 against Otsu's 0.447 (`explore_ceiling`), so the question is asked again.
//!
//! SCORES=runs/busi/cuts/classifier-val.csv cargo run -p camseg-experiments --example explore_classifier_cut -- ../shared/data/busi static/models/busi val
use camseg::faithfulness::{impute, insertion_base, insertion_blur_radius};
use camseg::masks::threshold;
use camseg::metrics::{dice, mean};
use camseg::pipeline::analyse;
use camseg::plane::Plane;
use camseg_experiments::explore::{self, Exploration};

const GRID: [f32; 17] = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9];

/// What the classifier said of each level's region: p with only it kept, p with it imputed away.
struct Answers {
    kept: Vec<f32>,
    removed: Vec<f32>,
}

type Rule = (&'static str, fn(&Answers) -> Option<usize>);
const RULES: [Rule; 5] = [
    ("the smallest region that alone keeps p >= 0.5", |a| (0..GRID.len()).rev().find(|&k| a.kept[k] >= 0.5)),
    ("the smallest region whose removal drops p under 0.5", |a| (0..GRID.len()).rev().find(|&k| a.removed[k] < 0.5)),
    ("the level where kept p - removed p is largest", |a| (0..GRID.len()).max_by(|&x, &y| (a.kept[x] - a.removed[x]).total_cmp(&(a.kept[y] - a.removed[y])))),
    ("the smallest region with kept p - removed p >= 0.5", |a| (0..GRID.len()).rev().find(|&k| a.kept[k] - a.removed[k] >= 0.5)),
    ("the level where removal drops p most against the next larger region", |a| (1..GRID.len()).max_by(|&x, &y| (a.removed[x] - a.removed[x - 1]).total_cmp(&(a.removed[y] - a.removed[y - 1])))),
];

fn main() -> camseg::Result<()> {
    let Exploration { split, device, card, model, ds, records } = Exploration::from_args("explore_classifier_cut")?;
    let (method, block, card_cut) = (card.cam.method, card.cam.block, card.cam.threshold);
    let spec = &card.input;
    let size = spec.size;
    let blur = insertion_blur_radius(size);
    let (mut scores, mut at_card, mut oracle, mut clusters) = (vec![Vec::new(); RULES.len()], Vec::new(), Vec::new(), Vec::new());
    let mut chose_nothing = vec![0usize; RULES.len()];
    for (n, r) in records.iter().enumerate() {
        let image = ds.load_image(r, spec.channel)?;
        let truth = ds.load_mask(r, image.width, image.height)?;
        let a = camseg::block_on(analyse(&model, spec, &[&image], block, method, &device))?.remove(0);
        let small = image.resize_bilinear(size, size);
        let heat = a.heatmap.resize_bilinear(size, size);
        let blurred = insertion_base(&small, blur);
        let input = spec.prepare_like(&small, &small);
        let (mut kept, mut removed) = (Vec::new(), Vec::new());
        for (k, &t) in GRID.iter().enumerate() {
            let region = threshold(&heat, t);
            kept.push(Plane::new(size, size, small.data.iter().zip(&blurred.data).zip(&region.bits).map(|((&p, &b), &on)| if on { p } else { b }).collect()));
            removed.push(impute(&input, &region.bits, 42 + k as u64));
        }
        let kept = camseg::block_on(camseg::trust::probabilities(&model, &card, &kept, &small, &device))?;
        let removed = camseg::block_on(camseg::train::predict(&model, spec, &removed.iter().collect::<Vec<_>>(), 32, &device))?;
        let answers = Answers { kept, removed };
        clusters.push(r.patient.clone());
        at_card.push(dice(&a.mask(card_cut), &truth));
        let at_level = |k: usize| dice(&threshold(&a.heatmap, GRID[k]), &truth);
        oracle.push((0..GRID.len()).map(at_level).fold(0.0, f64::max));
        for (j, (_, rule)) in RULES.iter().enumerate() {
            match rule(&answers) {
                Some(k) => scores[j].push(at_level(k)),
                None => {
                    chose_nothing[j] += 1;
                    scores[j].push(*at_card.last().unwrap());
                }
            }
        }
        if n % 10 == 9 {
            eprint!(".");
        }
    }
    eprintln!();
    println!("{split}: {} lesion images; {method} at block {block}; mean Dice\n", records.len());
    println!("| cut | mean Dice | images where the rule found no level (the card's cut used) |\n|---|---|---|");
    println!("| the card's ({card_cut}) | {:.3} | |", mean(&at_card));
    for (j, (name, _)) in RULES.iter().enumerate() {
        println!("| {name} | {:.3} | {} |", mean(&scores[j]), chose_nothing[j]);
    }
    println!("| *oracle: each image's best level (reads the true mask)* | {:.3} | |", mean(&oracle));
    if let Ok(path) = std::env::var("SCORES") {
        let names: Vec<String> = std::iter::once("the card's").chain(RULES.iter().map(|(n, _)| *n)).map(String::from).collect();
        let columns: Vec<Vec<f64>> = std::iter::once(at_card).chain(scores).collect();
        explore::write_scores(&path, &clusters, &names, &columns)?;
    }
    Ok(())
}
