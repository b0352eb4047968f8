//! The worker's messages as the page's actions, and the few side effects some carry (a
//! download, a forgotten load, a trained model to keep).

use super::{files, now_ms, training, Dispatch, Shared};
use crate::protocol::{WorkerInput, WorkerOutput};
use crate::ui::state::training::{EpochPoint, TrainAction};
use crate::ui::state::asked::Asking;
use crate::ui::state::trust_batch::TrustBatchAction;
use crate::ui::state::{Action, Item, ModelEntry};
use std::rc::Rc;

/// The worker's messages as actions (most map one to one).
pub(super) fn on_output(output: WorkerOutput, dispatch: &Dispatch, shared: &Shared) {
    let act = |a: Action| dispatch.dispatch(a);
    match output {
        // The link itself handles it.
        WorkerOutput::Ready => {}
        WorkerOutput::BackendChosen { backend, note } => act(Action::BackendChosen { backend, note }),
        WorkerOutput::BackendLost { note } => act(Action::BackendLost { note }),
        WorkerOutput::ModelAccepted { model } => match shared.waiting.borrow_mut().remove(&model) {
            Some((entry, _)) => {
                act(Action::ModelAdded(ModelEntry { ready: true, ..entry }));
                act(Action::Dismissed);
            }
            None => act(Action::ModelReady(model)),
        },
        WorkerOutput::ModelRejected { model, message } => {
            shared.models.borrow_mut().remove(&model);
            let from = shared.waiting.borrow_mut().remove(&model).map(|e| e.1).unwrap_or_else(|| format!("model {}", model.0));
            act(Action::Failed(format!("{from}: {message}")));
        }
        WorkerOutput::Busy(busy) => act(Action::Working(busy)),
        WorkerOutput::Loaded { request, items, .. } | WorkerOutput::Resliced { request, items, .. } if request < shared.cleared_at.get() => {
            // Cleared while it was being read or decoded: the person does not want it.
            shared.send(&WorkerInput::Forget { items: items.iter().map(|i| i.id).collect() });
        }
        WorkerOutput::Loaded { demo, items, volumes, problems, .. } => {
            let n = items.len();
            if n > 0 {
                let what = match volumes.len() {
                    0 => format!("loaded {n} images"),
                    v => format!("loaded {n} images, slices of {v} volume{} among them", if v == 1 { "" } else { "s" }),
                };
                act(Action::ItemsLoaded { items: items.into_iter().map(Item::from).collect(), volumes, demo });
                act(Action::Status(what));
            }
            let problems = crate::data::upload::summarise_problems(&problems, 20);
            if demo && !problems.is_empty() {
                act(Action::Failed(format!("the demo set is damaged: {}", problems.join("; "))));
            } else if !problems.is_empty() {
                let lead = if n == 0 { "Nothing usable was loaded." } else { "Some files were not used." };
                act(Action::Failed(format!("{lead}\n{}", problems.join("\n"))));
            } else if !demo {
                act(Action::Dismissed);
            }
        }
        WorkerOutput::Resliced { volume, items, .. } => {
            act(Action::Status(format!("{}: {} {} slices", volume.name, items.len(), volume.view.label())));
            act(Action::Resliced { volume, items: items.into_iter().map(Item::from).collect() });
        }
        WorkerOutput::Exported { file_name, bytes, .. } => match files::download(&file_name, "application/gzip", &bytes) {
            Ok(()) => act(Action::Status(format!("saved {file_name}"))),
            Err(e) => act(Action::Failed(format!("{file_name}: {e}"))),
        },
        WorkerOutput::Analysed { generation, item, finding } => act(Action::Analysed { generation, item, result: finding.into(), millis: now_ms() }),
        WorkerOutput::AnalysisDone { images, millis, backend, .. } => {
            act(Action::Working(None));
            act(Action::Status(format!("analysed {images} images in {millis:.0} ms on {}", backend.label())));
        }
        WorkerOutput::TuneStarted { run, trained_on, held_out, accuracy_before, total_steps } => {
            act(Action::TuneStarted { run, trained_on, held_out, accuracy_before, total_steps })
        }
        WorkerOutput::TuneStep { run, progress } => act(Action::TuneStep { run, progress }),
        WorkerOutput::TuneFinished { run, accuracy_after, weights, seconds } => {
            act(Action::TuneFinished { run, accuracy_after, weights: Rc::new(weights) });
            act(Action::Status(format!("fine-tuned in {seconds:.1} s")));
        }
        WorkerOutput::TuneCancelled { run } => {
            act(Action::TuneCancelled { run });
            act(Action::Status("fine-tuning cancelled; the model is unchanged".into()));
        }
        WorkerOutput::TuneFailed { run, message } => act(Action::TuneFailed { run, message }),
        WorkerOutput::LabelsRead { request, summary, classes } => act(Action::Train(TrainAction::LabelsRead { request, summary, classes })),
        WorkerOutput::TrainStarted { run, train, val, total_steps } => act(Action::Train(TrainAction::Started { run, train, val, total_steps })),
        WorkerOutput::TrainStep { run, progress } => act(Action::Train(TrainAction::Step { run, progress, now_ms: now_ms() })),
        WorkerOutput::TrainEpoch { run, epoch, loss, val_auc, val_accuracy } => act(Action::Train(TrainAction::Epoch { run, point: EpochPoint { epoch, loss, val_auc, val_accuracy } })),
        WorkerOutput::TrainFinished { run, card_json, weights, seconds } => training::finished(run, card_json, weights, seconds, dispatch, shared),
        WorkerOutput::Trusted { request, result, .. } => act(Action::Trust(Asking::Answered { request, result })),
        WorkerOutput::Explained { request, result, .. } => act(Action::Explain(Asking::Answered { request, result })),
        WorkerOutput::TrustedOne { run, item, result } => act(Action::TrustBatch(TrustBatchAction::Answered { run, item, result })),
        WorkerOutput::TrustAllDone { run } => act(Action::TrustBatch(TrustBatchAction::Done { run })),
        WorkerOutput::TrainCancelled { run } => act(Action::Train(TrainAction::Cancelled { run })),
        WorkerOutput::TrainFailed { run, message } => act(Action::Train(TrainAction::Failed { run, message })),
        WorkerOutput::Failed { message } => act(Action::Failed(message)),
    }
}

