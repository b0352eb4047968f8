//! `camseg train` on data as people keep it: class folders, a labels CSV, this project's
//! `index.csv`; and its refusals and warnings, each naming the files or classes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn camseg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_camseg")).args(args).output().expect("run camseg")
}

/// Runs a command that must succeed; returns (stdout, stderr).
fn ok(args: &[&str]) -> (String, String) {
    let out = camseg(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "camseg {args:?} failed: {err}");
    (String::from_utf8(out.stdout).unwrap(), err)
}

fn fails(args: &[&str]) -> String {
    let out = camseg(args);
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert!(!out.status.success(), "camseg {args:?} should fail");
    assert!(!err.contains("panicked"), "camseg {args:?} panicked: {err}");
    assert!(err.starts_with("camseg: error:"), "{err}");
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A phantom set in the project's layout: (folder, rows of file, patient, split, label).
fn phantom(dir: &Path) -> (PathBuf, Vec<(String, String, String, bool)>) {
    let data = dir.join("ph");
    ok(&["phantom", "--out", s(&data), "--count", "80", "--size", "32", "--seed", "5"]);
    let index = fs::read_to_string(data.join("index.csv")).unwrap();
    let rows = index
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[0].to_string(), c[1].to_string(), c[3].to_string(), c[4] == "1")
        })
        .collect();
    (data, rows)
}

const TINY: [&str; 10] = ["--epochs", "1", "--batch-size", "8", "--input-size", "32", "--widths", "4,8", "--convs", "1,1"];

fn train(data: &Path, out: &Path, extra: &[&str]) -> (serde_json::Value, String) {
    let mut args = vec!["train", "--data", s(data), "--out", s(out), "--licence", "CC BY 4.0 (test)"];
    args.extend(TINY);
    args.extend(extra);
    let (_, err) = ok(&args);
    (serde_json::from_str(&fs::read_to_string(out.with_extension("json")).unwrap()).unwrap(), err)
}

