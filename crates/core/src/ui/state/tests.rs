use super::*;
use crate::masks::Threshold;
use crate::filters::Filter;
use crate::train::Progress;
use std::rc::Rc;
use crate::evaluate::{Overlap, ScoreGrid};
use crate::plane::Plane;
use crate::protocol::Finding;
use crate::card::ModelCard;
use crate::model::ClassifierConfig;

fn card(name: &str) -> ModelCard {
    let mut card = ModelCard::new(name, ClassifierConfig { input_size: 16, widths: vec![4, 8, 8], convs: vec![1, 1, 1], dropout: 0.0, ..Default::default() });
    card.cam.method = CamMethod::Fusion;
    card.cam.block = 2;
    card.cam.threshold = Threshold::Fixed(0.4);
    card
}

fn entry(id: u32, name: &str) -> ModelEntry {
    ModelEntry { id: ModelId(id), source: format!("models/{id}"), shipped: None, card: card(name), ready: true, stored: None }
}

/// A 4x1 image whose heatmap ramps 0, 1/3, 2/3, 1 and whose true mask is the right half.
fn item(id: u64, name: &str, truth: Option<Vec<bool>>) -> Item {
    Item {
        id: ItemId(id),
        name: name.into(),
        image: Rc::new(Plane::new(4, 1, vec![0.5; 4])),
        truth: truth.map(|bits| Rc::new(Mask::new(4, 1, bits))),
        result: None,
    }
}

const RAMP: [f32; 4] = [0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0];

/// The result the worker sends for `item`: its heatmap and its score grid.
fn analysed(item: &Item, p: f32) -> Analysed {
    let heatmap = Plane::new(4, 1, RAMP.to_vec());
    let overlap = item.truth.as_ref().map(|t| Overlap::new(&heatmap, t));
    let scores = overlap.as_ref().and_then(ScoreGrid::from_overlap);
    Analysed::from(Finding { probability: p, heatmap, scores, overlap })
}

fn loaded() -> PageState {
    let items = vec![item(10, "b.png", Some(vec![false, false, true, true])), item(11, "a.png", Some(vec![false; 4])), item(12, "c.png", None)];
    PageState::default().reduce(Action::ModelAdded(entry(0, "X model"))).reduce(Action::ItemsLoaded { items, volumes: Vec::new(), demo: true })
}

fn analyse_all(mut s: PageState) -> PageState {
    let g = s.generation;
    let probs = [0.9, 0.2, 0.7];
    for (k, it) in s.items.clone().iter().enumerate() {
        s = s.reduce(Action::Analysed { generation: g, item: it.id, result: analysed(it, probs[k % 3]), millis: 10.0 * (k + 1) as f64 });
    }
    s
}

fn ids(v: &[u64]) -> Vec<ItemId> {
    v.iter().map(|&i| ItemId(i)).collect()
}

#[test]
fn choosing_a_model_takes_its_cards_cam_and_drops_stale_results() {
    let s = loaded();
    assert_eq!((s.method, s.block, s.view.threshold), (Some(CamMethod::Fusion), 2, Threshold::Fixed(0.4)));
    assert_eq!(s.selected, Some(ItemId(10)), "the demo opens on its first tumour image");
    assert_eq!(s.pending(), ids(&[10, 11, 12]));
    let old = s.generation;
    let s = analyse_all(s);
    assert_eq!(s.first_heatmap_ms, Some(10.0));
    assert!(s.pending().is_empty());
    let s = s.reduce(Action::MethodChosen(CamMethod::GradCam));
    assert_eq!(s.pending(), ids(&[10, 11, 12]), "a new method needs new heatmaps");
    // A result computed for the old method arrives late: ignored.
    let late = analysed(&s.items[0], 0.9);
    let s = s.reduce(Action::Analysed { generation: old, item: ItemId(10), result: late, millis: 1.0 });
    assert!(s.items[0].result.is_none());
    let s = s.reduce(Action::BlockChosen(7));
    assert_eq!(s.block, 2, "a layer the model does not have is refused");
    let s = s.reduce(Action::ModelChosen(ModelId(99)));
    assert_eq!(s.model, Some(ModelId(0)), "an unknown model id changes nothing");
}

