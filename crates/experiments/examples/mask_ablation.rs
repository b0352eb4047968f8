//! What the classifier adds to the mask: a 2x2 ablation, CAM on/off x intensity weight on/off,
//! every cell with the same shape step (`fusion::shaped`) and its own cut chosen on val.
//!
//! - CAM + intensity: two-layer Grad-CAM++ x the FLAIR prior (= the `fusion` method);
//! - CAM only: the same two-layer map, no intensity weight;
//! - intensity only: the prior (= the `intensity` method, no classifier);
//! - neither: a flat map, so the shape step alone (the head less its scalp band).
//!
//! Prints, per cell: the val-chosen cut, mean Dice on val and test with patient-bootstrap 95%
//! intervals, gated Dice and false-mask rates, then paired differences on test.
//!
//! cargo run --example mask_ablation -- ../shared/data/lgg static/models/lgg
use burn::tensor::Device;
use camseg::cam::{fusion, intensity, CamMethod};
use camseg::card::files;
use camseg::data::{Dataset, Negatives, Record};
use camseg::evaluate::{best_threshold, compare, summarise, ImageScore, Summary};
use camseg::masks::Threshold;
use camseg::pipeline::analyse;
use camseg::plane::Plane;

const CELLS: [&str; 4] = ["CAM + intensity (fusion)", "CAM only", "intensity only", "neither (shape step alone)"];

/// The four cells' maps of one image, from its two Grad-CAM++ layers.
fn cells(image: &Plane, coarse: &Plane, finer: &Plane, scan: &camseg::data::ScanSettings) -> [Plane; 4] {
    let flat = Plane::new(image.width, image.height, vec![1.0; image.data.len()]);
    [
        fusion::fuse(image, &[coarse.clone(), finer.clone()], scan),
        fusion::shaped(image, &fusion::mean_map(&[coarse.clone(), finer.clone()]), scan),
        fusion::shaped(image, &intensity::prior(image, scan), scan),
        fusion::shaped(image, &flat, scan),
    ]
}

/// Every image of `records` as (file, patient, label, probability, truth, the four maps).
struct Split {
    records: Vec<Record>,
    probs: Vec<f32>,
    truths: Vec<camseg::masks::Mask>,
    maps: Vec<[Plane; 4]>,
}

fn load(ds: &Dataset, records: Vec<Record>, model: &camseg::model::Classifier, card: &camseg::card::ModelCard, device: &Device) -> camseg::Result<Split> {
    let (mut probs, mut truths, mut maps) = (Vec::new(), Vec::new(), Vec::new());
    let block = card.cam.block;
    for chunk in records.chunks(16) {
        let images = chunk.iter().map(|r| ds.load_image(r, card.input.channel)).collect::<camseg::Result<Vec<_>>>()?;
        let refs: Vec<&Plane> = images.iter().collect();
        let run = |b| camseg::block_on(analyse(model, &card.input, &refs, b, CamMethod::GradCamPlusPlus, device));
        let (coarse, finer) = (run(block)?, run(block - 1)?);
        for (i, (r, image)) in chunk.iter().zip(&images).enumerate() {
            probs.push(coarse[i].probability);
            truths.push(ds.load_mask(r, image.width, image.height)?);
            maps.push(cells(image, &coarse[i].heatmap, &finer[i].heatmap, &card.input.scan));
        }
        eprint!(".");
    }
    eprintln!();
    Ok(Split { records, probs, truths, maps })
}

impl Split {
    fn scores(&self, cell: usize, threshold: Threshold) -> Vec<ImageScore> {
        (0..self.records.len())
            .map(|i| {
                let r = &self.records[i];
                ImageScore::new(&r.file, self.probs[i], &self.maps[i][cell], Some(&self.truths[i]), r.is_tumour(), threshold).of_patient(&r.patient)
            })
            .collect()
    }
}

fn row(name: &str, cut: Threshold, val: &Summary, test: &Summary) -> String {
    format!(
        "| {name} | {cut} | {:.3} ({}) | **{:.3}** ({}) | {:.3} ({}) | {:.2} / {:.2} |",
        val.mean_dice, val.mean_dice_ci95, test.mean_dice, test.mean_dice_ci95, test.gated_mean_dice, test.gated_mean_dice_ci95,
        test.false_positive_rate, test.gated_false_positive_rate
    )
}

fn main() -> camseg::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, model_path] = <[String; 2]>::try_from(args).map_err(|_| camseg::Error::Invalid("usage: mask_ablation DATA MODEL".into()))?;
    let device = Device::flex();
    let (card, model) = files::load(std::path::Path::new(&model_path), &device)?;
    let ds = Dataset::open(&data)?;
    let negatives = Negatives::parse(&card.training.negatives)?;
    let val = load(&ds, ds.select("val", negatives)?, &model, &card, &device)?;
    let test = load(&ds, ds.select("test", negatives)?, &model, &card, &device)?;
    println!("val {} slices ({} patients), test {} slices; negatives {}; block {}\n", val.records.len(), summarise(&val.scores(0, Threshold::Otsu), "", 0, Threshold::Otsu).patients, test.records.len(), negatives.name(), card.cam.block);
    println!("| cell | cut (val) | val Dice (95% CI) | test Dice (95% CI) | test gated Dice (95% CI) | test false-mask rate ungated / gated |");
    println!("|---|---|---|---|---|---|");
    let mut chosen = Vec::new();
    for (cell, name) in CELLS.iter().enumerate() {
        // Choose the cut on val: the sweep's best mean Dice.
        let sweep = summarise(&val.scores(cell, Threshold::Fixed(0.5)), name, card.cam.block, Threshold::Fixed(0.5));
        let (cut, _) = best_threshold(&sweep).expect("val has tumour slices");
        let (v, t) = (val.scores(cell, cut), test.scores(cell, cut));
        println!("{}", row(name, cut, &summarise(&v, name, 0, cut), &summarise(&t, name, 0, cut)));
        chosen.push((cut, v, t));
    }
    println!("\nPaired differences of mean Dice (patient bootstrap, same resamples):\n");
    println!("| difference | val (95% CI) | test (95% CI) | test gated (95% CI) |\n|---|---|---|---|");
    for (a, b) in [(0, 2), (0, 1), (1, 3), (2, 3)] {
        let (v, t) = (compare(&chosen[a].1, &chosen[b].1, CELLS[b], chosen[b].0), compare(&chosen[a].2, &chosen[b].2, CELLS[b], chosen[b].0));
        println!(
            "| {} minus {} | {:+.3} ({}) | {:+.3} ({}) | {:+.3} ({}) |",
            CELLS[a], CELLS[b], v.difference, v.difference_ci95, t.difference, t.difference_ci95, t.gated_difference, t.gated_difference_ci95
        );
    }
    Ok(())
}
