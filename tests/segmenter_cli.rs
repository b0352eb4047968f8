//! `camseg train-segmenter` end to end on a small phantom set: CAM labels need no true mask
//! (the masks folder is taken away), truth labels do, and outputs are kept unless forced.

use std::path::Path;
use std::process::{Command, Output};

fn camseg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_camseg")).args(args).output().expect("run camseg")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn cam_labels_read_no_true_mask_and_the_segmenter_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ph");
    assert!(camseg(&["phantom", "--out", s(&data), "--count", "200", "--size", "32", "--seed", "4"]).status.success());
    // No true mask exists any more: only the index's tumour / no-tumour labels are left.
    std::fs::rename(data.join("masks"), dir.path().join("hidden_masks")).unwrap();
    let out = dir.path().join("seg");
    let classifier = Path::new(env!("CARGO_MANIFEST_DIR")).join("static/models/phantom");
    let common = ["train-segmenter", "--data", s(&data), "--out", s(&out), "--epochs", "1", "--batch-size", "8", "--input-size", "32", "--widths", "4,8"];
    let cam = [&common[..], &["--labels", "cam", "--model", s(&classifier), "--method", "gradcam", "--block", "2", "--threshold", "0.5"]].concat();

    let truth = camseg(&common);
    let err = String::from_utf8_lossy(&truth.stderr);
    assert!(!truth.status.success() && err.contains("is missing but index.csv says the slice has a tumour"), "{err}");

    let run = camseg(&cam);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let card: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.with_extension("json")).unwrap()).unwrap();
    assert_eq!(card["format"], "camseg-segmenter/1");
    assert_eq!(card["labels"], "cam:gradcam@0.5");
    assert_eq!(card["training"]["cam_block"], 2);
    assert_eq!(card["training"]["val_dice"].as_array().unwrap().len(), 1);

    let again = camseg(&cam);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("exists; pass --force"));
    let forced = [&cam[..], &["--force"]].concat();
    assert!(camseg(&forced).status.success());

    // The CAM's fringe left out of the loss: named in the card; a band that is not below the
    // cut, or with truth labels, is refused with a message.
    let banded = [&forced[..], &["--unsure-from", "0.2"]].concat();
    let run = camseg(&banded);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let card: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.with_extension("json")).unwrap()).unwrap();
    assert_eq!(card["labels"], "cam:gradcam@0.5 unsure from 0.2");
    for (args, expected) in [(&[&forced[..], &["--unsure-from", "0.5"]].concat(), "below --threshold"), (&[&common[..], &["--unsure-from", "0.2", "--force"]].concat(), "for --labels cam")] {
        let err = String::from_utf8_lossy(&camseg(args).stderr).to_string();
        assert!(err.contains(expected), "{err}");
    }

    let device = burn::tensor::Device::flex();
    let (card, model) = camseg::segmenter::load(&out, &device).unwrap();
    assert_eq!(card.architecture.widths, [4, 8]);
    let image = camseg::plane::Plane::zeros(48, 40);
    let maps = camseg::block_on(camseg::segmenter::segment(&model, &card.input, &[&image], &device)).unwrap();
    assert_eq!((maps[0].width, maps[0].height), (48, 40));
}
