//! The worker's session, driven natively through its protocol on the CPU, as the page drives
//! it: the shipped phantom model on the shipped demo phantoms.

use super::*;
use crate::block_on;
use crate::data::upload::FileBytes;
use crate::filters::Filter;
use crate::protocol::{BackendChoice, Measured};

const PHANTOM: ModelId = ModelId(1);

fn clock() -> f64 {
    0.0
}

fn shipped(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/static/{path}", concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))).unwrap()
}

fn demo_files() -> Vec<FileBytes> {
    let index = String::from_utf8(shipped("demo/phantom/index.csv")).unwrap();
    index
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .flat_map(|name| ["images", "masks"].map(|folder| FileBytes::new(format!("{folder}/{name}"), shipped(&format!("demo/phantom/{folder}/{name}")))))
        .collect()
}

/// Runs every step until the session is idle, collecting what it says.
fn run(session: &mut Session) -> Vec<WorkerOutput> {
    let mut out = Vec::new();
    while session.busy() {
        out.extend(block_on(session.step()));
    }
    out
}

/// A CPU session with the phantom model and the demo set decoded; returns the items.
fn ready() -> (Session, Vec<NewItem>) {
    let mut session = Session::new(Device::flex(), Backend::Cpu, clock);
    assert!(session.accept(WorkerInput::Start { choice: BackendChoice::Cpu, known: Vec::new(), adapter: crate::protocol::Adapter::NotProbed }).is_empty());
    let card_json = String::from_utf8(shipped("models/phantom.json")).unwrap();
    let added = session.accept(WorkerInput::AddModel { model: PHANTOM, card_json, weights: shipped("models/phantom.bpk") });
    assert_eq!(added, vec![WorkerOutput::ModelAccepted { model: PHANTOM }]);
    session.accept(WorkerInput::Decode { request: 5, files: demo_files(), channel: Channel::Luma, demo: true });
    let out = run(&mut session);
    let Some(WorkerOutput::Loaded { request: 5, demo: true, items, problems, .. }) = out.iter().find(|o| matches!(o, WorkerOutput::Loaded { .. })).cloned() else {
        panic!("no Loaded in {out:?}")
    };
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(out.last(), Some(&WorkerOutput::Busy(None)));
    (session, items)
}

fn analyse(generation: u64, items: &[ItemId]) -> WorkerInput {
    WorkerInput::Analyse { generation, model: PHANTOM, method: CamMethod::GradCamPlusPlus, block: 2, items: items.to_vec() }
}