/// A method with its own block and cut on the card takes them; one without falls back to the
/// card's default block and cut, not to whatever the last method left.
#[test]
fn choosing_a_method_takes_its_own_block_and_cut_from_the_card() {
    use crate::card::MethodDefault;
    let mut with_cuts = entry(1, "Y model");
    with_cuts.card.cam.per_method = vec![MethodDefault { method: CamMethod::LayerCamWalk, block: 1, threshold: Threshold::Fixed(0.7), val_mean_dice: 0.5 }];
    let s = PageState::default().reduce(Action::ModelAdded(with_cuts));
    let s = s.reduce(Action::ThresholdChosen(Threshold::Fixed(0.2)));
    let s = s.reduce(Action::MethodChosen(CamMethod::LayerCamWalk));
    assert_eq!((s.method, s.block, s.view.threshold), (Some(CamMethod::LayerCamWalk), 1, Threshold::Fixed(0.7)));
    let s = s.reduce(Action::MethodChosen(CamMethod::GradCam));
    assert_eq!((s.block, s.view.threshold), (2, Threshold::Fixed(0.4)));
}

#[test]
fn results_land_on_their_own_image_whatever_the_list_became() {
    let s = loaded();
    let g = s.generation;
    let b = s.items[0].clone();
    // Clear and a new upload while the demo's results are on their way.
    let s = s.reduce(Action::Cleared);
    assert!(s.generation > g, "clearing bumps the generation");
    let s = s.reduce(Action::ItemsLoaded { items: vec![item(20, "new.png", Some(vec![true; 4]))], volumes: Vec::new(), demo: false });
    let s = s.reduce(Action::Analysed { generation: g, item: ItemId(10), result: analysed(&b, 0.9), millis: 1.0 });
    let now = s.generation;
    let s = s.reduce(Action::Analysed { generation: now, item: ItemId(10), result: analysed(&b, 0.9), millis: 1.0 });
    assert!(s.items[0].result.is_none(), "no result of an old image lands on a new one");
    assert_eq!(s.first_heatmap_ms, None);
    assert_eq!(s.pending(), ids(&[20]));
}

#[test]
fn the_threshold_moves_dice_without_the_model() {
    let s = analyse_all(loaded());
    // Threshold 0.4 keeps the two right pixels: exactly the truth.
    assert_eq!(s.current_scores().map(|x| x.0), Some(1.0));
    let s = s.reduce(Action::ThresholdChosen(Threshold::Fixed(0.2)));
    let (dice, iou) = s.current_scores().unwrap();
    assert!((dice - 0.8).abs() < 1e-9, "3 predicted, 2 true, 2 shared: {dice}");
    assert!((iou - 2.0 / 3.0).abs() < 1e-9);
    // Off the slider's grid, the score is computed rather than looked up, and agrees.
    let off = s.clone().reduce(Action::ThresholdChosen(Threshold::Fixed(0.21)));
    assert_eq!(off.current_scores(), Some((dice, iou)));
    // No tumour in the mask: no Dice, but a class. No mask at all: neither.
    let rows = s.rows();
    assert_eq!(rows[1].dice, None);
    let summary = BatchSummary::of(&rows);
    assert_eq!((summary.images, summary.analysed, summary.with_class, summary.scored), (3, 3, 2, 1));
    assert_eq!(summary.accuracy, Some(1.0));
    assert!((summary.mean_dice.unwrap() - 0.8).abs() < 1e-9);
    let (curve, otsu) = s.dice_curve(false);
    assert_eq!(curve.len(), crate::evaluate::SWEEP.len());
    let at_half = curve.iter().find(|(t, _)| *t == 0.5).unwrap().1;
    assert!((at_half - 1.0).abs() < 1e-9, "0.5 keeps pixels 2 and 3: {curve:?}");
    assert!(otsu.is_some());
}

