//! The odd-input corpus: 75 bad or odd files, made in code (`corpus/inputs.rs`),
//! each fed where the page's worker takes it (natively, through the same [`Session`]) and where
//! the CLI takes it. Every one must give a message naming the file and the problem (or load,
//! when it is only odd), never a panic, in under 1 s and under 256 MB. Memory is counted by a
//! counting allocator (this file's global allocator).
//!
//! The same corpus is written to `target/tmp/corpus/` with a manifest, for the browser test
//! (`tests/browser/corpus.test.mjs`) to drop on the page.

#[path = "support/counting.rs"]
mod counting;
#[path = "corpus/inputs.rs"]
mod inputs;

use camseg::prelude::*;
use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, Tensor};
use camseg::card::ModelCard;
use camseg::cam::CamMethod;
use camseg::data::Channel;
use camseg::model::ClassifierConfig;
use camseg::protocol::{Backend, BackendChoice, ModelId, WorkerInput, WorkerOutput};
use camseg::session::Session;
use camseg::block_on;
use inputs::{Case, Feed};
use std::path::{Path, PathBuf};
use counting::measured;
use std::time::Duration;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

const MAX_TIME: Duration = Duration::from_secs(1);
const MAX_BYTES: usize = 256 << 20;
const PHANTOM: ModelId = ModelId(1);

fn shipped(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("static").join(path)).unwrap()
}

/// Sets the first float tensor of a module to NaN.
struct PoisonFirst(bool);

impl ModuleMapper for PoisonFirst {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if std::mem::replace(&mut self.0, true) {
            return param;
        }
        let (id, tensor, _) = param.consume();
        Param::initialized(id, tensor.mul_scalar(f32::NAN))
    }
}

/// Every case: uploads, then models (NaN weights and weights of another architecture made
/// from the shipped phantom model).
fn corpus() -> Vec<Case> {
    let card_text = String::from_utf8(shipped("models/phantom.json")).unwrap();
    let card = ModelCard::from_json(&card_text).unwrap();
    let weights = shipped("models/phantom.bpk");
    let device = Device::flex();
    let model = card.load(weights.clone(), &device).unwrap();
    let poisoned = model.map(&mut PoisonFirst(false));
    let nan_weights = block_on(camseg::card::weights_bytes(&poisoned, &card.architecture)).unwrap();
    let small = ClassifierConfig { input_size: 64, widths: vec![8, 16], convs: vec![1, 1], dropout: 0.0, ..Default::default() };
    let other = block_on(camseg::card::weights_bytes(&small.init(&device), &small)).unwrap();
    let mut cases = inputs::upload_cases();
    cases.extend(inputs::model_cases(&card_text, &weights, nan_weights, other));
    cases
}

fn clock() -> f64 {
    0.0
}

fn run(session: &mut Session) -> Vec<WorkerOutput> {
    let mut out = Vec::new();
    while session.busy() {
        out.extend(block_on(session.step()));
    }
    out
}

/// One case through the worker's session, as the page sends it: decode, then analyse what
/// loaded (an upload); or add the model (a model). Returns (images loaded, with a mask,
/// problems).
fn through_session(session: &mut Session, case: &Case, request: u64) -> (usize, usize, Vec<String>) {
    match &case.feed {
        Feed::Upload(files) => {
            let files = files.iter().map(|(n, b)| camseg::data::upload::FileBytes::new(n.clone(), b.clone())).collect();
            session.accept(WorkerInput::Decode { request, files, channel: Channel::Green, demo: false });
            let out = run(session);
            let Some(WorkerOutput::Loaded { items, problems, .. }) = out.into_iter().find(|o| matches!(o, WorkerOutput::Loaded { .. })) else {
                panic!("{}: no answer to the upload", case.id)
            };
            let ids: Vec<_> = items.iter().map(|i| i.id).collect();
            session.accept(WorkerInput::Analyse { generation: request, model: PHANTOM, method: CamMethod::GradCamPlusPlus, block: 2, items: ids.clone() });
            let out = run(session);
            let analysed = out.iter().filter(|o| matches!(o, WorkerOutput::Analysed { finding, .. } if finding.probability.is_finite())).count();
            assert_eq!(analysed, ids.len(), "{}: every loaded image is analysed: {out:?}", case.id);
            session.accept(WorkerInput::Forget { items: ids });
            (items.len(), items.iter().filter(|i| i.truth.is_some()).count(), problems)
        }
        Feed::Model { card, weights } => {
            // The page parses the card on its own thread (naming the file), then sends the
            // weights to the worker, which names nothing: the page prefixes the file.
            let json = String::from_utf8_lossy(&card.1).to_string();
            if let Err(e) = ModelCard::from_json(&json) {
                return (0, 0, vec![format!("{}: {e}", card.0)]);
            }
            match session.accept(WorkerInput::AddModel { model: ModelId(100 + request as u32), card_json: json, weights: weights.1.clone() }).as_slice() {
                [WorkerOutput::ModelAccepted { .. }] => (0, 0, vec![]),
                [WorkerOutput::ModelRejected { message, .. }] => (0, 0, vec![format!("{}: {message}", weights.0)]),
                other => panic!("{}: {other:?}", case.id),
            }
        }
    }
}

