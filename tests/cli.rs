//! The `camseg` binary end to end on a small phantom set, and its answers to bad input:
//! exit code != 0 and one clear line, never a panic.

use std::path::Path;
use std::process::{Command, Output};

fn camseg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_camseg")).args(args).output().expect("run camseg")
}

fn ok(args: &[&str]) -> String {
    let out = camseg(args);
    assert!(out.status.success(), "camseg {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command expected to fail; returns its one-line error.
fn fails(args: &[&str]) -> String {
    let out = camseg(args);
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert!(!out.status.success(), "camseg {args:?} should fail");
    assert!(!err.contains("panicked"), "camseg {args:?} panicked: {err}");
    assert_eq!(err.lines().count(), 1, "one line expected: {err}");
    assert!(err.starts_with("camseg: error:"), "{err}");
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn phantom_train_eval_cam_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ph");
    let model = dir.path().join("m");
    ok(&["phantom", "--out", s(&data), "--count", "200", "--size", "32", "--seed", "3"]);
    let index = std::fs::read_to_string(data.join("index.csv")).unwrap();
    assert_eq!(index.lines().count(), 201);
    assert!(index.starts_with("file,patient,slice,split,label,tumor_px,head_px"));

    ok(&["train", "--data", s(&data), "--out", s(&model), "--epochs", "2", "--batch-size", "8", "--input-size", "32", "--widths", "4,8", "--convs", "1,1", "--keep-epochs"]);
    let card: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(model.with_extension("json")).unwrap()).unwrap();
    assert_eq!(card["architecture"]["widths"], serde_json::json!([4, 8]));
    assert!(card["metrics"]["val_auc"].is_number());
    // Each epoch is kept as a model of its own, and the shipped one computes what val AUC's
    // epoch (the later on a tie) computes. (The files differ: burn stores random parameter ids.)
    let scores = |stem: &Path| {
        let v: serde_json::Value = serde_json::from_str(&ok(&["eval", "--data", s(&data), "--model", s(stem), "--split", "all", "--json", "--method", "gradcam", "--block", "1"])).unwrap();
        (v["auc"].as_f64().unwrap(), v["mean_dice"].as_f64().unwrap())
    };
    let kept: Vec<f64> = (1..=2)
        .map(|k| {
            let c: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join(format!("m-e{k}.json"))).unwrap()).unwrap();
            c["metrics"]["val_auc"].as_f64().unwrap()
        })
        .collect();
    let best = if kept[1] >= kept[0] { 2 } else { 1 };
    assert_eq!(card["metrics"]["val_auc"].as_f64().unwrap(), kept[best - 1]);
    assert_eq!(scores(&model), scores(&dir.path().join(format!("m-e{best}"))), "the shipped model is not epoch {best}'s");

    let json = ok(&["eval", "--data", s(&data), "--model", s(&model.with_extension("bpk")), "--split", "all", "--json", "--threshold", "otsu"]);
    assert_eq!(json.lines().count(), 1, "exactly one JSON object: {json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    for key in ["images", "tumour_images", "accuracy", "auc", "sensitivity", "specificity", "mean_dice", "mean_dice_ge50", "method", "threshold"] {
        assert!(v.get(key).is_some(), "missing {key} in {json}");
    }
    assert_eq!(v["images"], 200);
    assert_eq!(v["tumour_images"], 100);
    assert_eq!(v["threshold"], "otsu");
    let dice = v["mean_dice"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&dice));
    // Patient-level uncertainty and gating, and a paired comparison with the intensity rule.
    let json = ok(&["eval", "--data", s(&data), "--model", s(&model), "--json", "--method", "gradcam", "--block", "1", "--compare", "intensity:0.1,gradcam:0.5:0"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let (lo, hi) = (v["mean_dice_ci95"]["low"].as_f64().unwrap(), v["mean_dice_ci95"]["high"].as_f64().unwrap());
    assert!(lo <= v["mean_dice"].as_f64().unwrap() && v["mean_dice"].as_f64().unwrap() <= hi, "{json}");
    assert!(v["gated_mean_dice"].as_f64().unwrap() <= v["mean_dice"].as_f64().unwrap() + 1e-12);
    assert!((0.0..=1.0).contains(&v["false_positive_rate"].as_f64().unwrap()));
    let c = &v["comparisons"];
    assert_eq!((c[0]["method"].as_str(), c[1]["method"].as_str()), (Some("intensity block 1"), Some("gradcam block 0")));
    let d = c[0]["difference"].as_f64().unwrap();
    assert!((d - (v["mean_dice"].as_f64().unwrap() - c[0]["mean_dice"].as_f64().unwrap())).abs() < 1e-9);
    assert!(fails(&["eval", "--data", s(&data), "--model", s(&model), "--compare", "intensity"]).contains("METHOD:THRESHOLD"));

    let heat = dir.path().join("heat.png");
    let overlay = dir.path().join("overlay.png");
    let img = data.join("images/phantom_00001.png");
    let mask = data.join("masks/phantom_00001.png");
    let out = ok(&["cam", "--model", s(&model), "--image", s(&img), "--mask", s(&mask), "--out", s(&heat), "--overlay", s(&overlay), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!((0.0..=1.0).contains(&v["probability"].as_f64().unwrap()));
    assert!((0.0..=1.0).contains(&v["dice"].as_f64().unwrap()));
    assert_eq!(image::open(&heat).unwrap().width(), 32);
    assert_eq!(image::open(&overlay).unwrap().height(), 32);

    // The paper's filter-and-retrain test: the original plus each filter, one JSON line each.
    let out = ok(&["filter-retrain", "--data", s(&data), "--model", s(&model), "--epochs", "1", "--batch-size", "16", "--filters", "keep-hot,remove-random", "--json"]);
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let names: Vec<&str> = rows.iter().map(|r| r["filter"].as_str().unwrap()).collect();
    assert_eq!(names, ["original", "keep-hot", "remove-random"]);
    assert!(rows.iter().all(|r| (0.0..=1.0).contains(&r["test_accuracy"].as_f64().unwrap())));
    // `none`: the original alone, to size the budget.
    let out = ok(&["filter-retrain", "--data", s(&data), "--model", s(&model), "--epochs", "1", "--batch-size", "16", "--filters", "none", "--json"]);
    let names: Vec<String> = out.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["filter"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["original"]);
    let table = ok(&["sweep", "--data", s(&data), "--model", s(&model), "--split", "test", "--methods", "gradcam,fusion"]);
    assert_eq!(table.lines().filter(|l| l.starts_with("| gradcam") || l.starts_with("| fusion")).count(), 4);

    // `card` re-chooses the CAM default on val, and can write what it chose from: one column per
    // method, block and cut, one row per val lesion image; the best column's mean is the card's.
    let rechosen = dir.path().join("rechosen");
    for ext in ["bpk", "json"] {
        std::fs::copy(model.with_extension(ext), rechosen.with_extension(ext)).unwrap();
    }
    let choices = dir.path().join("choices.csv");
    ok(&["card", "--data", s(&data), "--model", s(&rechosen), "--choice-scores", s(&choices)]);
    let mut csv = csv::Reader::from_path(&choices).unwrap();
    let header = csv.headers().unwrap().clone();
    assert_eq!(header.len(), 1 + 8 * 2 * 11, "cluster, then 8 methods x 2 blocks x 10 cuts and Otsu");
    assert!(header.iter().any(|h| h == "layercam-walk block 1 otsu"), "{header:?}");
    let rows: Vec<Vec<f64>> = csv.records().map(|r| r.unwrap().iter().skip(1).map(|v| v.parse().unwrap()).collect()).collect();
    let val_lesions = index.lines().skip(1).map(|l| l.split(',').collect::<Vec<_>>()).filter(|f| f[3] == "val" && f[5] != "0").count();
    assert_eq!(rows.len(), val_lesions);
    let best = (0..header.len() - 1).map(|c| rows.iter().map(|r| r[c]).sum::<f64>() / rows.len() as f64).fold(f64::NEG_INFINITY, f64::max);
    let card: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(rechosen.with_extension("json")).unwrap()).unwrap();
    assert!((card["metrics"]["val_mean_dice"].as_f64().unwrap() - best).abs() < 1e-4, "the card's val Dice is not the best column's");
    assert!(fails(&["card", "--data", s(&data), "--model", s(&rechosen), "--choice-scores", s(&dir.path().join("no/such/folder.csv"))]).contains("does not exist"));

    // Bad input, each with its own message.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(fails(&["eval", "--data", s(&empty), "--model", s(&model)]).contains("no index.csv"));
    assert!(fails(&["eval", "--data", s(&data), "--model", s(&model), "--split", "nope"]).contains("has no images"));
    assert!(fails(&["eval", "--data", s(&data), "--model", s(&model), "--method", "magic"]).contains("unknown CAM method"));
    assert!(fails(&["eval", "--data", s(&data), "--model", s(&model), "--threshold", "7"]).contains("threshold"));
    let out = dir.path().join("unused");
    assert!(fails(&["train", "--data", s(&data), "--out", s(&out), "--contrast", "0.5"]).contains("at least 1"));
    assert!(fails(&["train", "--data", s(&data), "--out", s(&out), "--contrast", "1.4", "--no-augment"]).contains("--no-augment"));
    assert!(fails(&["filter-retrain", "--data", s(&data), "--model", s(&model), "--contrast", "0.5"]).contains("at least 1"));
    assert!(fails(&["train", "--data", s(&data), "--out", s(&out), "--norm-momentum", "0"]).contains("--norm-momentum 0 must be in (0, 1]"));
    assert!(fails(&["filter-retrain", "--data", s(&data), "--model", s(&model), "--norm-momentum", "1.5"]).contains("--norm-momentum 1.5"));
    assert!(fails(&["train", "--data", s(&data), "--out", s(&out), "--walk", "1,2,0.3"]).contains("--walk: `1,2,0.3` is not FEATURE_BLOCK,RADIUS,BETA,STEPS"));
    assert!(fails(&["card", "--data", s(&data), "--model", s(&model), "--walk", "1,9,0.3,64"]).contains("`walk.radius` 9"));
    let corrupt = dir.path().join("corrupt.png");
    std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\n not really").unwrap();
    assert!(fails(&["cam", "--model", s(&model), "--image", s(&corrupt), "--out", s(&heat)]).contains("corrupt"));
    let other = data.join("images/phantom_00002.png");
    let small_mask = dir.path().join("small.png");
    image::GrayImage::new(5, 5).save(&small_mask).unwrap();
    assert!(fails(&["cam", "--model", s(&model), "--image", s(&other), "--mask", s(&small_mask), "--out", s(&heat)]).contains("5x5"));
    assert!(fails(&["cam", "--model", s(&model), "--image", s(&img), "--mask", s(&img), "--out", s(&heat)]).contains("not binary"));
    let bad_weights = dir.path().join("bad");
    std::fs::copy(model.with_extension("json"), bad_weights.with_extension("json")).unwrap();
    std::fs::write(bad_weights.with_extension("bpk"), b"garbage").unwrap();
    assert!(fails(&["cam", "--model", s(&bad_weights), "--image", s(&img), "--out", s(&heat)]).contains("not a burnpack"));
}

/// The committed demo model decodes into its card's architecture, and scores the committed
/// demo phantoms as its card says it scores held-out phantoms.
#[test]
fn shipped_phantom_model_matches_its_card_and_still_works() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let json = ok(&["eval", "--data", s(&root.join("static/demo/phantom")), "--model", s(&root.join("static/models/phantom.json")), "--split", "all", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["images"], 12);
    assert!(v["accuracy"].as_f64().unwrap() >= 0.9, "{json}");
    assert!(v["mean_dice"].as_f64().unwrap() >= 0.5, "{json}");
}

#[test]
fn volumes_through_the_cli_per_slice_3d_dice_and_a_mask_on_the_scans_grid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = root.join("static/models/phantom.json");
    let dir = tempfile::tempdir().unwrap();
    let (nii, dcm) = (dir.path().join("nifti"), dir.path().join("dicom"));
    ok(&["phantom", "--volume", "nifti", "--out", s(&nii), "--count", "9", "--size", "64"]);
    ok(&["phantom", "--volume", "dicom", "--out", s(&dcm), "--count", "9", "--size", "64"]);
    let report = |scan: &Path, labels: &Path| -> serde_json::Value {
        serde_json::from_str(&ok(&["eval", "--model", s(&model), "--volume", s(scan), "--mask", s(labels), "--threshold", "0.5", "--json"])).unwrap()
    };
    let a = report(&nii.join("phantom.nii.gz"), &nii.join("phantom_mask.nii.gz"));
    let b = report(&dcm.join("phantom"), &dcm.join("phantom_mask.nii.gz"));
    assert_eq!(a["slices"].as_array().unwrap().len(), 9);
    assert_eq!(a["dims"], serde_json::json!([64, 64, 9]));
    // The two files hold the same phantoms (8-bit vs 16-bit, windowed to the same [0, 1]).
    let (da, db) = (a["dice_3d"]["gated_dice"].as_f64().unwrap(), b["dice_3d"]["gated_dice"].as_f64().unwrap());
    assert!(da > 0.3 && (da - db).abs() < 0.05, "nifti {da} vs dicom {db}");
    assert_eq!(a["dice_3d"]["truth_voxels"], b["dice_3d"]["truth_voxels"]);
    // `cam` writes the predicted mask; its voxel count is the report's.
    let out = dir.path().join("pred.nii.gz");
    let cam: serde_json::Value = serde_json::from_str(&ok(&["cam", "--model", s(&model), "--image", s(&nii.join("phantom.nii.gz")), "--out", s(&out), "--threshold", "0.5", "--json"])).unwrap();
    assert!(cam["dice_3d"].is_null(), "no labels, no 3D Dice");
    let mask = camseg::volume::nifti::read("pred", &std::fs::read(&out).unwrap()).unwrap();
    let ones = mask.data.iter().filter(|&&v| v > 0.0).count() as u64;
    assert_eq!(ones, a["dice_3d"]["predicted_voxels"].as_u64().unwrap());
    // Bad inputs: one line each, naming the file.
    let cut = dir.path().join("cut.nii.gz");
    std::fs::write(&cut, &std::fs::read(nii.join("phantom.nii.gz")).unwrap()[..100]).unwrap();
    assert!(fails(&["eval", "--model", s(&model), "--volume", s(&cut), "--json"]).contains("cut.nii.gz: is a damaged or cut-short gzip file"));
    let other = dir.path().join("other");
    ok(&["phantom", "--volume", "nifti", "--out", s(&other), "--count", "5", "--size", "64"]);
    let err = fails(&["eval", "--model", s(&model), "--volume", s(&nii.join("phantom.nii.gz")), "--mask", s(&other.join("phantom_mask.nii.gz"))]);
    assert!(err.contains("a label volume must have its scan's size"), "{err}");
    assert!(fails(&["cam", "--model", s(&model), "--image", s(&nii.join("phantom.nii.gz")), "--out", s(&dir.path().join("x.png"))]).contains("name it .nii.gz"));
}

#[test]
fn bench_prints_every_figure_and_budgets_and_devices_are_checked_first() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = root.join("static/models/phantom.json");
    let data = root.join("static/demo/phantom");
    let v: serde_json::Value = serde_json::from_str(&ok(&["bench", "--model", s(&model), "--data", s(&data), "--seconds", "0.05", "--json"])).unwrap();
    for key in ["forward_b1_img_s", "forward_b16_img_s", "gradcam_b1_img_s", "gradcam_b16_img_s", "fusion_b1_img_s", "train_b32_img_s", "eval_img_s"] {
        assert!(v[key].as_f64().is_some_and(|x| x > 0.0), "{key}: {v}");
    }
    assert!(v["macs_per_image"].as_u64().unwrap() > 0);
    assert!(fails(&["--device", "tpu", "bench", "--model", s(&model)]).contains("--device tpu: this build offers cpu"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let err = fails(&["train", "--data", s(&data), "--out", s(&out), "--batch-size", "0"]);
    assert!(err.contains("--batch-size 0: both must be at least 1"), "{err}");
    assert!(!dir.path().join("m.bpk").exists());
}

#[test]
fn existing_outputs_are_kept_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ph");
    ok(&["phantom", "--out", s(&data), "--count", "200", "--size", "32"]);
    let index = std::fs::read_to_string(data.join("index.csv")).unwrap();
    let err = fails(&["phantom", "--out", s(&data), "--count", "4", "--size", "32"]);
    assert!(err.contains("index.csv exists; pass --force"), "{err}");
    assert_eq!(std::fs::read_to_string(data.join("index.csv")).unwrap(), index, "the dataset is untouched");
    let model = dir.path().join("v1.5");
    let train = |extra: &[&str]| {
        let mut args = vec!["train", "--data", s(&data), "--out", s(&model), "--epochs", "1", "--batch-size", "8", "--input-size", "32", "--widths", "4,8", "--convs", "1,1"];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let args = train(&[]);
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(dir.path().join("v1.5.bpk").exists() && dir.path().join("v1.5.json").exists(), "a dot in the name stays in the name");
    let before = std::fs::read(dir.path().join("v1.5.bpk")).unwrap();
    let err = fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("v1.5.bpk exists; pass --force"), "{err}");
    assert_eq!(std::fs::read(dir.path().join("v1.5.bpk")).unwrap(), before);
    let forced = train(&["--force", "--seed", "7"]);
    ok(&forced.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!dir.path().join("v1.5.bpk.partial").exists());
}

/// `trust` and `lesion-removed` on the shipped phantom model and its 12 demo phantoms: every key
/// the issue names, numbers in range, and a refusal naming the split that has no lesion.
#[test]
fn trust_and_lesion_removed_report_their_figures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (data, model) = (root.join("static/demo/phantom"), root.join("static/models/phantom.json"));
    let json = ok(&["trust", "--data", s(&data), "--model", s(&model), "--split", "train", "--methods", "gradcam,layercam-walk", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["lesion_images"], 6);
    for method in ["gradcam", "layercam-walk"] {
        let m = &v["methods"][method];
        assert_eq!(m["randomisation"].as_array().unwrap().len(), 5, "head + 4 blocks: {json}");
        for key in ["deletion_auc", "insertion_auc", "road_auc", "pointing_game"] {
            let x = m[key]["mean"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&x), "{method} {key} {x}");
        }
        assert!(m["randomisation"][0]["spearman"]["mean"].as_f64().unwrap() <= 1.0);
        // Each step names the lowest block it randomised: none (the head), then 3 down to 0.
        let blocks: Vec<Option<u64>> = m["randomisation"].as_array().unwrap().iter().map(|step| step["block"].as_u64()).collect();
        assert_eq!(blocks, [None, Some(3), Some(2), Some(1), Some(0)], "{json}");
        assert!(m["randomisation"][0].get("block").is_some_and(|b| b.is_null()));
    }
    let json = ok(&["lesion-removed", "--data", s(&data), "--model", s(&model), "--split", "train", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["lesion_images"], 6);
    // Filling the phantom's tumour with the tissue round it lowers p.
    assert!(v["p_drop"]["mean"].as_f64().unwrap() > 0.0, "{json}");
    let err = fails(&["lesion-removed", "--data", s(&data), "--model", s(&model), "--split", "val"]);
    assert!(err.contains("val"), "{err}");
}

/// `--keep-epochs` only writes: on burn's autodiff (a Lite0 model, whose dropout draws from
/// burn's seeded stream) a run that keeps its epochs trains what a run without it trains.
#[test]
fn keeping_epochs_does_not_change_what_is_trained() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ph");
    ok(&["phantom", "--out", s(&data), "--count", "120", "--size", "32", "--seed", "3"]);
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/crates/model/tests/fixtures/lite0-two-blocks.safetensors");
    let run = |name: &str, keep: bool| {
        let model = dir.path().join(name);
        let mut args = vec!["train", "--data", s(&data), "--out", s(&model), "--epochs", "3", "--batch-size", "8", "--input-size", "32"];
        args.extend(["--pretrained", fixture, "--lite0-blocks", "2", "--normalisation", "unit"]);
        if keep {
            args.push("--keep-epochs");
        }
        let out = camseg(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let log: Vec<String> = String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.starts_with("epoch")).map(|l| l.split("  (").next().unwrap().to_string()).collect();
        let eval = ok(&["eval", "--data", s(&data), "--model", s(&model), "--split", "all", "--json", "--method", "gradcam", "--block", "1", "--threshold", "0.5"]);
        (log, eval)
    };
    let (plain, kept) = (run("plain", false), run("kept", true));
    assert_eq!(plain.0.len(), 3, "{:?}", plain.0);
    assert_eq!(plain, kept);
    assert!(dir.path().join("kept-e3.bpk").exists() && !dir.path().join("plain-e1.bpk").exists());
}

