//! The worker's messages as the page's actions: a pure function of the message and the little
//! the page keeps beside its state ([`Known`]), tested natively. What cannot be an action (a
//! download, a forgotten load, a trained model to keep) comes back as an [`Effect`] for the page
//! to carry out.

use super::asked::Asking;
use super::training::{EpochPoint, TrainAction};
use super::trust_batch::TrustBatchAction;
use super::{Action, Item, ModelEntry};
use crate::protocol::{ItemId, ModelId, WorkerOutput};
use std::collections::BTreeMap;
use std::rc::Rc;

/// What the page keeps outside its state that a message is read against.
pub struct Known<'a> {
    /// User models the worker is checking, with the names of the files they came from.
    pub waiting: &'a BTreeMap<ModelId, (ModelEntry, String)>,
    /// Loads asked for before this request were cleared while the worker decoded them.
    pub cleared_at: u64,
    /// The page's clock (ms), for the actions that time themselves.
    pub now_ms: f64,
}

/// A side effect a message asks of the page.
#[derive(Debug, PartialEq)]
pub enum Effect {
    /// The worker checked (or refused) this model: it waits no longer.
    Unwait(ModelId),
    /// The worker refused this model: forget its weights too.
    DropModel(ModelId),
    /// The images of a load cleared while it was decoded: the worker may free them.
    Forget(Vec<ItemId>),
    /// Save these bytes as a file; the page says whether it could.
    Download { file_name: String, bytes: Vec<u8> },
    /// A training run finished: read its card, keep the model, make it current.
    Trained { run: u64, card_json: String, weights: Vec<u8>, seconds: f64 },
    /// Keep this adapter's measurement in the browser, for the next visit.
    Remember(crate::protocol::Measured),
}