#[test]
fn a_no_tumour_answer_gates_the_mask_unless_asked_and_dice_is_scored_both_ways() {
    // b.png: tumour, p 0.9; a.png: empty mask, p 0.2; d.png: a tumour the model misses, p 0.3.
    let items = vec![item(10, "b.png", Some(vec![false, false, true, true])), item(11, "a.png", Some(vec![false; 4])), item(13, "d.png", Some(vec![false, false, true, true]))];
    let mut s = PageState::default().reduce(Action::ModelAdded(entry(0, "X"))).reduce(Action::ItemsLoaded { items, volumes: Vec::new(), demo: true });
    let g = s.generation;
    for (id, p) in [(10, 0.9), (11, 0.2), (13, 0.3)] {
        let it = s.items.iter().find(|i| i.id == ItemId(id)).unwrap().clone();
        s = s.reduce(Action::Analysed { generation: g, item: ItemId(id), result: analysed(&it, p), millis: 1.0 });
    }
    assert!(!s.view.masks_on_negatives, "off by default");
    // The tumour the model finds: its mask is drawn (at 0.4: the right half, the truth).
    assert!(s.shows_mask());
    assert_eq!(s.predicted_mask().map(|m| m.area()), Some(2));
    // The no-tumour slice: a heatmap, but no mask, unless asked for.
    let s = s.reduce(Action::Selected(ItemId(11)));
    assert!(!s.shows_mask() && s.predicted_mask().is_none());
    let shown = s.clone().reduce(Action::MasksOnNegatives(true));
    assert_eq!(shown.predicted_mask().map(|m| m.area()), Some(2), "asked for: the mask as cut");
    assert_eq!(shown.reduce(Action::MasksOnNegatives(false)).predicted_mask(), None);
    // Dice as cut and gated: the miss scores 0 gated; the empty-truth slice has no Dice either way.
    let rows = s.rows();
    let by = |id| rows.iter().find(|r| r.id == ItemId(id)).unwrap();
    assert_eq!((by(10).dice, by(10).gated_dice), (Some(1.0), Some(1.0)));
    assert_eq!((by(13).dice, by(13).gated_dice), (Some(1.0), Some(0.0)));
    assert_eq!((by(11).dice, by(11).gated_dice, by(11).mask_on_negative), (None, None, Some(true)));
    assert_eq!(by(10).mask_on_negative, None, "only images with an empty true mask count");
    let summary = BatchSummary::of(&rows);
    assert_eq!((summary.mean_dice, summary.mean_gated_dice), (Some(1.0), Some(0.5)));
    assert_eq!((summary.negatives, summary.negative_masks, summary.negative_masks_gated), (1, 1, 0));
    assert_eq!((summary.false_mask_rate(false), summary.false_mask_rate(true)), (Some(1.0), Some(0.0)));
    // The batch curve both ways: gated, the miss pulls the mean down at every cut.
    let ((cut, _), (gated, gated_otsu)) = (s.dice_curve(false), s.dice_curve(true));
    let at = |c: &[(f32, f64)], t: f32| c.iter().find(|(x, _)| *x == t).unwrap().1;
    assert!((at(&cut, 0.4) - 1.0).abs() < 1e-9 && (at(&gated, 0.4) - 0.5).abs() < 1e-9, "{cut:?} {gated:?}");
    assert!(gated_otsu.is_some());
    let sorted = s.reduce(Action::SortedBy(SortKey::GatedDice));
    assert_eq!(sorted.rows().iter().map(|r| r.id).collect::<Vec<_>>(), ids(&[11, 13, 10]));
}

#[test]
fn choosing_a_demo_set_chooses_its_own_shipped_model() {
    let shipped = |id, name: &str| ModelEntry { shipped: Some(name.into()), ..entry(id, name) };
    let s = PageState::default().reduce(Action::ModelsListed(vec![shipped(0, "lgg"), shipped(1, "phantom")]));
    assert_eq!((s.demo_set, s.model), (DemoSet::Lgg, Some(ModelId(0))), "the page opens on the LGG slices and model");
    let g = s.generation;
    let s = s.reduce(Action::DemoChosen(DemoSet::Phantom));
    assert_eq!((s.demo_set, s.model), (DemoSet::Phantom, Some(ModelId(1))));
    assert!(s.generation > g, "results of the other model are dropped");
    let g = s.generation;
    let same = s.clone().reduce(Action::DemoChosen(DemoSet::Phantom));
    assert_eq!(same.generation, g, "its model already in use: nothing to redo");
    assert_eq!(s.reduce(Action::DemoChosen(DemoSet::Lgg)).model, Some(ModelId(0)));
    assert_eq!(DemoSet::parse("phantom"), Some(DemoSet::Phantom));
    assert!(DemoSet::Lgg.attribution().is_some_and(|(text, cites)| text.contains("CC BY-NC-SA 4.0") && cites.len() == 3));
    assert!(DemoSet::Busi.attribution().is_some_and(|(text, _)| text.contains("CC BY 4.0")));
}