fn analysed(out: &[WorkerOutput]) -> Vec<(u64, ItemId, Finding)> {
    out.iter()
        .filter_map(|o| match o {
            WorkerOutput::Analysed { generation, item, finding } => Some((*generation, *item, finding.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn decodes_analyses_in_the_order_asked_and_scores_each_result_once() {
    let (mut session, items) = ready();
    assert_eq!(items.len(), 12);
    let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), 12, "every image has its own id");
    // The image on screen first, then the rest.
    let order: Vec<ItemId> = ids[5..].iter().chain(&ids[..5]).copied().collect();
    assert!(session.accept(analyse(3, &order)).is_empty());
    let out = run(&mut session);
    let results = analysed(&out);
    assert_eq!(results.iter().map(|r| r.1).collect::<Vec<_>>(), order);
    assert!(results.iter().all(|r| r.0 == 3));
    assert!(matches!(out.iter().rev().nth(1), Some(WorkerOutput::AnalysisDone { generation: 3, images: 12, .. })));

    // Each finding is what the pipeline says of that image, and its score grid is its Dice.
    let (card, model) = crate::card::files::load(std::path::Path::new(&format!("{}/static/models/phantom", concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))), &Device::flex()).unwrap();
    for (_, id, finding) in &results {
        let item = items.iter().find(|i| i.id == *id).unwrap();
        let direct = block_on(crate::pipeline::analyse(&model, &card.input, &[&item.image], 2, CamMethod::GradCamPlusPlus, &Device::flex())).unwrap();
        assert!((direct[0].probability - finding.probability).abs() < 1e-5);
        assert_eq!(finding.heatmap.width, item.image.width);
        let truth = item.truth.as_ref().unwrap();
        match &finding.scores {
            Some(grid) => {
                let t = Threshold::Fixed(0.7);
                assert_eq!(grid.at(t).unwrap().0, crate::metrics::dice(&t.apply(&finding.heatmap), truth));
            }
            None => assert!(truth.is_empty(), "a tumour image must be scored"),
        }
    }
}

#[test]
fn a_newer_request_replaces_the_old_one_and_forgotten_images_get_no_result() {
    let (mut session, items) = ready();
    let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
    session.accept(analyse(1, &ids));
    let first = block_on(session.step());
    assert_eq!(analysed(&first).len(), 1, "the first image goes alone");
    // Clear and a new setting arrive while the old request is under way.
    session.accept(WorkerInput::Forget { items: ids[6..].to_vec() });
    session.accept(analyse(2, &ids));
    let out = run(&mut session);
    let results = analysed(&out);
    assert!(results.iter().all(|r| r.0 == 2), "nothing of the superseded request arrives");
    assert_eq!(results.iter().map(|r| r.1).collect::<Vec<_>>(), ids[..6].to_vec(), "forgotten images are skipped");
}

#[test]
fn models_are_checked_when_they_arrive_and_named_by_id() {
    let (mut session, items) = ready();
    let card_json = String::from_utf8(shipped("models/phantom.json")).unwrap();
    let out = session.accept(WorkerInput::AddModel { model: ModelId(9), card_json: card_json.clone(), weights: b"not weights".to_vec() });
    assert!(matches!(&out[..], [WorkerOutput::ModelRejected { model: ModelId(9), message }] if message.contains("not a burnpack")), "{out:?}");
    let out = session.accept(WorkerInput::AddModel { model: ModelId(10), card_json: "{".into(), weights: shipped("models/phantom.bpk") });
    assert!(matches!(&out[..], [WorkerOutput::ModelRejected { model: ModelId(10), message }] if message.contains("card")), "{out:?}");
    // A model the worker never got is an error, not a silent fetch or a wrong model.
    session.accept(WorkerInput::Analyse { generation: 1, model: ModelId(9), method: CamMethod::GradCam, block: 0, items: vec![items[0].id] });
    let out = run(&mut session);
    assert!(matches!(&out[..], [WorkerOutput::Failed { message }, WorkerOutput::Busy(None)] if message.contains("has not been sent")), "{out:?}");
}

fn tune(run: u64, items: &[ItemId], epochs: usize) -> WorkerInput {
    WorkerInput::FineTune { run, model: PHANTOM, items: items.to_vec(), filter: Filter::RemoveHot, threshold: Threshold::Fixed(0.5), epochs }
}

#[test]
fn fine_tuning_reports_each_step_and_returns_weights_that_load() {
    let (mut session, items) = ready();
    let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
    // Before any analysis there is no heatmap to filter with: a clear refusal.
    let out = session.accept(tune(1, &ids, 1));
    assert!(matches!(&out[..], [WorkerOutput::TuneFailed { run: 1, message }] if message.contains("at least 6")), "{out:?}");
    session.accept(analyse(1, &ids));
    run(&mut session);

    session.accept(tune(2, &ids, 2));
    let out = run(&mut session);
    let Some(WorkerOutput::TuneStarted { run: 2, trained_on: 8, held_out: 4, total_steps, .. }) = out.first().cloned() else { panic!("{out:?}") };
    let steps = out.iter().filter(|o| matches!(o, WorkerOutput::TuneStep { run: 2, .. })).count();
    assert_eq!(steps, total_steps);
    let Some(WorkerOutput::TuneFinished { run: 2, weights, accuracy_after, .. }) = out.last().cloned() else { panic!("{out:?}") };
    assert!((0.0..=1.0).contains(&accuracy_after));
    let card = ModelCard::from_json(&String::from_utf8(shipped("models/phantom.json")).unwrap()).unwrap();
    let tuned = card.load(weights.clone(), &Device::flex()).expect("the tuned weights load into the card's architecture");
    drop(tuned);
    assert_ne!(weights, shipped("models/phantom.bpk"), "fine-tuning changed the weights");

    // The tuned model, sent back under a new id, is analysed as itself.
    let card_json = String::from_utf8(shipped("models/phantom.json")).unwrap();
    assert_eq!(session.accept(WorkerInput::AddModel { model: ModelId(2), card_json, weights }), vec![WorkerOutput::ModelAccepted { model: ModelId(2) }]);
    session.accept(WorkerInput::Analyse { generation: 2, model: ModelId(2), method: CamMethod::GradCamPlusPlus, block: 2, items: ids.clone() });
    let tuned_results = analysed(&run(&mut session));
    session.accept(analyse(3, &ids));
    let original = analysed(&run(&mut session));
    let changed = tuned_results.iter().zip(&original).filter(|(a, b)| (a.2.probability - b.2.probability).abs() > 1e-6).count();
    assert!(changed >= 6, "only {changed} of 12 probabilities changed");
}

#[test]
fn a_cancelled_or_replaced_fine_tune_says_so_and_returns_nothing() {
    let (mut session, items) = ready();
    let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
    session.accept(analyse(1, &ids));
    run(&mut session);
    session.accept(tune(1, &ids, 40));
    block_on(session.step());
    block_on(session.step());
    // A second start (a double click) replaces the first, which says it was cancelled.
    let out = session.accept(tune(2, &ids, 40));
    assert_eq!(out, vec![WorkerOutput::TuneCancelled { run: 1 }]);
    block_on(session.step());
    assert_eq!(session.accept(WorkerInput::CancelTune { run: 1 }), vec![], "an old run's cancel does not touch the new one");
    assert_eq!(session.accept(WorkerInput::CancelTune { run: 2 }), vec![WorkerOutput::TuneCancelled { run: 2 }]);
    assert!(!session.busy());
    assert!(run(&mut session).is_empty());
}

#[test]
fn use_cpu_keeps_images_and_models() {
    let (mut session, items) = ready();
    let out = session.accept(WorkerInput::UseCpu { note: "by hand".into() });
    assert_eq!(out, vec![WorkerOutput::BackendChosen { backend: Backend::Cpu, note: Some("by hand".into()) }]);
    session.accept(analyse(1, &[items[1].id]));
    assert_eq!(analysed(&run(&mut session)).len(), 1);
}

#[test]
fn a_new_worker_takes_the_pages_images_back_under_their_ids() {
    let (_, items) = ready();
    let mut fresh = Session::new(Device::flex(), Backend::Cpu, clock);
    let card_json = String::from_utf8(shipped("models/phantom.json")).unwrap();
    fresh.accept(WorkerInput::AddModel { model: PHANTOM, card_json, weights: shipped("models/phantom.bpk") });
    let kept: Vec<NewItem> = items[3..6].to_vec();
    assert!(fresh.accept(WorkerInput::Restore { items: kept.clone() }).is_empty());
    let ids: Vec<ItemId> = kept.iter().map(|i| i.id).collect();
    fresh.accept(analyse(9, &ids));
    assert_eq!(analysed(&run(&mut fresh)).iter().map(|r| r.1).collect::<Vec<_>>(), ids);
    // Images decoded afterwards get ids the page has not seen.
    fresh.accept(WorkerInput::Decode { request: 1, files: demo_files()[..2].to_vec(), channel: Channel::Luma, demo: false });
    let out = run(&mut fresh);
    let Some(WorkerOutput::Loaded { items: new, .. }) = out.first() else { panic!("{out:?}") };
    assert!(new.iter().all(|n| n.id > ids[2]), "{:?} after {:?}", new.iter().map(|n| n.id).collect::<Vec<_>>(), ids);
}

#[test]
fn results_a_helper_computed_serve_the_main_worker_as_its_own() {
    let started = |out: &[WorkerOutput]| match out.first() {
        Some(WorkerOutput::TuneStarted { trained_on, held_out, .. }) => Some((*trained_on, *held_out)),
        _ => None,
    };
    // One worker analyses all twelve images.
    let (mut alone, items) = ready();
    let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
    alone.accept(analyse(1, &ids));
    let solo = analysed(&run(&mut alone));

    // A pool of two: the helper, given half the images, analyses them as the lone worker did.
    let (mut main, _) = ready();
    let mut helper = Session::new(Device::flex(), Backend::Cpu, clock);
    let card_json = String::from_utf8(shipped("models/phantom.json")).unwrap();
    helper.accept(WorkerInput::AddModel { model: PHANTOM, card_json, weights: shipped("models/phantom.bpk") });
    helper.accept(WorkerInput::Restore { items: items[6..].to_vec() });
    main.accept(analyse(1, &ids[..6]));
    run(&mut main);
    helper.accept(analyse(1, &ids[6..]));
    let pooled = analysed(&run(&mut helper));
    assert_eq!(pooled.len(), 6);
    for (_, item, finding) in &pooled {
        let own = &solo.iter().find(|s| s.1 == *item).expect("the lone worker analysed it").2;
        assert!((own.probability - finding.probability).abs() < 1e-6);
        let worst = own.heatmap.data.iter().zip(&finding.heatmap.data).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "heatmaps of {item:?} differ by {worst}");
    }
    // The main worker, with half the heatmaps, fine-tunes on fewer images than the lone one...
    main.accept(tune(2, &ids, 1));
    assert_ne!(started(&run(&mut main)), Some((8, 4)));
    // ...and on all twelve once it adopts the helper's results.
    for (_, item, finding) in pooled {
        assert!(main.accept(WorkerInput::Adopt { item, probability: finding.probability, heatmap: finding.heatmap }).is_empty());
    }
    main.accept(tune(3, &ids, 1));
    let out = run(&mut main);
    assert_eq!(started(&out), Some((8, 4)), "{out:?}");
    assert!(matches!(out.last(), Some(WorkerOutput::TuneFinished { run: 3, .. })));
}

#[test]
fn a_trial_times_both_backends_on_the_first_images_and_keeps_the_faster() {
    // Natively both "backends" are the CPU; the clock ticks 1 ms per reading, so each timed
    // run lasts 1 ms on either and the tie keeps the CPU.
    fn ticking() -> f64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NOW: AtomicU64 = AtomicU64::new(0);
        NOW.fetch_add(1, Ordering::Relaxed) as f64
    }
    let (loaded, items) = ready();
    drop(loaded);
    let mut session = Session::new(Device::flex(), Backend::WebGpu, ticking);
    let card_json = String::from_utf8(shipped("models/phantom.json")).unwrap();
    session.accept(WorkerInput::AddModel { model: PHANTOM, card_json, weights: shipped("models/phantom.bpk") });
    session.accept(WorkerInput::Restore { items: items.clone() });
    session.measure("a test adapter".into());
    let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
    session.accept(analyse(1, &ids));
    let out = run(&mut session);
    let measured: Vec<&Measured> = out.iter().filter_map(|o| if let WorkerOutput::BackendMeasured(m) = o { Some(m) } else { None }).collect();
    assert_eq!(measured.len(), 1, "one verdict: {out:?}");
    let m = measured[0];
    assert_eq!((m.adapter.as_str(), m.images), ("a test adapter", 4), "the warm-up image is not counted; the next chunk is");
    assert!(m.webgpu_ms > 0.0 && m.cpu_ms > 0.0);
    assert_eq!(session.backend(), m.faster());
    assert_eq!(analysed(&out).len(), 12, "every image analysed once, across the switch");
    assert!(matches!(out.iter().rev().find(|o| matches!(o, WorkerOutput::AnalysisDone { .. })), Some(WorkerOutput::AnalysisDone { images: 12, backend: Backend::Cpu, .. })));
    // A session on the CPU has nothing to choose.
    let (mut cpu, _) = ready();
    cpu.measure("another".into());
    cpu.accept(analyse(1, &ids));
    assert!(!run(&mut cpu).iter().any(|o| matches!(o, WorkerOutput::BackendMeasured(_))));
}

