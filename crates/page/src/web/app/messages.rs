//! The worker's messages, mapped to actions by [`reply`] (pure, in the core), and the side
//! effects some carry, carried out here: a download, a forgotten load, a trained model to keep.

use super::{files, now_ms, training, Shared};
use crate::protocol::{WorkerInput, WorkerOutput};
use crate::ui::state::reply::{reply, Effect, Known};
use crate::ui::state::Action;

/// Dispatches the actions of `output`, then carries out its effects.
pub(super) fn on_output(output: WorkerOutput, shared: &Shared) {
    let dispatch = &shared.dispatch;
    let (actions, effects) = {
        let waiting = shared.waiting.borrow();
        reply(output, &Known { waiting: &waiting, cleared_at: shared.cleared_at.get(), now_ms: now_ms() })
    };
    for action in actions {
        dispatch.dispatch(action);
    }
    for effect in effects {
        match effect {
            Effect::Unwait(model) => drop(shared.waiting.borrow_mut().remove(&model)),
            Effect::DropModel(model) => drop(shared.models.borrow_mut().remove(&model)),
            Effect::Forget(items) => shared.send(&WorkerInput::Forget { items }),
            Effect::Download { file_name, bytes } => dispatch.dispatch(match files::download(&file_name, "application/gzip", &bytes) {
                Ok(()) => Action::Status(format!("saved {file_name}")),
                Err(e) => Action::Failed(format!("{file_name}: {e}")),
            }),
            Effect::Remember(measured) => crate::web::remembered::remember(&measured),
            Effect::Trained { run, card_json, weights, seconds } => training::finished(run, card_json, weights, seconds, dispatch, shared),
        }
    }
}