#[test]
fn each_shipped_model_opens_on_its_own_demo_while_a_demo_is_shown() {
    let shipped = |id, name: &str| ModelEntry { shipped: Some(name.into()), ..entry(id, name) };
    let own = ModelEntry { shipped: None, ..entry(3, "mine") };
    let s = PageState::default().reduce(Action::ModelsListed(vec![shipped(0, "lgg"), shipped(1, "busi"), shipped(2, "phantom"), own]));
    let s = s.reduce(Action::ItemsLoaded { items: Vec::new(), volumes: Vec::new(), demo: true });
    assert_eq!(s.demo_for_model(ModelId(1)), Some(DemoSet::Busi));
    assert_eq!(s.demo_for_model(ModelId(0)), None, "its demo is already shown");
    assert_eq!(s.demo_for_model(ModelId(3)), None, "a model of the person's own has no demo");
    let busi = s.reduce(Action::DemoChosen(DemoSet::Busi));
    assert_eq!(busi.model, Some(ModelId(1)));
    assert_eq!(busi.demo_for_model(ModelId(2)), Some(DemoSet::Phantom));
    // With the person's own images on screen, a model choice never replaces them.
    let mine = busi.reduce(Action::ItemsLoaded { items: Vec::new(), volumes: Vec::new(), demo: false });
    assert_eq!(mine.demo_for_model(ModelId(0)), None);
}

#[test]
fn rows_sort_by_any_column_and_the_csv_holds_them() {
    let s = analyse_all(loaded()).reduce(Action::SortedBy(SortKey::File));
    assert_eq!(s.rows().iter().map(|r| r.file.as_str()).collect::<Vec<_>>(), ["a.png", "b.png", "c.png"]);
    let s = s.reduce(Action::SortedBy(SortKey::File));
    assert_eq!(s.rows()[0].file, "c.png", "a second click reverses");
    let s = s.reduce(Action::SortedBy(SortKey::Probability));
    assert_eq!(s.rows().iter().map(|r| r.id).collect::<Vec<_>>(), ids(&[11, 12, 10]));
    let csv = s.csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "file,probability,predicted,truth,dice,iou,gated_dice,method,block,threshold");
    assert_eq!(lines[1], "a.png,0.2000,no tumour,no tumour,,,,fusion,2,0.4");
    assert_eq!(lines[3], "b.png,0.9000,tumour,tumour,1.0000,1.0000,1.0000,fusion,2,0.4");
    assert_eq!(lines.len(), 4);
}

#[test]
fn uploads_replace_the_demo_then_add_up_and_a_lost_gpu_keeps_them() {
    let s = analyse_all(loaded()).reduce(Action::BackendChosen { backend: Backend::WebGpu, note: None });
    let s = s.reduce(Action::ItemsLoaded { items: vec![item(1, "mine.png", None)], volumes: Vec::new(), demo: false });
    assert_eq!(s.items.len(), 1);
    assert_eq!(s.selected, Some(ItemId(1)));
    let s = s.reduce(Action::ItemsLoaded { items: vec![item(2, "more.png", None), item(3, "more2.png", None)], volumes: Vec::new(), demo: false });
    assert_eq!(s.items.len(), 3);
    assert_eq!(s.selected, Some(ItemId(2)), "the first new image is shown");
    assert_eq!(s.pending(), ids(&[2, 3, 1]), "the shown image is analysed first");
    let s = analyse_all(s).reduce(Action::BackendLost { note: "the WebGPU device was lost".into() });
    assert_eq!(s.backend, Some(Backend::Cpu));
    assert_eq!(s.items.len(), 3);
    assert_eq!(s.pending().len(), 3);
    assert!(s.error.as_deref().unwrap().contains("images are kept"));
}