/// The demo phantoms stacked into a NIfTI volume (8-bit, LPS-like storage so axial slices are
/// the PNGs as they are), with their masks as the label volume.
fn demo_volume() -> (Vec<FileBytes>, Vec<Plane>) {
    use crate::data::{decode_image, decode_mask};
    use crate::volume::Geometry;
    let files = demo_files();
    let images: Vec<Plane> = files.iter().filter(|f| f.path.starts_with("images/")).map(|f| decode_image(&f.bytes, &f.path, Channel::Luma).unwrap()).collect();
    let masks: Vec<Mask> = files.iter().filter(|f| f.path.starts_with("masks/")).map(|f| decode_mask(&f.bytes, &f.path).unwrap()).collect();
    let (w, h) = (images[0].width, images[0].height);
    let geometry = Geometry::from_affine([[-0.9, 0.0, 0.0, 60.0], [0.0, -0.9, 0.0, 70.0], [0.0, 0.0, 5.0, -30.0]]);
    let voxels: Vec<u8> = images.iter().flat_map(|p| p.data.iter().map(|v| (v * 255.0).round() as u8)).collect();
    let labels: Vec<u8> = masks.iter().flat_map(|m| m.bits.iter().map(|&b| b as u8 * 2)).collect();
    let scan = nifti::write_u8([w, h, images.len()], &geometry, &voxels, "phantoms", 0);
    let label = nifti::write_u8([w, h, images.len()], &geometry, &labels, "labels", 1002);
    (vec![FileBytes::new("vol/phantoms.nii.gz", scan), FileBytes::new("vol/phantoms_seg.nii.gz", label)], images)
}