#[test]
fn class_folders_a_labels_csv_and_the_index_layout_all_train() {
    let dir = tempfile::tempdir().unwrap();
    let (data, rows) = phantom(dir.path());

    // Class folders, masks beside their images as x_mask.png.
    let folders = dir.path().join("folders");
    for (file, _, _, lesion) in &rows {
        let class = folders.join(if *lesion { "tumour" } else { "normal" });
        fs::create_dir_all(&class).unwrap();
        fs::copy(data.join("images").join(file), class.join(file)).unwrap();
        if *lesion {
            fs::copy(data.join("masks").join(file), class.join(file.replace(".png", "_mask.png"))).unwrap();
        }
    }
    fs::write(folders.join("README.txt"), "about this set").unwrap();
    let model = dir.path().join("folders-model");
    let (card, _) = train(&folders, &model, &["--val-share", "0.25"]);
    let labels = &card["training"]["labels"];
    assert_eq!(labels["layout"], "class-folders");
    assert_eq!(labels["options"]["positive"], serde_json::json!(["tumour"]));
    let classes = labels["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 2);
    let tumour = classes.iter().find(|c| c["name"] == "tumour").unwrap();
    assert_eq!(tumour["per_split"]["val"], 10, "a quarter of 40: {labels}");
    assert_eq!(card["licence"], "CC BY 4.0 (test)");
    assert!(card["training"]["command"].as_str().unwrap().contains("--val-share 0.25"));
    assert!(card["metrics"]["val_auc"].is_number());
    assert!(card["metrics"]["val_mean_dice"].is_number(), "masks were found, so val is scored: {}", card["metrics"]);
    // eval reads the folder as the model was trained on it: the same val images.
    let (json, _) = ok(&["eval", "--data", s(&folders), "--model", s(&model), "--split", "val", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["images"], 20);
    assert_eq!(v["tumour_images"], 10);

    // A labels CSV with groups (the phantom's patients), no masks.
    let csv_dir = dir.path().join("csv");
    fs::create_dir_all(csv_dir.join("scans")).unwrap();
    let mut text = String::from("file,label,group\n");
    for (file, patient, _, lesion) in &rows {
        fs::copy(data.join("images").join(file), csv_dir.join("scans").join(file)).unwrap();
        text += &format!("scans/{file},{},{patient}\n", if *lesion { "yes" } else { "no" });
    }
    fs::write(csv_dir.join("labels.csv"), text).unwrap();
    let (card, err) = train(&csv_dir, &dir.path().join("csv-model"), &[]);
    assert_eq!(card["training"]["labels"]["layout"], "labels-csv");
    assert_eq!(card["training"]["labels"]["options"]["positive"], serde_json::json!(["yes"]));
    assert!(card["metrics"]["val_auc"].is_number());
    assert!(card["metrics"].get("val_mean_dice").is_none(), "no masks, no Dice");
    assert!(err.contains("no lesion masks"), "{err}");

    // This project's own layout: with no val split, a share of its train patients is held out
    // (and the card says how, so eval holds out the same ones).
    assert!(rows.iter().all(|r| r.2 == "train"));
    let index_model = dir.path().join("index-model");
    let (card, err) = train(&data, &index_model, &[]);
    assert!(err.contains("held out"), "{err}");
    assert_eq!(card["training"]["labels"]["layout"], "index");
    let held: u64 = card["training"]["labels"]["classes"].as_array().map_or(0, |c| c.len() as u64);
    assert_eq!(held, 0, "an index's classes are its labels, not listed");
    let (json, _) = ok(&["eval", "--data", s(&data), "--model", s(&index_model), "--split", "val", "--json"]);
    let val: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(val["images"].as_u64().unwrap() + card["training"]["train_images"].as_u64().unwrap(), rows.len() as u64);
}

#[test]
fn bad_label_sets_are_refused_and_doubtful_files_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let (data, rows) = phantom(dir.path());
    let out = dir.path().join("m");
    let make = |name: &str, classes: &[(&str, usize)]| {
        let root = dir.path().join(name);
        let mut files = rows.iter().map(|r| &r.0);
        for (class, n) in classes {
            fs::create_dir_all(root.join(class)).unwrap();
            for file in files.by_ref().take(*n) {
                fs::copy(data.join("images").join(file), root.join(class).join(file)).unwrap();
            }
        }
        root
    };
    let one = make("one", &[("tumour", 20)]);
    let err = fails(&["train", "--data", s(&one), "--out", s(&out)]);
    assert!(err.contains("only one class") && err.contains("`tumour`") && err.contains(s(&one)), "{err}");
    let few = make("few", &[("tumour", 20), ("normal", 6)]);
    let err = fails(&["train", "--data", s(&few), "--out", s(&out)]);
    assert!(err.contains("`normal` has 6") && err.contains("at least 10"), "{err}");
    let unnamed = make("unnamed", &[("a", 12), ("b", 12)]);
    let err = fails(&["train", "--data", s(&unnamed), "--out", s(&out)]);
    assert!(err.contains("--positive"), "{err}");
    let err = fails(&["train", "--data", s(&unnamed), "--out", s(&out), "--positive", "c"]);
    assert!(err.contains("`c`"), "{err}");
    let err = fails(&["train", "--data", s(&unnamed), "--out", s(&out), "--positive", "b", "--negatives", "head-p5"]);
    assert!(err.contains("index.csv"), "{err}");
    assert!(!out.with_extension("json").exists(), "nothing is written on a refusal");

    // Warnings: the rest still trains.
    let doubtful = make("doubtful", &[("lesion", 14), ("normal", 14)]);
    let first = fs::read_dir(doubtful.join("lesion")).unwrap().next().unwrap().unwrap().path();
    fs::copy(&first, doubtful.join("normal/copy.png")).unwrap();
    fs::write(doubtful.join("normal/broken.png"), b"not a png").unwrap();
    let big = image::GrayImage::from_fn(48, 40, |x, y| image::Luma([((x + y) * 3) as u8]));
    big.save(doubtful.join("normal/big.png")).unwrap();
    let (card, err) = train(&doubtful, &out, &["--positive", "lesion"]);
    assert!(err.contains("normal/copy.png (normal)") && err.contains("two classes"), "{err}");
    assert!(err.contains("normal/broken.png") && err.contains("skipped"), "{err}");
    assert!(err.contains("normal/big.png") && err.contains("resized"), "{err}");
    let counted: u64 = card["training"]["labels"]["classes"].as_array().unwrap().iter().flat_map(|c| c["per_split"].as_object().unwrap().values().map(|v| v.as_u64().unwrap())).sum();
    assert_eq!(counted, 13 + 14 + 1, "the duplicate's copies and the broken file are out, big.png is in");
}

/// Volumes count as labelled scans: NIfTI scans in class folders are cut into their slices,
/// each scan kept on one side of the split, its label volume giving the slices' masks.
#[test]
fn volumes_in_class_folders_train_as_their_slices() {
    use camseg::volume::{nifti::write_u8, Geometry};
    let dir = tempfile::tempdir().unwrap();
    let (data, rows) = phantom(dir.path());
    let root = dir.path().join("volumes");
    let geometry = Geometry::from_affine([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0]]);
    let read = |folder: &str, file: &str| image::open(data.join(folder).join(file)).unwrap().to_luma8();
    // Five slices a scan, each scan of one class: 8 tumour and 8 normal scans.
    for lesion in [true, false] {
        let files: Vec<&String> = rows.iter().filter(|r| r.3 == lesion).map(|r| &r.0).collect();
        let class = if lesion { "tumour" } else { "normal" };
        fs::create_dir_all(root.join(class)).unwrap();
        for (k, scan) in files.chunks_exact(5).take(8).enumerate() {
            let (mut voxels, mut labels) = (Vec::new(), Vec::new());
            for file in scan {
                voxels.extend(read("images", file).into_raw());
                labels.extend(read("masks", file).into_raw().into_iter().map(|v| u8::from(v > 127)));
            }
            let dims = [32, 32, scan.len()];
            fs::write(root.join(class).join(format!("s{k}.nii.gz")), write_u8(dims, &geometry, &voxels, "scan", 0)).unwrap();
            if lesion {
                fs::write(root.join(class).join(format!("s{k}_mask.nii.gz")), write_u8(dims, &geometry, &labels, "labels", 1002)).unwrap();
            }
        }
    }
    let model = dir.path().join("volumes-model");
    let (card, err) = train(&root, &model, &["--val-share", "0.25"]);
    let labels = &card["training"]["labels"];
    assert_eq!(labels["layout"], "class-folders", "{err}");
    for class in labels["classes"].as_array().unwrap() {
        assert_eq!(class["per_split"]["val"], 10, "two whole scans of eight held out: {class}");
        assert_eq!(class["per_split"]["train"], 30, "{class}");
    }
    assert!(card["metrics"]["val_mean_dice"].is_number(), "the label volumes are the masks: {}", card["metrics"]);
    let (json, _) = ok(&["eval", "--data", s(&root), "--model", s(&model), "--split", "val", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["images"], 20);
    assert_eq!(v["tumour_images"], 10);

    // A scan that cannot be read is named, and the rest still trains.
    fs::write(root.join("normal/broken.nii.gz"), b"not a volume").unwrap();
    let (_, err) = train(&root, &dir.path().join("again"), &[]);
    assert!(err.contains("normal/broken.nii.gz"), "{err}");
}