#[test]
fn fine_tuning_records_progress_of_its_own_run_only() {
    let progress = |step| Progress { epoch: 0, epochs: 2, step, total_steps: 4, loss: 0.5, batch_accuracy: 0.75, epoch_end: false, read_steps: 1 };
    let s = analyse_all(loaded()).reduce(Action::FilterChosen(Filter::RemoveHot)).reduce(Action::EpochsChosen(2));
    let s = s.reduce(Action::TuneRequested { run: 1, model: ModelId(0) });
    assert_eq!(s.finetune.phase, TunePhase::Running, "running from the click: a second click is refused");
    let s = s.reduce(Action::TuneStarted { run: 1, trained_on: 2, held_out: 1, accuracy_before: 0.5, total_steps: 4 });
    let s = s.reduce(Action::TuneStep { run: 1, progress: progress(1) }).reduce(Action::TuneStep { run: 1, progress: progress(2) });
    let s = s.reduce(Action::TuneStep { run: 0, progress: progress(3) });
    assert_eq!((s.finetune.step, s.finetune.losses.len(), s.finetune.filter), (2, 2, Filter::RemoveHot), "another run's steps are ignored");
    let cancelled = s.clone().reduce(Action::TuneCancelled { run: 1 });
    assert_eq!(cancelled.finetune.phase, TunePhase::Cancelled);
    assert_eq!(cancelled.reduce(Action::TuneStep { run: 1, progress: progress(3) }).finetune.losses.len(), 2, "no steps after a cancel");
    let failed = s.clone().reduce(Action::TuneFailed { run: 1, message: "out of memory".into() });
    assert_eq!((failed.finetune.phase.clone(), failed.error.as_deref()), (TunePhase::Idle, Some("out of memory")), "a failure never leaves the panel running");
    let weights = Rc::new(vec![1, 2, 3]);
    let done = s.reduce(Action::TuneFinished { run: 1, accuracy_after: 1.0, weights: weights.clone() });
    assert_eq!((done.finetune.accuracy_before, done.finetune.accuracy_after), (Some(0.5), Some(1.0)));
    assert_eq!(done.finetune.weights, Some(weights));
    assert!(done.finetune.unkept(), "a finished run not yet kept is flagged");
    let kept = done.reduce(Action::TuneKept(entry(1, "X model (fine-tuned)")));
    assert_eq!(kept.model, Some(ModelId(1)));
    assert!(kept.finetune.kept && !kept.finetune.unkept());
    assert_eq!(kept.finetune.accuracy_after, Some(1.0), "the comparison stays on screen");
    assert_eq!(kept.model_stem(), "x-model-fine-tuned");
}

#[test]
fn switching_model_or_backend_ends_a_running_fine_tune() {
    let s = analyse_all(loaded()).reduce(Action::ModelAdded(entry(1, "Y"))).reduce(Action::ModelChosen(ModelId(0)));
    let s = s.reduce(Action::TuneRequested { run: 4, model: ModelId(0) });
    let switched = s.clone().reduce(Action::ModelChosen(ModelId(1)));
    assert_eq!(switched.finetune.phase, TunePhase::Cancelled);
    let late = switched.reduce(Action::TuneFinished { run: 4, accuracy_after: 1.0, weights: Rc::new(vec![]) });
    assert_eq!(late.finetune.weights, None, "a run the page left cannot be kept");
    let s = s.reduce(Action::BackendChosen { backend: Backend::WebGpu, note: None }).reduce(Action::BackendChosen { backend: Backend::Cpu, note: None });
    assert_eq!(s.finetune.phase, TunePhase::Cancelled);
}

