//! Training in the page, the page's side: a labelled folder read and handed to the worker, the
//! run's callbacks, the trained model joining the picker and the browser's storage, and the
//! models kept there from earlier visits.

use super::{now_ms, Dispatch, Shared, Store};
use crate::card::ModelCard;
use crate::data::labelled::LabelOptions;
use crate::protocol::{ModelId, WorkerInput};
use crate::ui::state::training::TrainAction;
use crate::ui::state::{Action, Keeping, ModelEntry, Stored};
use crate::web::files::{self, Picked};
use crate::web::storage;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

/// The finished run's model: to the worker, the picker (as the current model) and storage.
pub(super) fn finished(run: u64, card_json: String, weights: Vec<u8>, seconds: f64, dispatch: &Dispatch, shared: &Shared) {
    let act = |a: Action| dispatch.dispatch(a);
    match ModelCard::from_json(&card_json) {
            Ok(card) => {
                act(Action::Train(TrainAction::Finished { run }));
                act(Action::Status(format!("trained {} in {seconds:.1} s", card.name)));
                let key = format!("trained-{}-{run}", now_ms().round() as u64);
                let id = shared.new_model_id();
                shared.send_model(id, &card, weights.clone());
                act(Action::ModelAdded(ModelEntry { id, source: "trained in this browser".into(), shipped: None, card, ready: false, stored: Some(Stored::saving(key.clone())) }));
                let dispatch = dispatch.clone();
                spawn_local(async move {
                    let saved = storage::save(&key, &card_json, &weights).await;
                    kept(&dispatch, id, saved, "the trained model works in this tab but could not be kept in the browser");
                });
            }
            Err(e) => act(Action::Train(TrainAction::Failed { run, message: format!("the run wrote a card the page cannot read: {e}") })),
        }
}

/// A write to storage has ended: the model reads kept, or the page says why it is not.
fn kept(dispatch: &Dispatch, id: ModelId, result: Result<(), String>, failure: &str) {
    let keeping = match result {
        Ok(()) => Keeping::Kept,
        Err(e) => {
            dispatch.dispatch(Action::Failed(format!("{failure} ({e}); download it to keep it")));
            Keeping::Refused
        }
    };
    dispatch.dispatch(Action::ModelKeeping { id, keeping });
}

/// Models trained here in earlier visits, from the browser's storage, to the picker and the
/// worker. A browser without storage simply has none.
pub(super) async fn restore(shared: Rc<Shared>, dispatch: Dispatch) {
    let Ok(saved) = storage::load_all().await else { return };
    let mut entries = Vec::new();
    for (key, card_json, weights) in saved {
        match ModelCard::from_json(&card_json) {
            Ok(card) => {
                let id = shared.new_model_id();
                shared.send_model(id, &card, weights);
                let stored = Stored { key, keeping: Keeping::Kept };
                entries.push(ModelEntry { id, source: "trained in this browser".into(), shipped: None, card, ready: false, stored: Some(stored) });
            }
            Err(e) => dispatch.dispatch(Action::Failed(format!("a model kept in this browser ({key}) cannot be read: {e}"))),
        }
    }
    if !entries.is_empty() {
        dispatch.dispatch(Action::ModelsRestored(entries));
    }
}

/// A labelled folder given for training: read here, summarised by the worker.
async fn load_files(list: Vec<Picked>, options: LabelOptions, shared: Rc<Shared>, dispatch: Dispatch) {
    let request = shared.next_id();
    let source = list.first().map(|p| p.path.split('/').next().unwrap_or(&p.path).to_string()).unwrap_or_default();
    let source = if list.len() > 1 && !list[0].path.contains('/') { format!("{} files", list.len()) } else { source };
    dispatch.dispatch(Action::Train(TrainAction::FolderGiven { request, source }));
    // A run is near: the workers that will share it start (and are introduced) meanwhile.
    super::workers::start_trainers(&shared);
    let (read, problems) = files::read_all(list).await;
    if !problems.is_empty() {
        dispatch.dispatch(Action::Failed(problems.join("\n")));
    }
    shared.send(&WorkerInput::ReadLabels { request, files: Some(read), options });
}


/// What the Train panel and the model row can ask for.
pub(super) struct Callbacks {
    pub files: Callback<Vec<Picked>>,
    pub options: Callback<LabelOptions>,
    pub start: Callback<()>,
    pub cancel: Callback<()>,
    pub rename: Callback<(ModelId, String)>,
    pub delete: Callback<ModelId>,
}

pub(super) fn callbacks(store: &UseReducerHandle<Store>, shared: &Rc<Shared>) -> Callbacks {
    let on_train_files = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |list: Vec<Picked>| spawn_local(load_files(list, store.0.training.options.clone(), shared.clone(), store.dispatcher())))
    };
    let on_train_options = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |options: LabelOptions| {
            let request = shared.next_id();
            store.dispatch(Action::Train(TrainAction::OptionsChanged { request, options: options.clone() }));
            shared.send(&WorkerInput::ReadLabels { request, files: None, options });
        })
    };
    let on_train_start = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |_| {
            let t = &store.0.training;
            if !t.can_start() {
                return; // a double click starts nothing
            }
            let run = shared.next_id();
            let stem = t.source.strip_suffix(".zip").unwrap_or(&t.source);
            let name = format!("{} (trained here)", if stem.is_empty() { "my model" } else { stem });
            store.dispatch(Action::Train(TrainAction::Requested { run }));
            shared.send(&WorkerInput::Train { run, options: t.options.clone(), from: t.from, scan: t.scan, epochs: t.epochs, balance_gate: t.balance_gate, name });
        })
    };
    let on_train_cancel = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |_| shared.send(&WorkerInput::CancelTrain { run: store.0.training.run }))
    };
    let on_model_rename = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |(id, name): (ModelId, String)| {
            let Some(key) = store.0.entry(id).and_then(|e| e.stored.as_ref()).map(|s| s.key.clone()) else { return };
            let Some(card) = shared.models.borrow_mut().get_mut(&id).map(|(card, _)| {
                card.name = name.clone();
                card.clone()
            }) else { return };
            store.dispatch(Action::ModelRenamed { id, name });
            store.dispatch(Action::ModelKeeping { id, keeping: Keeping::Saving });
            let dispatch = store.dispatcher();
            spawn_local(async move {
                let saved = storage::save_card(&key, &card.to_json()).await;
                kept(&dispatch, id, saved, "the new name works in this tab but could not be kept in the browser");
            });
        })
    };
    let on_model_delete = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |id: ModelId| {
            let Some(key) = store.0.entry(id).and_then(|e| e.stored.as_ref()).map(|s| s.key.clone()) else { return };
            // It leaves the picker once storage has let it go, so a reload cannot bring back a
            // model the page showed as deleted.
            store.dispatch(Action::ModelKeeping { id, keeping: Keeping::Saving });
            let (dispatch, shared) = (store.dispatcher(), shared.clone());
            spawn_local(async move {
                match storage::remove(&key).await {
                    Ok(()) => {
                        shared.models.borrow_mut().remove(&id);
                        dispatch.dispatch(Action::ModelDeleted(id));
                    }
                    Err(e) => {
                        dispatch.dispatch(Action::Failed(format!("the model could not be removed from the browser's storage ({e})")));
                        dispatch.dispatch(Action::ModelKeeping { id, keeping: Keeping::Refused });
                    }
                }
            });
        })
    };
    Callbacks { files: on_train_files, options: on_train_options, start: on_train_start, cancel: on_train_cancel, rename: on_model_rename, delete: on_model_delete }
}