#[test]
fn a_volume_reads_as_slices_that_the_model_sees_as_their_pngs_and_exports_on_its_grid() {
    let (mut session, items) = ready();
    let (files, _) = demo_volume();
    session.accept(WorkerInput::Decode { request: 9, files, channel: Channel::Green, demo: false });
    let out = run(&mut session);
    let Some(WorkerOutput::Loaded { items: slices, volumes, problems, .. }) = out.into_iter().find(|o| matches!(o, WorkerOutput::Loaded { .. })) else { panic!("not loaded") };
    assert!(problems.is_empty(), "{problems:?}");
    let info = &volumes[0];
    assert_eq!((info.dims, info.labelled, info.view, info.format.as_str()), ([items[0].image.width, items[0].image.height, 12], true, View::Axial, "NIfTI-1, uint8"));
    assert_eq!(info.slices, slices.iter().map(|s| s.id).collect::<Vec<_>>());
    assert_eq!(slices[3].name, "vol/phantoms.nii.gz · axial 04/12");
    // Each slice is its PNG, pixel for pixel, with its mask; so the model says the same.
    for (slice, png) in slices.iter().zip(&items) {
        assert_eq!(slice.image, png.image);
        assert_eq!(slice.truth, png.truth);
    }
    let both: Vec<ItemId> = slices.iter().map(|s| s.id).chain(items.iter().map(|i| i.id)).collect();
    session.accept(analyse(1, &both));
    let found = analysed(&run(&mut session));
    let by_id: BTreeMap<ItemId, Finding> = found.into_iter().map(|(_, id, f)| (id, f)).collect();
    for (slice, png) in slices.iter().zip(&items) {
        assert_eq!(by_id[&slice.id], by_id[&png.id], "{}", slice.name);
    }
    // The exported mask holds each slice's mask at the cut, on the scan's grid.
    let threshold = Threshold::Fixed(0.5);
    let out = session.accept(WorkerInput::ExportMask { volume: info.id, threshold, gated: false });
    let [WorkerOutput::Exported { file_name, bytes, .. }] = &out[..] else { panic!("{out:?}") };
    assert_eq!(file_name, "phantoms_camseg_mask.nii.gz");
    let mask = nifti::read(file_name, bytes).unwrap();
    let scan = nifti::read("scan", &demo_volume().0[0].bytes).unwrap();
    assert_eq!((mask.dims, mask.geometry.affine()), (scan.dims, scan.geometry.affine()));
    for (k, slice) in slices.iter().enumerate() {
        let expected = threshold.apply(&by_id[&slice.id].heatmap);
        assert_eq!(mask.label_slice(View::Axial, k), expected, "slice {k}");
    }
    // Gated: slices the model calls "no tumour" export empty.
    let out = session.accept(WorkerInput::ExportMask { volume: info.id, threshold, gated: true });
    let [WorkerOutput::Exported { bytes, .. }] = &out[..] else { panic!("{out:?}") };
    let gated = nifti::read("g", bytes).unwrap();
    for (k, slice) in slices.iter().enumerate() {
        let called = by_id[&slice.id].probability >= 0.5;
        assert_eq!(gated.label_slice(View::Axial, k).is_empty(), !called || mask.label_slice(View::Axial, k).is_empty(), "slice {k}");
    }
    // Another view: new items replace the old ones, which the worker forgets.
    let window = Window { low: 0.0, high: 128.0 };
    let out = session.accept(WorkerInput::Reslice { request: 10, volume: info.id, view: View::Coronal, window });
    let [WorkerOutput::Resliced { volume: again, items: coronal, .. }] = &out[..] else { panic!("{out:?}") };
    assert_eq!((again.view, coronal.len(), coronal[0].image.width, coronal[0].image.height), (View::Coronal, info.dims[1], info.dims[0], 12));
    assert!(coronal.iter().all(|c| !info.slices.contains(&c.id)));
    let out = session.accept(WorkerInput::ExportMask { volume: info.id, threshold, gated: false });
    assert!(matches!(&out[..], [WorkerOutput::Failed { message }] if message.contains("0 of ")), "{out:?}");
}

