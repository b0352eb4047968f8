//! Adversarial erasing (Wei et al., CVPR 2017) as a classifier-only mask method: erase each
//! training image's CAM region, fine-tune a copy of the classifier on the erased images (it
//! must now find other evidence), take both classifiers' CAMs of the original image, keep
//! their union, apply the shape step. No intensity rule, no true mask: labels are image-level.
//!
//! Prints mean Dice on val for every cut (to choose on) and on test at the val-chosen cut,
//! with patient-bootstrap intervals and the paired difference against the first CAM alone.
//!
//! cargo run --example adversarial_erasing -- ../shared/data/lgg static/models/lgg [EPOCHS]
use burn::tensor::Device;
use camseg::cam::{fusion, CamMethod};
use camseg::card::files;
use camseg::data::{Dataset, Negatives, Record};
use camseg::evaluate::{best_threshold, compare, summarise, ImageScore};
use camseg::masks::Threshold;
use camseg::model::Classifier;
use camseg::pipeline::analyse;
use camseg::plane::Plane;
use camseg::train::{train, Sample, TrainConfig};

/// The classifier-only map erased and united: multi-layer LayerCAM, cut where val put it.
const METHOD: CamMethod = CamMethod::LayerCamMulti;
const BLOCK: usize = 3;
const ERASE_CUT: f32 = 0.4;

/// `image` with `mask` filled by the mean of the head outside it: erased, not blacked out
/// (a black hole would itself tell the classifier where the CAM was).
fn erased(image: &Plane, mask: &camseg::masks::Mask) -> Plane {
    let rest: Vec<f32> = image.data.iter().zip(&mask.bits).filter(|(v, m)| !**m && **v > camseg::data::ScanSettings::default().field_of_view_level).map(|(v, _)| *v).collect();
    let fill = if rest.is_empty() { 0.0 } else { rest.iter().sum::<f32>() / rest.len() as f32 };
    Plane::new(image.width, image.height, image.data.iter().zip(&mask.bits).map(|(&v, &m)| if m { fill } else { v }).collect())
}

fn maps(model: &Classifier, card: &camseg::card::ModelCard, images: &[&Plane], device: &Device) -> camseg::Result<Vec<camseg::pipeline::Analysis>> {
    camseg::block_on(analyse(model, &card.input, images, BLOCK, METHOD, device))
}

struct Scored {
    records: Vec<Record>,
    first: Vec<(f32, Plane)>,
    united: Vec<Plane>,
    truths: Vec<camseg::masks::Mask>,
}

fn score(s: &Scored, united: bool, cut: Threshold) -> Vec<ImageScore> {
    (0..s.records.len())
        .map(|i| {
            let (p, first) = &s.first[i];
            let map = if united { &s.united[i] } else { first };
            let r = &s.records[i];
            ImageScore::new(&r.file, *p, map, Some(&s.truths[i]), r.is_tumour(), cut).of_patient(&r.patient)
        })
        .collect()
}

fn main() -> camseg::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (data, model_path) = (&args[0], &args[1]);
    let epochs: usize = args.get(2).map(|e| e.parse().expect("EPOCHS is a number")).unwrap_or(2);
    let device = Device::flex();
    let (card, model) = files::load(std::path::Path::new(model_path), &device)?;
    let ds = Dataset::open(data)?;
    let negatives = Negatives::parse(&card.training.negatives)?;

    // 1. Erase every training image's own CAM region (tumour and no-tumour alike, so the
    //    erasure itself says nothing about the label) and fine-tune a copy on them.
    let started = std::time::Instant::now();
    let mut samples = Vec::new();
    for chunk in ds.select("train", negatives)?.chunks(16) {
        let images = chunk.iter().map(|r| ds.load_image(r, card.input.channel)).collect::<camseg::Result<Vec<_>>>()?;
        let found = maps(&model, &card, &images.iter().collect::<Vec<_>>(), &device)?;
        for ((r, image), a) in chunk.iter().zip(&images).zip(&found) {
            samples.push(Sample { input: card.input.prepare(&erased(image, &a.mask(Threshold::Fixed(ERASE_CUT)))), label: r.is_tumour() });
        }
    }
    eprintln!("erased {} training images in {:.0} s", samples.len(), started.elapsed().as_secs_f64());
    let config = TrainConfig { epochs, learning_rate: 3e-4, contrast: 1.4, ..TrainConfig::default() };
    let (second, _) = camseg::block_on(train(model.clone(), &card.input, &config, &samples, &device, |_| std::ops::ControlFlow::Continue(())))?;
    eprintln!("fine-tuned {epochs} epochs in {:.0} s", started.elapsed().as_secs_f64());

    // 2. Both classifiers' maps of the original images, united (pixel-wise max), shaped.
    let mut by_split = Vec::new();
    for split in ["val", "test"] {
        let records = ds.select(split, negatives)?;
        let mut s = Scored { records: Vec::new(), first: Vec::new(), united: Vec::new(), truths: Vec::new() };
        for chunk in records.chunks(16) {
            let images = chunk.iter().map(|r| ds.load_image(r, card.input.channel)).collect::<camseg::Result<Vec<_>>>()?;
            let refs: Vec<&Plane> = images.iter().collect();
            let (a, b) = (maps(&model, &card, &refs, &device)?, maps(&second, &card, &refs, &device)?);
            for (i, (r, image)) in chunk.iter().zip(&images).enumerate() {
                let union = Plane::new(image.width, image.height, a[i].heatmap.data.iter().zip(&b[i].heatmap.data).map(|(x, y)| x.max(*y)).collect());
                s.united.push(fusion::shaped(image, &union, &camseg::data::ScanSettings::default()));
                s.first.push((a[i].probability, a[i].heatmap.clone()));
                s.truths.push(ds.load_mask(r, image.width, image.height)?);
                s.records.push(r.clone());
            }
        }
        by_split.push(s);
    }
    let (val, test) = (&by_split[0], &by_split[1]);
    for (name, united) in [("first CAM alone", false), ("erasing union", true)] {
        let sweep = summarise(&score(val, united, Threshold::Fixed(0.5)), name, BLOCK, Threshold::Fixed(0.5));
        let (cut, _) = best_threshold(&sweep).expect("val has tumours");
        let (v, t) = (summarise(&score(val, united, cut), name, BLOCK, cut), summarise(&score(test, united, cut), name, BLOCK, cut));
        let curve: Vec<String> = sweep.dice_by_threshold.iter().map(|(k, d)| format!("{k}:{d:.3}")).collect();
        println!("{name} ({} block {BLOCK}): val by cut {}", METHOD.name(), curve.join(" "));
        println!(
            "  cut {cut} (val): val {:.3} ({}), test {:.3} ({}), test gated {:.3} ({})",
            v.mean_dice, v.mean_dice_ci95, t.mean_dice, t.mean_dice_ci95, t.gated_mean_dice, t.gated_mean_dice_ci95
        );
        if united {
            let first_cut = best_threshold(&summarise(&score(val, false, Threshold::Fixed(0.5)), "", BLOCK, Threshold::Fixed(0.5))).unwrap().0;
            for (split, s) in [("val", val), ("test", test)] {
                let c = compare(&score(s, true, cut), &score(s, false, first_cut), "first CAM alone", first_cut);
                println!("  {split}: union minus first CAM {:+.3} ({})", c.difference, c.difference_ci95);
            }
        }
    }
    Ok(())
}