#[test]
fn the_filter_experiment_takes_analysed_images_with_masks_at_the_current_threshold() {
    let s = loaded();
    assert_eq!(s.tune_inputs().count(), 0, "nothing is analysed yet");
    let s = analyse_all(s);
    let inputs: Vec<_> = s.tune_inputs().collect();
    // c.png has no mask, so no label: it is left out.
    assert_eq!(inputs.iter().map(|l| l.label).collect::<Vec<_>>(), vec![true, false]);
    assert_eq!(s.tune_items(), ids(&[10, 11]));
    assert_eq!(inputs[0].hot, Mask::new(4, 1, vec![false, false, true, true]), "the heatmap ramp cut at 0.4");
    let s = s.reduce(Action::ThresholdChosen(Threshold::Fixed(0.9)));
    assert_eq!(s.tune_inputs().next().unwrap().hot, Mask::new(4, 1, vec![false, false, false, true]));
}

fn volume(id: u64, slices: &[u64], view: crate::volume::View) -> VolumeInfo {
    VolumeInfo {
        id: crate::protocol::VolumeId(id),
        name: "scan.nii.gz".into(),
        format: "NIfTI-1, int16".into(),
        dims: [4, 1, slices.len()],
        spacing: [1.0, 1.0, 3.0],
        view,
        window: crate::volume::Window { low: 0.0, high: 100.0 },
        slices: ids(slices),
        labelled: true,
    }
}

#[test]
fn a_volumes_slices_step_reslice_in_place_and_sum_to_3d_dice() {
    use crate::volume::View;
    let slices = vec![item(30, "s1", Some(vec![false, false, true, true])), item(31, "s2", Some(vec![false; 4])), item(32, "s3", Some(vec![false, false, false, true]))];
    let s = loaded().reduce(Action::ItemsLoaded { items: slices, volumes: vec![volume(1, &[30, 31, 32], View::Axial)], demo: false });
    // The demo went; the volume's first slice is on screen.
    assert_eq!((s.items.len(), s.selected), (3, Some(ItemId(30))));
    let s = s.reduce(Action::SliceStep(1)).reduce(Action::SliceStep(5));
    assert_eq!(s.current_slice().map(|(v, k)| (v.id.0, k)), Some((1, 2)), "steps stop at the last slice");
    // Only the shown slice is analysed when asked; every slice otherwise.
    assert_eq!(s.pending(), ids(&[32, 30, 31]));
    let only = s.clone().reduce(Action::ShownSliceOnly(true));
    assert_eq!(only.pending(), ids(&[32]));
    // 3D Dice waits for every slice, then sums voxels: at 0.5 the ramp predicts the right half
    // of each slice: |P&T| = 2 + 0 + 1, |P| = 6, |T| = 3 -> 6/9; gated (slice 2 has p 0.2): 6/7.
    let volume_now = s.volumes[0].clone();
    assert_eq!(s.volume_dice(&volume_now).1, 0);
    let s = analyse_all(s).reduce(Action::ThresholdChosen(Threshold::Fixed(0.5)));
    let (dice, done) = s.volume_dice(&volume_now);
    let dice = dice.unwrap();
    assert_eq!(done, 3);
    assert!((dice.dice - 6.0 / 9.0).abs() < 1e-12 && (dice.gated_dice - 6.0 / 7.0).abs() < 1e-12, "{dice:?}");
    // Another view: new slices take the old ones' place, the shown depth is kept.
    let coronal = vec![item(40, "c1", None), item(41, "c2", None)];
    let s = s.reduce(Action::Resliced { volume: volume(1, &[40, 41], View::Coronal), items: coronal });
    assert_eq!(s.items.iter().map(|i| i.id.0).collect::<Vec<_>>(), vec![40, 41]);
    assert_eq!(s.selected, Some(ItemId(41)));
    assert_eq!(s.volumes[0].view, View::Coronal);
    let s = s.reduce(Action::Cleared);
    assert!(s.volumes.is_empty() && s.items.is_empty());
}

#[test]
fn the_csv_defuses_file_names_that_spreadsheets_would_run() {
    let items = vec![item(50, "=HYPERLINK(\"http://evil\").png", None), item(51, "plain.png", None)];
    let s = PageState::default().reduce(Action::ItemsLoaded { items, volumes: Vec::new(), demo: false });
    let csv = s.csv();
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://evil\"\").png\""), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("plain.png,")), "{csv}");
}