fn check(case: &Case, loaded: usize, scored: usize, problems: &[String]) {
    let e = &case.expect;
    assert_eq!((loaded, scored), (e.loads, e.scored), "{} ({}): images loaded and scored; problems {problems:?}", case.id, case.what);
    for (file, fragment) in &e.says {
        assert!(problems.iter().any(|p| p.contains(file.as_str()) && p.contains(fragment)), "{} ({}): no message naming {file} with \"{fragment}\" in {problems:?}", case.id, case.what);
    }
    assert_eq!(problems.len(), e.says.len(), "{} ({}): unexpected messages {problems:?}", case.id, case.what);
}

#[test]
fn every_odd_input_is_named_quickly_within_memory_and_the_session_goes_on() {
    let cases = corpus();
    assert!(cases.len() >= 60, "the corpus holds {} inputs", cases.len());
    let mut session = Session::new(Device::flex(), Backend::Cpu, clock);
    session.accept(WorkerInput::Start { choice: BackendChoice::Cpu, known: Vec::new(), adapter: camseg::protocol::Adapter::NotProbed });
    let card_json = String::from_utf8(shipped("models/phantom.json")).unwrap();
    assert_eq!(session.accept(WorkerInput::AddModel { model: PHANTOM, card_json, weights: shipped("models/phantom.bpk") }), vec![WorkerOutput::ModelAccepted { model: PHANTOM }]);
    // Warm up (the model is built on first use), so each case is timed on its own.
    let warm = Case { id: "warm".into(), what: "a good image", feed: Feed::Upload(vec![("warm.png".into(), shipped("demo/phantom/images/phantom_00000.png"))]), expect: inputs::Expect { loads: 1, scored: 0, says: vec![] } };
    let (result, ..) = measured(|| through_session(&mut session, &warm, 0));
    check(&warm, result.0, result.1, &result.2);
    let mut slowest = (Duration::ZERO, String::new());
    let mut largest = (0, String::new());
    for (k, case) in cases.iter().enumerate() {
        let ((loaded, scored, problems), took, bytes) = measured(|| through_session(&mut session, case, k as u64 + 1));
        eprintln!("{:<4} {:>7.1} ms {:>8.1} MB  {} -> {loaded} loaded, {scored} scored; {problems:?}", case.id, took.as_secs_f64() * 1e3, bytes as f64 / 1e6, case.what);
        check(case, loaded, scored, &problems);
        assert!(took < MAX_TIME, "{} ({}) took {took:?}", case.id, case.what);
        assert!(bytes < MAX_BYTES, "{} ({}) held {} MB", case.id, case.what, bytes >> 20);
        slowest = slowest.max((took, case.id.clone()));
        largest = largest.max((bytes, case.id.clone()));
    }
    eprintln!("{} inputs; slowest {:.1} ms ({}), most memory {:.1} MB ({})", cases.len(), slowest.0.as_secs_f64() * 1e3, slowest.1, largest.0 as f64 / 1e6, largest.1);
    // The session still works on a good image after all of it.
    let (result, ..) = measured(|| through_session(&mut session, &warm, 9999));
    check(&warm, result.0, result.1, &result.2);
    write_for_the_page(&cases);
}