/// A class-folder set of phantoms in a zip-like drop (`mine/tumour/…`, `mine/normal/…`),
/// masks beside the tumours.
fn phantom_folder(n: usize) -> Vec<FileBytes> {
    use crate::data::encode_png_gray;
    let mut files = Vec::new();
    for i in 0..n {
        let tumour = i % 2 == 0;
        let p = crate::phantom::generate(&mut crate::phantom::rng_for(11, i as u64), 32, tumour);
        let class = if tumour { "tumour" } else { "normal" };
        files.push(FileBytes::new(format!("mine/{class}/p{i}.png"), encode_png_gray(&p.image)));
        if tumour {
            files.push(FileBytes::new(format!("mine/{class}/p{i}_mask.png"), encode_png_gray(&p.mask.to_plane())));
        }
    }
    files
}

#[test]
fn a_labelled_folder_is_summarised_trained_on_and_becomes_a_model_with_its_own_card() {
    use crate::data::labelled::{LabelOptions, Layout};
    let (mut session, _) = ready();
    let options = LabelOptions { val_share: 0.25, ..LabelOptions::default() };
    let out = session.accept(WorkerInput::ReadLabels { request: 1, files: Some(phantom_folder(40)), options: options.clone() });
    let [WorkerOutput::LabelsRead { request: 1, summary: Ok(summary), classes }] = &out[..] else { panic!("{out:?}") };
    assert_eq!(summary.layout, Layout::ClassFolders);
    assert_eq!(classes, &["normal".to_string(), "tumour".to_string()]);
    assert_eq!(summary.masked, 20);
    assert_eq!(summary.classes.iter().find(|c| c.positive).unwrap().per_split["val"], 5);

    // A refusal keeps the folder: other options read it again.
    let out = session.accept(WorkerInput::ReadLabels { request: 2, files: None, options: LabelOptions { positive: vec!["cyst".into()], ..options.clone() } });
    assert!(matches!(&out[..], [WorkerOutput::LabelsRead { summary: Err(e), .. }] if e.contains("`cyst`")), "{out:?}");

    // From the shipped phantom model's weights (its architecture and input size).
    // The kind of scan is for runs from scratch: a start model brings its own settings.
    session.accept(WorkerInput::Train { run: 3, options: options.clone(), from: Some(PHANTOM), scan: crate::data::ScanKind::Ultrasound, epochs: 2, balance_gate: false, name: "mine".into() });
    let out = run(&mut session);
    let started = out.iter().find_map(|o| match o { WorkerOutput::TrainStarted { train, val, .. } => Some((*train, *val)), _ => None });
    assert_eq!(started, Some((30, 10)));
    let epochs: Vec<f64> = out.iter().filter_map(|o| match o { WorkerOutput::TrainEpoch { val_auc, .. } => Some(*val_auc), _ => None }).collect();
    assert_eq!(epochs.len(), 2);
    let Some(WorkerOutput::TrainFinished { card_json, weights, .. }) = out.last() else { panic!("{:?}", out.last()) };
    let card = ModelCard::from_json(card_json).unwrap();
    assert_eq!(card.name, "mine");
    let phantom = ModelCard::from_json(&String::from_utf8(shipped("models/phantom.json")).unwrap()).unwrap();
    assert_eq!(card.input, phantom.input);
    let best = epochs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(card.metrics["val_auc"], best, "the best epoch is kept");
    assert!(best > 0.6, "the phantom model already tells phantoms apart: {epochs:?}");
    let labels = card.training.labels.as_ref().unwrap();
    assert_eq!(labels.options.positive, vec!["tumour".to_string()]);
    // The trained model is a model like any other: the page sends it back and it analyses.
    assert_eq!(session.accept(WorkerInput::AddModel { model: ModelId(7), card_json: card_json.clone(), weights: weights.clone() }), vec![WorkerOutput::ModelAccepted { model: ModelId(7) }]);

    // From scratch, the card reads the kind of scan asked for.
    session.accept(WorkerInput::Train { run: 5, options: options.clone(), from: None, scan: crate::data::ScanKind::DarkLesion, epochs: 1, balance_gate: false, name: "dark".into() });
    let out = run(&mut session);
    let Some(WorkerOutput::TrainFinished { card_json, .. }) = out.last() else { panic!("{:?}", out.last()) };
    assert_eq!(ModelCard::from_json(card_json).unwrap().input.scan, crate::data::ScanKind::DarkLesion.settings());

    // The first run again with the gate balanced on val: the same epochs, so the same AUC;
    // p = 0.5 moves to val's best balanced accuracy, which on this balanced val is accuracy.
    session.accept(WorkerInput::Train { run: 6, options: options.clone(), from: Some(PHANTOM), scan: crate::data::ScanKind::default(), epochs: 2, balance_gate: true, name: "balanced".into() });
    let out = run(&mut session);
    let Some(WorkerOutput::TrainFinished { card_json, weights: balanced_weights, .. }) = out.last() else { panic!("{:?}", out.last()) };
    let balanced = ModelCard::from_json(card_json).unwrap();
    assert_eq!(balanced.metrics["val_auc"], card.metrics["val_auc"]);
    assert!(balanced.metrics["val_accuracy"] >= card.metrics["val_accuracy"], "{:?} against {:?}", balanced.metrics, card.metrics);
    // The weights carry the recorded shift: the lesion logit's lead grows by it, nothing else moves.
    let bias = |card: &ModelCard, weights: &Vec<u8>| {
        use crate::card::Load;
        card.load(weights.clone(), &Device::flex()).unwrap().head.bias.unwrap().val().into_data().try_to_vec::<f32>().unwrap()
    };
    let (plain, moved, shift) = (bias(&card, weights), bias(&balanced, balanced_weights), balanced.metrics["gate_shift_logit"] as f32);
    assert!(((moved[1] - moved[0]) - (plain[1] - plain[0]) - shift).abs() < 1e-4, "{plain:?} -> {moved:?}, shift {shift}");
    assert!(((moved[1] + moved[0]) - (plain[1] + plain[0])).abs() < 1e-4);
    assert!(balanced.description.contains("Gate balanced on val: p "), "{}", balanced.description);
    assert!(!card.metrics.contains_key("gate_shift_logit"));

    // Cancelled at once: nothing more is sent for the run.
    session.accept(WorkerInput::Train { run: 4, options, from: None, scan: crate::data::ScanKind::default(), epochs: 1, balance_gate: false, name: "x".into() });
    assert_eq!(session.accept(WorkerInput::CancelTrain { run: 4 }), vec![WorkerOutput::TrainCancelled { run: 4 }]);
    assert!(!session.busy());
}