/// Property: any sequence of page actions (uploads, clears, results arriving late, for old
/// generations or for images that are gone, slider moves, sorting, method and backend
/// changes) leaves every result on an image of its own size, and the table, CSV, summary,
/// curves and pictures never panic.
#[test]
fn random_action_sequences_keep_results_on_images_of_their_size() {
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut landed = 0;
    for _run in 0..200 {
        let mut s = PageState::default().reduce(Action::ModelAdded(entry(0, "X model")));
        // Every item ever shown, with its size: results may come back for any of them.
        let mut seen: Vec<(ItemId, usize, usize)> = Vec::new();
        let mut generations = vec![s.generation];
        let mut id = 0u64;
        for _step in 0..40 {
            let action = match next(10) {
                0 | 1 => {
                    let items = (0..1 + next(4))
                        .map(|_| {
                            id += 1;
                            let (w, h) = (1 + next(6) as usize, 1 + next(6) as usize);
                            seen.push((ItemId(id), w, h));
                            let truth = (next(2) == 0).then(|| Rc::new(Mask::new(w, h, (0..w * h).map(|_| next(2) == 0).collect())));
                            Item { id: ItemId(id), name: format!("{id}.png"), image: Rc::new(Plane::new(w, h, vec![0.5; w * h])), truth, result: None }
                        })
                        .collect();
                    Action::ItemsLoaded { items, volumes: Vec::new(), demo: next(4) == 0 }
                }
                2 | 3 if !seen.is_empty() => {
                    let (item, w, h) = seen[next(seen.len() as u64) as usize];
                    let heatmap = Plane::new(w, h, (0..w * h).map(|_| next(1000) as f32 / 999.0).collect());
                    let truth = Mask::new(w, h, (0..w * h).map(|_| next(3) == 0).collect());
                    let overlap = Overlap::new(&heatmap, &truth);
                    let result = Analysed::from(Finding { probability: next(1000) as f32 / 999.0, heatmap, scores: ScoreGrid::from_overlap(&overlap), overlap: Some(overlap) });
                    let generation = generations[next(generations.len() as u64) as usize];
                    Action::Analysed { generation, item, result, millis: 1.0 }
                }
                4 => Action::ThresholdChosen(if next(5) == 0 { Threshold::Otsu } else { Threshold::Fixed(next(21) as f32 / 20.0) }),
                5 => Action::MethodChosen(CamMethod::ALL[next(CamMethod::ALL.len() as u64) as usize]),
                6 => Action::SortedBy([SortKey::File, SortKey::Probability, SortKey::Predicted, SortKey::Truth, SortKey::Dice, SortKey::GatedDice][next(6) as usize]),
                7 => Action::MasksOnNegatives(next(2) == 0),
                8 if !seen.is_empty() => Action::Selected(seen[next(seen.len() as u64) as usize].0),
                _ => if next(3) == 0 { Action::Cleared } else { Action::BackendLost { note: "lost".into() } },
            };
            s = s.reduce(action);
            generations.push(s.generation);
            for item in &s.items {
                if let Some(r) = &item.result {
                    assert_eq!((r.heatmap.width, r.heatmap.height), (item.image.width, item.image.height), "a result on another image's item");
                    landed += 1;
                }
            }
            let rows = s.rows();
            let _ = (BatchSummary::of(&rows), s.csv(), s.dice_curve(false), s.dice_curve(true));
            if let (Some(item), mask) = (s.current(), s.predicted_mask()) {
                if let Some(r) = &item.result {
                    let rgba = crate::render::overlay_rgba(&item.image, &r.heatmap, s.view.colour_map, s.view.opacity, mask.as_ref(), item.truth.as_deref());
                    assert_eq!(rgba.len(), item.image.data.len() * 4);
                }
            }
        }
    }
    assert!(landed > 100, "results rarely landed ({landed}): the sequences test little");
}

