use super::*;
use crate::card::ModelCard;
use crate::model::ClassifierConfig;

fn card(name: &str) -> ModelCard {
    let mut card = ModelCard::new(name, ClassifierConfig { input_size: 16, widths: vec![4, 8, 8], convs: vec![1, 1, 1], dropout: 0.0 });
    card.cam.method = CamMethod::Fusion;
    card.cam.block = 2;
    card.cam.threshold = Threshold::Fixed(0.4);
    card
}

/// A 4x1 image whose heatmap ramps 0, 1/3, 2/3, 1 and whose true mask is the right half.
fn item(name: &str, truth: Option<Vec<bool>>) -> Item {
    Item {
        name: name.into(),
        image: Rc::new(Plane::new(4, 1, vec![0.5; 4])),
        truth: truth.map(|bits| Rc::new(Mask::new(4, 1, bits))),
        result: None,
    }
}

fn analysed(p: f32) -> Analysed {
    Analysed { probability: p, heatmap: Rc::new(Plane::new(4, 1, vec![0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0])) }
}

fn loaded() -> PageState {
    let items = vec![item("b.png", Some(vec![false, false, true, true])), item("a.png", Some(vec![false; 4])), item("c.png", None)];
    PageState::default()
        .reduce(Action::ModelAdded(ModelEntry { source: "models/x".into(), card: card("X model") }))
        .reduce(Action::ItemsLoaded { items, demo: true })
}

fn analyse_all(mut s: PageState) -> PageState {
    let g = s.generation;
    for (i, p) in [(0, 0.9), (1, 0.2), (2, 0.7)] {
        s = s.reduce(Action::Analysed { generation: g, index: i, result: analysed(p), millis: 10.0 * (i + 1) as f64 });
    }
    s
}

#[test]
fn choosing_a_model_takes_its_cards_cam_and_drops_stale_results() {
    let s = loaded();
    assert_eq!((s.method, s.block, s.view.threshold), (Some(CamMethod::Fusion), 2, Threshold::Fixed(0.4)));
    assert_eq!(s.selected, 0, "the demo opens on its first tumour image");
    assert_eq!(s.pending(), vec![0, 1, 2]);
    let old = s.generation;
    let s = analyse_all(s);
    assert_eq!(s.first_heatmap_ms, Some(10.0));
    assert!(s.pending().is_empty());
    let s = s.reduce(Action::MethodChosen(CamMethod::GradCam));
    assert_eq!(s.pending(), vec![0, 1, 2], "a new method needs new heatmaps");
    // A result computed for the old method arrives late: ignored.
    let s = s.reduce(Action::Analysed { generation: old, index: 0, result: analysed(0.9), millis: 1.0 });
    assert!(s.items[0].result.is_none());
    let s = s.reduce(Action::BlockChosen(7));
    assert_eq!(s.block, 2, "a layer the model does not have is refused");
}