/// The actions and effects of one worker message.
pub fn reply(output: WorkerOutput, known: &Known) -> (Vec<Action>, Vec<Effect>) {
    let one = |a: Action| (vec![a], Vec::new());
    match output {
        // The link itself handles it; a message for another worker never reaches the page.
        WorkerOutput::Ready | WorkerOutput::ToPeer { .. } => (Vec::new(), Vec::new()),
        WorkerOutput::BackendChosen { backend, note } => one(Action::BackendChosen { backend, note }),
        WorkerOutput::BackendLost { note } => one(Action::BackendLost { note }),
        WorkerOutput::BackendMeasured(measured) => (vec![Action::BackendMeasured { backend: measured.faster(), note: measured.note() }], vec![Effect::Remember(measured)]),
        WorkerOutput::ModelAccepted { model } => match known.waiting.get(&model) {
            Some((entry, _)) => (vec![Action::ModelAdded(ModelEntry { ready: true, ..entry.clone() }), Action::Dismissed], vec![Effect::Unwait(model)]),
            None => one(Action::ModelReady(model)),
        },
        WorkerOutput::ModelRejected { model, message } => {
            let from = known.waiting.get(&model).map(|e| e.1.clone()).unwrap_or_else(|| format!("model {}", model.0));
            (vec![Action::Failed(format!("{from}: {message}"))], vec![Effect::DropModel(model), Effect::Unwait(model)])
        }
        WorkerOutput::Busy(busy) => one(Action::Working(busy)),
        WorkerOutput::Loaded { request, items, .. } | WorkerOutput::Resliced { request, items, .. } if request < known.cleared_at => {
            // Cleared while it was being read or decoded: the person does not want it.
            (Vec::new(), vec![Effect::Forget(items.iter().map(|i| i.id).collect())])
        }
        WorkerOutput::Loaded { demo, items, volumes, problems, .. } => {
            let mut actions = Vec::new();
            let n = items.len();
            if n > 0 {
                let what = match volumes.len() {
                    0 => format!("loaded {n} images"),
                    v => format!("loaded {n} images, slices of {v} volume{} among them", if v == 1 { "" } else { "s" }),
                };
                actions.push(Action::ItemsLoaded { items: items.into_iter().map(Item::from).collect(), volumes, demo });
                actions.push(Action::Status(what));
            }
            let problems = crate::data::upload::summarise_problems(&problems, 20);
            if demo && !problems.is_empty() {
                actions.push(Action::Failed(format!("the demo set is damaged: {}", problems.join("; "))));
            } else if !problems.is_empty() {
                let lead = if n == 0 { "Nothing usable was loaded." } else { "Some files were not used." };
                actions.push(Action::Failed(format!("{lead}\n{}", problems.join("\n"))));
            } else if !demo {
                actions.push(Action::Dismissed);
            }
            (actions, Vec::new())
        }
        WorkerOutput::Resliced { volume, items, .. } => (
            vec![
                Action::Status(format!("{}: {} {} slices", volume.name, items.len(), volume.view.label())),
                Action::Resliced { volume, items: items.into_iter().map(Item::from).collect() },
            ],
            Vec::new(),
        ),
        WorkerOutput::Exported { file_name, bytes, .. } | WorkerOutput::Encoded { file_name, bytes } => (Vec::new(), vec![Effect::Download { file_name, bytes }]),
        WorkerOutput::Analysed { generation, item, finding } => one(Action::Analysed { generation, item, result: finding.into(), millis: known.now_ms }),
        WorkerOutput::AnalysisDone { images, millis, backend, .. } => {
            (vec![Action::Working(None), Action::Status(format!("analysed {images} images in {millis:.0} ms on {}", backend.label()))], Vec::new())
        }
        WorkerOutput::TuneStarted { run, trained_on, held_out, accuracy_before, total_steps } => {
            one(Action::TuneStarted { run, trained_on, held_out, accuracy_before, total_steps })
        }
        WorkerOutput::TuneStep { run, progress } => one(Action::TuneStep { run, progress }),
        WorkerOutput::TuneFinished { run, accuracy_after, weights, seconds } => (
            vec![Action::TuneFinished { run, accuracy_after, weights: Rc::new(weights) }, Action::Status(format!("fine-tuned in {seconds:.1} s"))],
            Vec::new(),
        ),
        WorkerOutput::TuneCancelled { run } => {
            (vec![Action::TuneCancelled { run }, Action::Status("fine-tuning cancelled; the model is unchanged".into())], Vec::new())
        }
        WorkerOutput::TuneFailed { run, message } => one(Action::TuneFailed { run, message }),
        WorkerOutput::LabelsRead { request, summary, classes } => one(Action::Train(TrainAction::LabelsRead { request, summary, classes })),
        WorkerOutput::TrainStarted { run, train, val, total_steps, workers } => one(Action::Train(TrainAction::Started { run, train, val, total_steps, workers })),
        WorkerOutput::TrainStep { run, progress } => one(Action::Train(TrainAction::Step { run, progress, now_ms: known.now_ms })),
        WorkerOutput::TrainEpoch { run, epoch, loss, val_auc, val_accuracy } => {
            one(Action::Train(TrainAction::Epoch { run, point: EpochPoint { epoch, loss, val_auc, val_accuracy } }))
        }
        WorkerOutput::TrainFinished { run, card_json, weights, seconds } => (Vec::new(), vec![Effect::Trained { run, card_json, weights, seconds }]),
        WorkerOutput::Trusted { request, result, .. } => one(Action::Trust(Asking::Answered { request, result })),
        WorkerOutput::Explained { request, result, .. } => one(Action::Explain(Asking::Answered { request, result })),
        WorkerOutput::TrustedOne { run, item, result } => one(Action::TrustBatch(TrustBatchAction::Answered { run, item, result })),
        WorkerOutput::TrustAllDone { run } => one(Action::TrustBatch(TrustBatchAction::Done { run })),
        WorkerOutput::TrainCancelled { run } => one(Action::Train(TrainAction::Cancelled { run })),
        WorkerOutput::TrainFailed { run, message } => one(Action::Train(TrainAction::Failed { run, message })),
        WorkerOutput::Failed { message } => one(Action::Failed(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Backend;
    use crate::card::ModelCard;
    use crate::masks::Mask;
    use crate::model::ClassifierConfig;
    use crate::plane::Plane;
    use crate::protocol::NewItem;
    use crate::ui::state::PageState;

    fn entry(id: u32) -> ModelEntry {
        let card = ModelCard::new("mine", ClassifierConfig::default());
        ModelEntry { id: ModelId(id), source: "mine.json".into(), shipped: None, card, ready: false, stored: None }
    }

    fn new_item(id: u64) -> NewItem {
        NewItem { id: ItemId(id), name: format!("{id}.png"), image: Plane::new(2, 2, vec![0.5; 4]), truth: Some(Mask::new(2, 2, vec![true, false, false, false])) }
    }

    fn loaded(request: u64, items: Vec<NewItem>, problems: Vec<String>, demo: bool) -> WorkerOutput {
        WorkerOutput::Loaded { request, demo, items, volumes: Vec::new(), problems }
    }

    #[test]
    fn a_checked_model_joins_the_picker_ready_and_stops_waiting() {
        let waiting = BTreeMap::from([(ModelId(3), (entry(3), "mine.bpk".to_string()))]);
        let known = Known { waiting: &waiting, cleared_at: 0, now_ms: 0.0 };
        let (actions, effects) = reply(WorkerOutput::ModelAccepted { model: ModelId(3) }, &known);
        assert_eq!(actions, vec![Action::ModelAdded(ModelEntry { ready: true, ..entry(3) }), Action::Dismissed]);
        assert_eq!(effects, vec![Effect::Unwait(ModelId(3))]);
        let state = actions.into_iter().fold(PageState::default(), PageState::reduce);
        assert!(state.models.iter().any(|m| m.id == ModelId(3) && m.ready));
        // A shipped model (not waiting) is only marked ready.
        let (actions, effects) = reply(WorkerOutput::ModelAccepted { model: ModelId(0) }, &known);
        assert_eq!((actions, effects), (vec![Action::ModelReady(ModelId(0))], Vec::new()));
    }

    #[test]
    fn a_measured_backend_is_kept_said_and_remembered_without_analysing_again() {
        let waiting = BTreeMap::new();
        let known = Known { waiting: &waiting, cleared_at: 0, now_ms: 0.0 };
        let measured = crate::protocol::Measured { adapter: "gpu".into(), webgpu_ms: 30.0, cpu_ms: 20.0, images: 4 };
        let (actions, effects) = reply(WorkerOutput::BackendMeasured(measured.clone()), &known);
        assert_eq!(effects, vec![Effect::Remember(measured)]);
        let mut state = PageState::default().reduce(Action::BackendChosen { backend: Backend::WebGpu, note: None });
        state = state.reduce(Action::ItemsLoaded { items: vec![Item::from(new_item(1))], volumes: Vec::new(), demo: false });
        let generation = state.generation;
        let state = actions.into_iter().fold(state, PageState::reduce);
        assert_eq!(state.backend, Some(Backend::Cpu));
        assert!(state.backend_note.as_deref().is_some_and(|n| n.contains("WebGPU 30.0 ms") && n.contains("CPU 20.0 ms")));
        assert_eq!(state.generation, generation, "results of either backend stand");
    }

    #[test]
    fn a_refused_model_is_named_by_its_file_and_forgotten() {
        let waiting = BTreeMap::from([(ModelId(3), (entry(3), "mine.bpk".to_string()))]);
        let known = Known { waiting: &waiting, cleared_at: 0, now_ms: 0.0 };
        let (actions, effects) = reply(WorkerOutput::ModelRejected { model: ModelId(3), message: "the weights are damaged".into() }, &known);
        assert_eq!(actions, vec![Action::Failed("mine.bpk: the weights are damaged".into())]);
        assert_eq!(effects, vec![Effect::DropModel(ModelId(3)), Effect::Unwait(ModelId(3))]);
        let (actions, _) = reply(WorkerOutput::ModelRejected { model: ModelId(7), message: "bad".into() }, &known);
        assert_eq!(actions, vec![Action::Failed("model 7: bad".into())]);
    }

    #[test]
    fn loads_cleared_while_decoding_are_forgotten_and_others_land_with_their_problems() {
        let waiting = BTreeMap::new();
        let known = Known { waiting: &waiting, cleared_at: 5, now_ms: 0.0 };
        let (actions, effects) = reply(loaded(4, vec![new_item(1), new_item(2)], Vec::new(), false), &known);
        assert!(actions.is_empty());
        assert_eq!(effects, vec![Effect::Forget(vec![ItemId(1), ItemId(2)])]);

        let (actions, effects) = reply(loaded(5, vec![new_item(1)], vec!["x.png: not an image".into()], false), &known);
        assert!(effects.is_empty());
        assert_eq!(actions[1], Action::Status("loaded 1 images".into()));
        assert!(matches!(&actions[2], Action::Failed(m) if m.starts_with("Some files were not used.") && m.contains("x.png: not an image")));
        let state = actions.into_iter().fold(PageState::default(), PageState::reduce);
        assert_eq!(state.items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![ItemId(1)]);

        let (actions, _) = reply(loaded(6, Vec::new(), vec!["x.png: not an image".into()], false), &known);
        assert!(matches!(&actions[..], [Action::Failed(m)] if m.starts_with("Nothing usable was loaded.")));
        let (actions, _) = reply(loaded(6, vec![new_item(1)], vec!["x.png: cut short".into()], true), &known);
        assert!(matches!(actions.last(), Some(Action::Failed(m)) if m.starts_with("the demo set is damaged")));
    }

    #[test]
    fn side_effects_are_handed_back_not_done() {
        let waiting = BTreeMap::new();
        let known = Known { waiting: &waiting, cleared_at: 0, now_ms: 12.5 };
        let (actions, effects) = reply(WorkerOutput::TrainFinished { run: 2, card_json: "{}".into(), weights: vec![1], seconds: 3.0 }, &known);
        assert!(actions.is_empty());
        assert_eq!(effects, vec![Effect::Trained { run: 2, card_json: "{}".into(), weights: vec![1], seconds: 3.0 }]);
        let (_, effects) = reply(WorkerOutput::Exported { volume: crate::protocol::VolumeId(1), file_name: "m.nii.gz".into(), bytes: vec![9] }, &known);
        assert_eq!(effects, vec![Effect::Download { file_name: "m.nii.gz".into(), bytes: vec![9] }]);
        // Timed actions take the page's clock.
        let progress = crate::train::Progress { epoch: 0, epochs: 1, step: 1, total_steps: 2, loss: 0.5, batch_accuracy: 1.0, epoch_end: false, read_steps: 1 };
        let (actions, _) = reply(WorkerOutput::TrainStep { run: 2, progress: progress.clone() }, &known);
        assert_eq!(actions, vec![Action::Train(TrainAction::Step { run: 2, progress, now_ms: 12.5 })]);
    }
}