#[test]
fn the_trust_checks_of_one_image_come_back_with_every_map_and_curve() {
    let (mut session, items) = ready();
    let lesion = items.iter().find(|i| i.truth.as_ref().is_some_and(|t| !t.is_empty())).unwrap();
    assert!(session.accept(WorkerInput::Trust(ImageQuestion { request: 3, model: PHANTOM, item: lesion.id, method: CamMethod::GradCam, block: 3 })).is_empty());
    let out = run(&mut session);
    let [WorkerOutput::Trusted { request: 3, item, result: Ok(t) }] = &out[..] else { panic!("{out:?}") };
    assert_eq!(*item, lesion.id);
    assert_eq!(t.randomisation.len(), 5, "head + 4 blocks");
    assert!(t.randomisation.iter().all(|r| (r.map.width, r.map.height) == (lesion.image.width, lesion.image.height)));
    assert_eq!((t.deletion.len(), t.road.len(), t.insertion.len()), (21, 21, 21));
    assert!(t.pointing_hit.is_some());
    for auc in [t.deletion_auc, t.road_auc, t.insertion_auc] {
        assert!((0.0..=1.0).contains(&auc), "{auc}");
    }
    // A forgotten image is a message, not a panic.
    session.accept(WorkerInput::Forget { items: vec![lesion.id] });
    session.accept(WorkerInput::Trust(ImageQuestion { request: 4, model: PHANTOM, item: lesion.id, method: CamMethod::GradCam, block: 3 }));
    let out = run(&mut session);
    assert!(matches!(&out[..], [WorkerOutput::Trusted { result: Err(e), .. }] if e.contains("no longer loaded")), "{out:?}");
}

#[test]
fn the_steps_of_a_heatmap_come_back_for_the_latest_question_only() {
    let (mut session, items) = ready();
    let lesion = items.iter().find(|i| i.truth.as_ref().is_some_and(|t| !t.is_empty())).unwrap();
    let ask = |request, method| WorkerInput::Explain(ImageQuestion { request, model: PHANTOM, item: lesion.id, method, block: 3 });
    session.accept(ask(5, CamMethod::GradCam));
    session.accept(ask(6, CamMethod::LayerCamWalk));
    let out = run(&mut session);
    let [WorkerOutput::Explained { request: 6, result: Ok(s), .. }] = &out[..] else { panic!("{out:?}") };
    assert_eq!((s.method, s.base, s.block), (CamMethod::LayerCamWalk, CamMethod::LayerCam, 3));
    assert_eq!((s.heatmap.width, s.heatmap.height), (lesion.image.width, lesion.image.height));
    assert!(!s.parts.is_empty() && s.parts.len() <= crate::cam::steps::SHOWN_ADDING + crate::cam::steps::SHOWN_TAKING);
    session.accept(ask(7, CamMethod::Intensity));
    let out = run(&mut session);
    assert!(matches!(&out[..], [WorkerOutput::Explained { request: 7, result: Err(e), .. }] if e.contains("no map from a block")), "{out:?}");
}