/// The corpus as files plus a manifest, for the browser test.
fn write_for_the_page(cases: &[Case]) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("corpus");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut manifest = Vec::new();
    for case in cases {
        let (kind, files) = match &case.feed {
            Feed::Upload(files) => ("upload", files.clone()),
            Feed::Model { card, weights } => ("model", vec![card.clone(), weights.clone()]),
        };
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        manifest.push(serde_json::json!({
            "id": case.id, "what": case.what, "kind": kind,
            "files": files.iter().map(|f| &f.0).collect::<Vec<_>>(),
            "loads": case.expect.loads, "scored": case.expect.scored,
            "says": case.expect.says.iter().map(|(f, s)| [f.as_str(), s]).collect::<Vec<_>>(),
        }));
    }
    std::fs::write(dir.join("manifest.json"), serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
}

/// The CLI on every case it takes: images (`cam --image`), masks (`cam --mask`), volumes and
/// models (`cam --model`). Zips are the page's (the CLI reads folders). Exit 1 with a message
/// naming the file, or 0; never a panic (101) or an abort (134).
#[test]
fn the_cli_names_each_bad_file_and_never_panics() {
    let cases = corpus();
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_camseg");
    let phantom = Path::new(env!("CARGO_MANIFEST_DIR")).join("static/models/phantom");
    let good = dir.path().join("good.png");
    std::fs::write(&good, shipped("demo/phantom/images/phantom_00003.png")).unwrap();
    let mut tried = 0;
    for case in &cases {
        let (model, image, mask) = match &case.feed {
            Feed::Upload(files) if files.iter().any(|f| f.0.ends_with(".zip")) => continue,
            Feed::Upload(files) => {
                for (name, bytes) in files {
                    std::fs::write(dir.path().join(name), bytes).unwrap();
                }
                let image = files.iter().find(|f| !f.0.contains("_mask")).map(|f| dir.path().join(&f.0));
                let mask = files.iter().find(|f| f.0.contains("_mask")).map(|f| dir.path().join(&f.0));
                // A mask with no image of its own is given with a good image (of another size).
                (phantom.clone(), image.unwrap_or_else(|| good.clone()), mask)
            }
            Feed::Model { card, weights } => {
                std::fs::write(dir.path().join(&card.0), &card.1).unwrap();
                std::fs::write(dir.path().join(&weights.0), &weights.1).unwrap();
                (dir.path().join(&card.0), good.clone(), None)
            }
        };
        let out_name = if image.to_string_lossy().contains(".nii") || image.extension().is_some_and(|e| e == "dcm") { "out.nii.gz" } else { "out.png" };
        let mut cmd = std::process::Command::new(bin);
        cmd.args(["cam", "--model"]).arg(&model).arg("--image").arg(&image).arg("--out").arg(dir.path().join(out_name));
        if let Some(m) = &mask {
            cmd.arg("--mask").arg(m);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        eprintln!("{:<4} exit {code:?}: {}", case.id, stderr.trim());
        assert!(matches!(code, Some(0) | Some(1)), "{} ({}): exit {code:?}: {stderr}", case.id, case.what);
        assert!(!stderr.contains("panicked"), "{}: {stderr}", case.id);
        if code == Some(1) {
            let weights = model.with_extension("bpk");
            let named = [Some(&image), mask.as_ref(), Some(&model), Some(&weights)].into_iter().flatten().any(|p| stderr.contains(p.file_name().unwrap().to_str().unwrap()));
            assert!(named, "{} ({}): the message names no file: {stderr}", case.id, case.what);
        }
        // A case the page refuses outright (no image loads) is refused by the CLI too.
        let refused = case.expect.loads == 0 && !case.expect.says.is_empty();
        if refused {
            assert_eq!(code, Some(1), "{} ({}): the CLI accepted what the page refuses", case.id, case.what);
        }
        tried += 1;
    }
    assert!(tried >= 60, "the CLI was given {tried} inputs");
}