#[test]
fn a_picked_channel_toggles_and_a_new_question_lets_it_go() {
    let s = loaded().reduce(Action::ChannelPicked(3));
    assert_eq!(s.steps_channel, Some(3));
    assert_eq!(s.clone().reduce(Action::ChannelPicked(3)).steps_channel, None, "picked again: let go");
    assert_eq!(s.clone().reduce(Action::ChannelPicked(5)).steps_channel, Some(5));
    let asked = s.reduce(Action::Explain(asked::Asking::Requested { request: 1, item: ItemId(1), method: crate::cam::CamMethod::GradCam, block: 2 }));
    assert_eq!(asked.steps_channel, None, "another image's channels are others");
    assert!(asked.steps.pending);
}

#[test]
fn clearing_the_images_drops_their_trust_averages() {
    use crate::ui::state::trust_batch::TrustBatchAction;
    let s = loaded().reduce(Action::TrustBatch(TrustBatchAction::Started { run: 3, model: ModelId(0), method: crate::cam::CamMethod::GradCam, block: 1, total: 2 }));
    assert!(s.trust_batch.running);
    let s = s.reduce(Action::Cleared);
    assert!(!s.trust_batch.running && s.trust_batch.setting.is_none());
    // A late answer of the old run lands nowhere.
    let late = crate::faithfulness::TrustFigures { deletion_auc: 0.1, road_auc: 0.2, insertion_auc: 0.9, pointing_hit: None, fails_randomisation: false };
    let s = s.reduce(Action::TrustBatch(TrustBatchAction::Answered { run: 3, item: ItemId(1), result: Ok(late) }));
    assert!(s.trust_batch.averages().is_none());
}

#[test]
fn the_image_on_screen_saves_its_heatmap_mask_and_overlay_as_pngs_named_for_it() {
    let mut it = item(1, "scan.01.png", Some(vec![false, false, true, true]));
    let view = ViewSettings::default();
    assert_eq!(it.export_picture(&view, "heatmap").unwrap_err(), "the heatmap is still being computed");
    assert_eq!(it.picture(&view, None).2.len(), 4 * 4, "the plain scan while its heatmap is pending");
    it.result = Some(analysed(&it, 0.9));
    for what in ["heatmap", "mask", "overlay"] {
        let picture = it.export_picture(&view, what).unwrap();
        assert_eq!(picture.file_name, format!("scan.01_{what}.png"));
        let bytes = picture.png();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let png = image::load_from_memory(&bytes).unwrap();
        assert_eq!((png.width(), png.height()), (4, 1));
    }
    // Called "no tumour": the mask is gated away and saving it says why.
    it.result = Some(analysed(&it, 0.1));
    assert!(it.export_picture(&view, "mask").unwrap_err().contains("gated away"));
    let asked = ViewSettings { masks_on_negatives: true, ..ViewSettings::default() };
    assert_eq!(it.predicted_mask(&asked).map(|m| m.area()), Some(2), "asked for: the mask as cut at the default 0.5");
    let mask = it.export_picture(&asked, "mask").unwrap();
    assert!(mask.gray && mask.pixels.iter().filter(|&&p| p == 255).count() == 2, "the mask's pixels, white where it is set");
}

#[test]
fn a_trained_model_reads_kept_only_once_its_write_is_done() {
    let mut trained = entry(1, "mine");
    trained.stored = Some(Stored::saving("trained-1".into()));
    let s = PageState::default().reduce(Action::ModelAdded(entry(0, "shipped"))).reduce(Action::ModelAdded(trained));
    let keeping = |s: &PageState, id: u32| s.entry(ModelId(id)).and_then(|m| m.stored.as_ref()).map(|st| st.keeping);
    assert_eq!(keeping(&s, 1), Some(Keeping::Saving));
    let s = s.reduce(Action::ModelKeeping { id: ModelId(1), keeping: Keeping::Kept });
    assert_eq!(keeping(&s, 1), Some(Keeping::Kept));
    // A rename writes again; a refusal is kept as such.
    let s = s.reduce(Action::ModelKeeping { id: ModelId(1), keeping: Keeping::Saving }).reduce(Action::ModelKeeping { id: ModelId(1), keeping: Keeping::Refused });
    assert_eq!(keeping(&s, 1), Some(Keeping::Refused));
    // A model that is not in storage gains no place there.
    let s = s.reduce(Action::ModelKeeping { id: ModelId(0), keeping: Keeping::Kept });
    assert_eq!(keeping(&s, 0), None);
}