#[test]
fn occlusion_heats_the_lesion_of_a_phantom_the_model_calls_a_tumour() {
    let (mut session, items) = ready();
    let lesion = items.iter().find(|i| i.truth.as_ref().is_some_and(|t| !t.is_empty())).unwrap();
    session.accept(WorkerInput::Analyse { generation: 9, model: PHANTOM, method: CamMethod::Occlusion, block: 0, items: vec![lesion.id] });
    let found = analysed(&run(&mut session));
    let [(9, item, finding)] = &found[..] else { panic!("{found:?}") };
    assert_eq!(*item, lesion.id);
    let heat = &finding.heatmap;
    assert_eq!((heat.width, heat.height), (lesion.image.width, lesion.image.height));
    assert!(heat.data.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(finding.probability > 0.5, "the phantom model sees this tumour: {}", finding.probability);
    // Covering the tumour is what lowers p: the heat is far higher inside its mask than outside.
    let truth = lesion.truth.as_ref().unwrap();
    let mean = |inside: bool| {
        let v: Vec<f32> = heat.data.iter().zip(&truth.bits).filter(|(_, &b)| b == inside).map(|(&h, _)| h).collect();
        v.iter().sum::<f32>() / v.len() as f32
    };
    assert!(mean(true) > 2.0 * mean(false), "inside {} outside {}", mean(true), mean(false));
}

#[test]
fn the_trust_checks_of_many_images_come_one_by_one_and_a_cancel_stops_them() {
    let (mut session, items) = ready();
    let lesions: Vec<ItemId> = items.iter().filter(|i| i.truth.as_ref().is_some_and(|t| !t.is_empty())).map(|i| i.id).take(3).collect();
    assert_eq!(lesions.len(), 3);
    session.accept(WorkerInput::Forget { items: vec![lesions[2]] });
    assert!(session.accept(WorkerInput::TrustAll { run: 8, model: PHANTOM, method: CamMethod::GradCam, block: 3, items: lesions.clone() }).is_empty());
    let out = run(&mut session);
    let answered: Vec<(ItemId, bool)> = out.iter().filter_map(|o| match o { WorkerOutput::TrustedOne { run: 8, item, result } => Some((*item, result.is_ok())), _ => None }).collect();
    assert_eq!(answered, vec![(lesions[0], true), (lesions[1], true), (lesions[2], false)], "in order; a forgotten image is an error of its own");
    let figures = out.iter().find_map(|o| match o { WorkerOutput::TrustedOne { result: Ok(f), .. } => Some(*f), _ => None }).unwrap();
    assert!(figures.pointing_hit.is_some() && (0.0..=1.0).contains(&figures.road_auc));
    assert!(out.contains(&WorkerOutput::TrustAllDone { run: 8 }));
    // A new run replaces the old; a cancel ends it at once.
    session.accept(WorkerInput::TrustAll { run: 9, model: PHANTOM, method: CamMethod::GradCam, block: 3, items: lesions.clone() });
    assert_eq!(session.accept(WorkerInput::TrustAll { run: 10, model: PHANTOM, method: CamMethod::GradCam, block: 3, items: lesions.clone() }), vec![WorkerOutput::TrustAllDone { run: 9 }]);
    assert_eq!(session.accept(WorkerInput::CancelTrustAll { run: 10 })[0], WorkerOutput::TrustAllDone { run: 10 });
    assert!(!session.busy());
}

/// Volumes dropped for training are labelled scans: cut into slices, each scan on one side of
/// the split, and the run trains on the slices.
#[test]
fn labelled_volumes_are_cut_into_slices_and_trained_on() {
    use crate::data::labelled::LabelOptions;
    use crate::volume::{nifti::write_u8, Geometry};
    let (mut session, _) = ready();
    let geometry = Geometry::from_affine([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0]]);
    let mut files = Vec::new();
    for scan in 0..8u64 {
        let tumour = scan % 2 == 0;
        let voxels: Vec<u8> = (0..4).flat_map(|k| crate::phantom::generate(&mut crate::phantom::rng_for(13, scan * 4 + k), 32, tumour).image.data).map(|v| (v.clamp(0.0, 1.0) * 255.0) as u8).collect();
        let class = if tumour { "tumour" } else { "normal" };
        files.push(FileBytes::new(format!("mine/{class}/s{scan}.nii.gz"), write_u8([32, 32, 4], &geometry, &voxels, "scan", 0)));
    }
    files.push(FileBytes::new("mine/normal/bad.nii", vec![0; 10]));
    let options = LabelOptions { val_share: 0.25, ..LabelOptions::default() };
    let out = session.accept(WorkerInput::ReadLabels { request: 1, files: Some(files), options: options.clone() });
    let [WorkerOutput::LabelsRead { summary: Ok(summary), .. }] = &out[..] else { panic!("{out:?}") };
    for class in &summary.classes {
        assert_eq!((class.per_split["train"], class.per_split["val"]), (12, 4), "one whole scan of four held out: {class:?}");
    }
    assert!(summary.warnings.iter().any(|w| w.starts_with("normal/bad.nii:")), "{:?}", summary.warnings);
    session.accept(WorkerInput::Train { run: 2, options, from: None, scan: crate::data::ScanKind::default(), epochs: 1, balance_gate: false, name: "scans".into() });
    let out = run(&mut session);
    let started = out.iter().find_map(|o| match o { WorkerOutput::TrainStarted { train, val, .. } => Some((*train, *val)), _ => None });
    assert_eq!(started, Some((24, 8)));
    assert!(matches!(out.last(), Some(WorkerOutput::TrainFinished { .. })), "{:?}", out.last());
}

/// Runs a pool of sessions (worker k at index k) until all are idle, carrying each `ToPeer` to
/// its worker as the workers' glue does; returns what the main worker said to the page.
/// `lose_at`: after the main worker's step that took this many training steps, helper 1 dies.
fn run_pool(pool: &mut [Session], lose_at: Option<usize>, mut each_step: impl FnMut(&[Session])) -> Vec<WorkerOutput> {
    let mut said = Vec::new();
    let mut dead = vec![false; pool.len()];
    loop {
        let mut idle = true;
        for k in 0..pool.len() {
            if dead[k] || !pool[k].busy() {
                continue;
            }
            idle = false;
            let mut pending: std::collections::VecDeque<(usize, WorkerOutput)> = block_on(pool[k].step()).into_iter().map(|o| (k, o)).collect();
            while let Some((from, output)) = pending.pop_front() {
                match output {
                    WorkerOutput::ToPeer { peer, bytes } if !dead[peer] => {
                        pending.extend(pool[peer].accept(WorkerInput::FromPeer { peer: from, bytes }).into_iter().map(|o| (peer, o)));
                    }
                    WorkerOutput::ToPeer { .. } => {}
                    other if from == 0 => said.push(other),
                    _ => {}
                }
            }
            if k == 0 {
                each_step(pool);
                let taken = pool[0].training.as_ref().and_then(|j| j.trainer()).map_or(0, |t| t.steps_taken());
                if lose_at.is_some_and(|at| taken >= at && !dead[1]) {
                    dead[1] = true;
                    pool[0].accept(WorkerInput::PeerLost { peer: 1 });
                }
            }
        }
        if idle {
            return said;
        }
    }
}