/// `--balance-gate` moves p = 0.5 to val's best balanced accuracy: on val, sensitivity plus
/// specificity at 0.5 is at least the unmoved model's, and AUC and the (ungated) masks are the
/// same, since the same seed trains the same weights and only the head's bias moves.
#[test]
fn a_balanced_gate_moves_the_cut_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ph");
    ok(&["phantom", "--out", s(&data), "--count", "160", "--size", "32", "--seed", "5"]);
    let run = |name: &str, balance: bool| {
        let model = dir.path().join(name);
        let mut args = vec!["train", "--data", s(&data), "--out", s(&model), "--epochs", "1", "--batch-size", "8", "--input-size", "32", "--widths", "4,8", "--convs", "1,1"];
        if balance {
            args.push("--balance-gate");
        }
        ok(&args);
        let card: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(model.with_extension("json")).unwrap()).unwrap();
        let eval = ok(&["eval", "--data", s(&data), "--model", s(&model), "--split", "val", "--json", "--method", "gradcam", "--block", "1", "--threshold", "0.5"]);
        (card, serde_json::from_str::<serde_json::Value>(&eval).unwrap())
    };
    let ((plain_card, plain), (card, balanced)) = (run("plain", false), run("balanced", true));
    let j = |v: &serde_json::Value| v["sensitivity"].as_f64().unwrap() + v["specificity"].as_f64().unwrap();
    assert!(j(&balanced) >= j(&plain) - 1e-9, "balanced {balanced} against {plain}");
    assert!(card["metrics"]["gate_shift_logit"].is_number() && plain_card["metrics"].get("gate_shift_logit").is_none());
    assert!((balanced["auc"].as_f64().unwrap() - plain["auc"].as_f64().unwrap()).abs() < 1e-9);
    assert_eq!(balanced["mean_dice"], plain["mean_dice"]);
    assert_eq!(card["metrics"]["val_accuracy"], balanced["accuracy"]);
}