#[test]
fn the_threshold_moves_dice_without_the_model() {
    let s = analyse_all(loaded());
    // Threshold 0.4 keeps the two right pixels: exactly the truth.
    assert_eq!(s.score(0).unwrap().dice, Some(1.0));
    let s = s.reduce(Action::ThresholdChosen(Threshold::Fixed(0.2)));
    let dice = s.score(0).unwrap().dice.unwrap();
    assert!((dice - 0.8).abs() < 1e-9, "3 predicted, 2 true, 2 shared: {dice}");
    assert!((s.current_iou().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    // No tumour in the mask: no Dice, but a class. No mask at all: neither.
    assert_eq!(s.score(1).unwrap().dice, None);
    let summary = s.summary();
    assert_eq!((summary.images, summary.analysed, summary.with_class, summary.scored), (3, 3, 2, 1));
    assert_eq!(summary.accuracy, Some(1.0));
    assert!((summary.mean_dice.unwrap() - 0.8).abs() < 1e-9);
    let (curve, otsu) = s.dice_curve();
    assert_eq!(curve.len(), 9);
    assert!((curve[4].1 - 1.0).abs() < 1e-9, "0.5 keeps pixels 2 and 3: {curve:?}");
    assert!(otsu.is_some());
}

#[test]
fn rows_sort_by_any_column_and_the_csv_holds_them() {
    let s = analyse_all(loaded()).reduce(Action::SortedBy(SortKey::File));
    assert_eq!(s.rows().iter().map(|r| r.file.as_str()).collect::<Vec<_>>(), ["a.png", "b.png", "c.png"]);
    let s = s.reduce(Action::SortedBy(SortKey::File));
    assert_eq!(s.rows()[0].file, "c.png", "a second click reverses");
    let s = s.reduce(Action::SortedBy(SortKey::Probability));
    assert_eq!(s.rows().iter().map(|r| r.index).collect::<Vec<_>>(), [1, 2, 0]);
    let csv = s.csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "file,probability,predicted,truth,dice,iou,method,block,threshold");
    assert_eq!(lines[1], "a.png,0.2000,no tumour,no tumour,,,fusion,2,0.4");
    assert_eq!(lines[3], "b.png,0.9000,tumour,tumour,1.0000,1.0000,fusion,2,0.4");
    assert_eq!(lines.len(), 4);
}

#[test]
fn uploads_replace_the_demo_then_add_up_and_a_lost_gpu_keeps_them() {
    let s = analyse_all(loaded()).reduce(Action::BackendChosen { backend: Backend::WebGpu, note: None });
    let s = s.reduce(Action::ItemsLoaded { items: vec![item("mine.png", None)], demo: false });
    assert_eq!(s.items.len(), 1);
    assert_eq!(s.selected, 0);
    let s = s.reduce(Action::ItemsLoaded { items: vec![item("more.png", None), item("more2.png", None)], demo: false });
    assert_eq!(s.items.len(), 3);
    assert_eq!(s.selected, 1, "the first new image is shown");
    assert_eq!(s.pending(), vec![1, 2, 0], "the shown image is analysed first");
    let s = analyse_all(s).reduce(Action::BackendLost { note: "the WebGPU device was lost".into() });
    assert_eq!(s.backend, Some(Backend::Cpu));
    assert_eq!(s.items.len(), 3);
    assert_eq!(s.pending().len(), 3);
    assert!(s.error.as_deref().unwrap().contains("images are kept"));
}

#[test]
fn fine_tuning_records_progress_before_and_after_and_can_be_cancelled() {
    let progress = |step| Progress { epoch: 0, epochs: 2, step, total_steps: 4, loss: 0.5, batch_accuracy: 0.75, epoch_end: false };
    let s = analyse_all(loaded()).reduce(Action::FilterChosen(Filter::RemoveHot)).reduce(Action::EpochsChosen(2));
    let s = s.reduce(Action::TuneStarted { trained_on: 2, held_out: 1, accuracy_before: 0.5, total_steps: 4 });
    let s = s.reduce(Action::TuneStep(progress(1))).reduce(Action::TuneStep(progress(2)));
    assert_eq!((s.finetune.step, s.finetune.losses.len(), s.finetune.filter), (2, 2, Filter::RemoveHot));
    let cancelled = s.clone().reduce(Action::TuneCancelled);
    assert_eq!(cancelled.finetune.phase, TunePhase::Cancelled);
    assert_eq!(cancelled.reduce(Action::TuneStep(progress(3))).finetune.losses.len(), 2, "no steps after a cancel");
    let done = s.reduce(Action::TuneFinished { accuracy_after: 1.0 });
    assert_eq!((done.finetune.accuracy_before, done.finetune.accuracy_after), (Some(0.5), Some(1.0)));
    let kept = done.reduce(Action::TuneKept(ModelEntry { source: "fine-tuned here".into(), card: card("X model (fine-tuned)") }));
    assert_eq!(kept.model, Some(1));
    assert!(kept.finetune.kept);
    assert_eq!(kept.finetune.accuracy_after, Some(1.0), "the comparison stays on screen");
    assert_eq!(kept.model_stem(), "x-model-fine-tuned");
}

#[test]
fn the_filter_experiment_takes_analysed_images_with_masks_at_the_current_threshold() {
    let s = loaded();
    assert_eq!(s.tune_inputs().count(), 0, "nothing is analysed yet");
    let s = analyse_all(s);
    let inputs: Vec<_> = s.tune_inputs().collect();
    // c.png has no mask, so no label: it is left out.
    assert_eq!(inputs.iter().map(|l| l.label).collect::<Vec<_>>(), vec![true, false]);
    assert_eq!(inputs[0].hot, Mask::new(4, 1, vec![false, false, true, true]), "the heatmap ramp cut at 0.4");
    let s = s.reduce(Action::ThresholdChosen(Threshold::Fixed(0.9)));
    assert_eq!(s.tune_inputs().next().unwrap().hot, Mask::new(4, 1, vec![false, false, false, true]));
}