#[test]
fn a_run_shared_by_two_workers_keeps_one_set_of_parameters_and_outlives_its_helper() {
    use crate::data::labelled::LabelOptions;
    let options = LabelOptions { val_share: 0.25, ..LabelOptions::default() };
    let shared_run = |lose_at: Option<usize>| {
        let (main, _) = ready();
        let mut pool = [main, Session::new(Device::flex(), Backend::Cpu, clock)];
        pool[0].accept(WorkerInput::PeerJoined { peer: 1 });
        pool[1].accept(WorkerInput::PeerJoined { peer: 0 });
        pool[0].accept(WorkerInput::ReadLabels { request: 1, files: Some(phantom_folder(80)), options: options.clone() });
        pool[0].accept(WorkerInput::Train { run: 3, options: options.clone(), from: Some(PHANTOM), scan: crate::data::ScanKind::Ultrasound, epochs: 2, balance_gate: false, name: "shared".into() });
        let mut compared = 0;
        let said = run_pool(&mut pool, lose_at, |pool| {
            let main = pool[0].training.as_ref().and_then(|j| j.trainer());
            let helper = pool[1].shard.as_ref().map(|j| j.trainer());
            if let (Some(main), Some(helper)) = (main, helper) {
                if main.steps_taken() == helper.steps_taken() {
                    assert_eq!(main.params(), helper.params(), "after {} steps", main.steps_taken());
                    compared += 1;
                }
            }
        });
        let Some(WorkerOutput::TrainFinished { weights, card_json, .. }) = said.last() else { panic!("{:?}", said.last()) };
        let steps = said.iter().filter(|o| matches!(o, WorkerOutput::TrainStep { .. })).count();
        let train = said.iter().find_map(|o| match o { WorkerOutput::TrainStarted { train, .. } => Some(*train), _ => None }).unwrap();
        assert_eq!(steps, 2 * train.div_ceil(32), "every step of both epochs is reported once");
        (weights.clone(), ModelCard::from_json(card_json).unwrap(), compared, pool[1].busy())
    };
    let (weights, card, compared, helper_busy) = shared_run(None);
    assert!(compared >= 1, "the helper's parameters were compared with the main worker's");
    assert!(!helper_busy, "the helper leaves with the run");
    assert!(card.metrics["val_auc"] > 0.6, "the phantom model already tells phantoms apart: {:?}", card.metrics);
    // The helper dies after the second step: the main worker computes its shard, the same bits.
    let (alone_after, ..) = shared_run(Some(2));
    // Weights files carry random parameter ids: the models are compared by what they compute.
    let x = burn::tensor::Tensor::<4>::random([3, 1, 32, 32], burn::tensor::Distribution::Uniform(0.0, 1.0), &Device::flex());
    let logits = |weights: &[u8]| card.load(weights.to_vec(), &Device::flex()).unwrap().forward(x.clone()).into_data().try_to_vec::<f32>().unwrap();
    let (a, b) = (logits(&weights), logits(&alone_after));
    assert_eq!(a, b, "a run that lost its helper ends with the same model");
}

/// A network that trains with burn's autodiff (EfficientNet-Lite0's) is not shared out: the
/// run goes on in the main worker alone, and the helper is never handed a shard.
#[test]
fn a_run_on_autodiff_stays_with_the_main_worker() {
    use crate::data::labelled::LabelOptions;
    let options = LabelOptions { val_share: 0.25, ..LabelOptions::default() };
    let (main, _) = ready();
    let mut pool = [main, Session::new(Device::flex(), Backend::Cpu, clock)];
    pool[0].accept(WorkerInput::PeerJoined { peer: 1 });
    pool[1].accept(WorkerInput::PeerJoined { peer: 0 });
    let card = ModelCard::new("lite0", crate::model::ClassifierConfig::lite0(32, 2, 0.0));
    let weights = block_on(crate::card::weights_bytes(&card.architecture.init(&Device::flex()), &card.architecture)).unwrap();
    assert_eq!(pool[0].accept(WorkerInput::AddModel { model: ModelId(9), card_json: card.to_json(), weights }), vec![WorkerOutput::ModelAccepted { model: ModelId(9) }]);
    pool[0].accept(WorkerInput::ReadLabels { request: 1, files: Some(phantom_folder(24)), options: options.clone() });
    pool[0].accept(WorkerInput::Train { run: 3, options, from: Some(ModelId(9)), scan: crate::data::ScanKind::default(), epochs: 1, balance_gate: false, name: "lite".into() });
    let mut helped = false;
    let said = run_pool(&mut pool, None, |pool| helped |= pool[1].shard.is_some());
    assert!(!helped, "the helper was handed a shard");
    let workers = said.iter().find_map(|o| match o { WorkerOutput::TrainStarted { workers, .. } => Some(*workers), _ => None });
    assert_eq!(workers, Some(1));
    let Some(WorkerOutput::TrainFinished { card_json, .. }) = said.last() else { panic!("{:?}", said.last()) };
    assert_eq!(ModelCard::from_json(card_json).unwrap().architecture.family, crate::model::Family::EfficientnetLite0);
}
