//! The page's root: owns the [`PageState`] store and the workers ([`workers`]), turns their
//! messages into actions, asks them for work when the state needs it, and hands the views a
//! [`Ctx`] to read state and ask for work. Nothing here computes: decoding, models, CAMs,
//! scores and fine-tuning all run in the workers.

use super::files::{self, Picked};
use super::link::Link;
use super::views;
use crate::card::ModelCard;
use crate::data::Channel;
use crate::protocol::{BackendChoice, ImageQuestion, ItemId, ModelId, VolumeId, WorkerInput};
use crate::ui::pool::{Pool, Request};
use crate::volume::{View, Window};
use crate::ui::state::asked::Asking;
use crate::ui::state::trust_batch::TrustBatchAction;
use crate::ui::state::{Action, DemoSet, Item, ModelEntry, PageState, TunePhase};
use crate::Result;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

pub use super::ctx::{Ctx, Store};

type Dispatch = UseReducerDispatcher<Store>;

/// A callback that asks the worker a question about the image on screen, with the current
/// model, method and block (only the latest question of a kind is answered).
fn ask_about_image<T: 'static>(store: &UseReducerHandle<Store>, shared: &Rc<Shared>, action: fn(Asking<T>) -> Action, input: fn(ImageQuestion) -> WorkerInput) -> Callback<()> {
    let (store, shared) = (store.clone(), shared.clone());
    Callback::from(move |_| {
        let s = &store.0;
        let (Some(item), Some(model), Some(method)) = (s.selected, s.model, s.method) else { return };
        let request = shared.next_id();
        store.dispatch(action(Asking::Requested { request, item, method, block: s.block }));
        shared.send(&input(ImageQuestion { request, model, item, method, block: s.block }));
    })
}

pub use super::timeline::{mark, now_ms};

/// What the page keeps beside its state: the workers (the main one first) and the pool that
/// shares analyses among them, every model's card and weights as bytes (for downloads, and for
/// a new worker), the images it shows (likewise), user models waiting for the worker's check,
/// and counters for ids.
struct Shared {
    links: RefCell<Vec<Option<Link>>>,
    pool: RefCell<Pool>,
    /// Why the pool has its size, in the page's words.
    sized_by: String,
    /// Workers that share a training run on the CPU (the pool's and, beyond it, workers
    /// started for training alone once a labelled folder is given).
    trainers: usize,
    /// The script of the CPU workers' build ([`crate::web::link::cpu_build`]).
    cpu_build: &'static str,
    /// The main worker's backend once it has one: helpers work only beside a CPU one.
    main_backend: Cell<Option<crate::protocol::Backend>>,
    dispatch: Dispatch,
    models: RefCell<BTreeMap<ModelId, (ModelCard, Rc<Vec<u8>>)>>,
    /// The page's images as of its last render.
    items: RefCell<Vec<Item>>,
    restarts: Cell<u32>,
    /// User models the worker is checking, with the names of the files they came from.
    waiting: RefCell<BTreeMap<ModelId, (ModelEntry, String)>>,
    /// Shipped models whose weights have been asked for.
    fetched: RefCell<Vec<ModelId>>,
    next: Cell<u64>,
    /// Loads asked for before this id were cleared while the worker decoded them.
    cleared_at: Cell<u64>,
    /// Startup steps already marked on the performance timeline.
    marked: RefCell<std::collections::BTreeSet<&'static str>>,
}

impl Shared {
    /// To the main worker: every job but the pool's analyses.
    fn send(&self, input: &WorkerInput) {
        if let Some(link) = self.links.borrow().first().and_then(Option::as_ref) {
            link.send(input);
        }
    }

    /// To every worker, encoded once (a model's weights are a megabyte or more).
    fn send_all(&self, input: &WorkerInput) {
        let encoded = crate::protocol::encode(input);
        for link in self.links.borrow().iter().flatten() {
            link.send_encoded(&encoded);
        }
    }

    fn next_id(&self) -> u64 {
        let id = self.next.get() + 1;
        self.next.set(id);
        id
    }

    fn new_model_id(&self) -> ModelId {
        // Shipped models take the ids 0.. in `models/index.json` order.
        ModelId(1000 + self.next_id() as u32)
    }

    fn send_model(&self, id: ModelId, card: &ModelCard, weights: Vec<u8>) {
        self.send_all(&WorkerInput::AddModel { model: id, card_json: card.to_json(), weights: weights.clone() });
        self.models.borrow_mut().insert(id, (card.clone(), Rc::new(weights)));
    }

    fn weights(&self, id: ModelId) -> Option<Rc<Vec<u8>>> {
        self.models.borrow().get(&id).map(|m| m.1.clone())
    }
}

/// The kept fine-tuned model's card: the tuned model's own card (never the current one's),
/// renamed, with the experiment and its figures.
fn tuned_card(state: &PageState) -> Option<(ModelCard, Rc<Vec<u8>>)> {
    let tune = &state.finetune;
    let weights = tune.weights.clone()?;
    let mut card = state.entry(tune.model?)?.card.clone();
    card.name = format!("{} (fine-tuned, {})", card.name, tune.filter.name());
    card.description = format!(
        "{} Fine-tuned in the browser for {} epochs on {} {}-filtered images; held-out accuracy {:.3} before, {:.3} after.",
        card.description,
        tune.epochs,
        tune.trained_on,
        tune.filter.name(),
        tune.accuracy_before.unwrap_or(f64::NAN),
        tune.accuracy_after.unwrap_or(f64::NAN)
    );
    card.metrics.insert("page_accuracy_before".into(), tune.accuracy_before.unwrap_or(f64::NAN));
    card.metrics.insert("page_accuracy_after".into(), tune.accuracy_after.unwrap_or(f64::NAN));
    Some((card, weights))
}

fn report(dispatch: &Dispatch, result: Result<()>) {
    if let Err(e) = result {
        dispatch.dispatch(Action::Failed(e.to_string()));
    }
}

mod loading;
mod messages;
mod training;
mod workers;

#[function_component(App)]
pub fn app() -> Html {
    let store = use_reducer(Store::default);
    let shared: Option<Rc<Shared>> = {
        let dispatch = store.dispatcher();
        use_memo((), move |_| {
            mark("page-started");
            // The main worker starts first: its wasm compiles while the page probes WebGPU and
            // fetches the model. Helpers start once it is on the CPU.
            let query = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
            let size = workers::size(&query);
            let shared = Rc::new(Shared {
                links: RefCell::new(Vec::new()),
                pool: RefCell::new(Pool::new(size.workers)),
                sized_by: size.why,
                trainers: size.trainers,
                cpu_build: crate::web::link::cpu_build(&query),
                main_backend: Cell::new(None),
                dispatch: dispatch.clone(),
                models: RefCell::default(),
                items: RefCell::default(),
                restarts: Cell::new(0),
                waiting: RefCell::default(),
                fetched: RefCell::default(),
                next: Cell::new(0),
                cleared_at: Cell::new(0),
                marked: RefCell::default(),
            });
            match workers::connect(&shared, 0, BackendChoice::from_query(&query)) {
                Ok(link) => {
                    shared.links.borrow_mut().push(Some(link));
                    // The model and the demo are fetched now, not after the first render:
                    // the worker is ready for them sooner than an effect would ask.
                    let (loader, dispatch) = (shared.clone(), dispatch.clone());
                    spawn_local(async move { report(&dispatch, loading::start(loader, dispatch.clone()).await) });
                    Some(shared)
                }
                Err(why) => {
                    dispatch.dispatch(Action::Failed(why));
                    None
                }
            }
        })
        .as_ref()
        .clone()
    };
    let Some(shared) = shared else {
        return html! { <main><div class="error" data-testid="error" role="alert">{ store.0.error.clone().unwrap_or_default() }</div></main> };
    };
    // What a replacement worker would be given.
    *shared.items.borrow_mut() = store.0.items.clone();

    {
        // A shipped model chosen for the first time: fetch its weights for the worker.
        let s = &store.0;
        let (shared, dispatch, entry) = (shared.clone(), store.dispatcher(), s.current_model().cloned());
        use_effect_with(s.model, move |_| {
            if let Some(entry) = entry.filter(|e| !e.ready && e.shipped.is_some()) {
                if !shared.fetched.borrow().contains(&entry.id) {
                    shared.fetched.borrow_mut().push(entry.id);
                    spawn_local(loading::fetch_shipped(shared, entry, dispatch));
                }
            }
        });
    }
    {
        // New images, another model, method, layer or backend: ask for what is missing. The
        // worker drops any older request.
        let s = &store.0;
        let ready = s.current_model().is_some_and(|m| m.ready);
        let deps = (s.generation, ready, s.backend.is_some());
        let (shared, state) = (shared.clone(), s.clone());
        use_effect_with(deps, move |_| {
            if let (true, Some(backend), Some(model), Some(method)) = (ready, state.backend, state.model, state.method) {
                let items = state.pending();
                if !items.is_empty() {
                    workers::analyse(&shared, Request { generation: state.generation, model, method, block: state.block, backend, items });
                }
            }
        });
    }
    {
        // A run the page has left (cancelled, or its model or device changed): stop it there too.
        let t = &store.0.finetune;
        let (shared, run, cancelled) = (shared.clone(), t.run, t.phase == TunePhase::Cancelled);
        use_effect_with((run, cancelled), move |_| {
            if cancelled {
                shared.send(&WorkerInput::CancelTune { run });
            }
        });
    }

    let on_files = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |list: Vec<Picked>| {
            let channel = store.0.card().map(|c| c.input.channel).unwrap_or(Channel::Luma);
            spawn_local(loading::load_user_files(list, channel, shared.clone(), store.dispatcher()))
        })
    };
    let on_clear = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |_| {
            shared.cleared_at.set(shared.next_id());
            let items: Vec<ItemId> = store.0.items.iter().map(|i| i.id).collect();
            shared.pool.borrow_mut().forget(&items);
            shared.send_all(&WorkerInput::Forget { items });
            store.dispatch(Action::Cleared);
        })
    };
    let on_model_files = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |list: Vec<Picked>| {
            let (dispatch, shared) = (store.dispatcher(), shared.clone());
            spawn_local(async move { report(&dispatch, loading::load_user_model(list, shared).await) })
        })
    };
    let on_use_cpu = {
        let shared = shared.clone();
        Callback::from(move |_| shared.send(&WorkerInput::UseCpu { note: "switched to the CPU by hand".into() }))
    };
    let on_finetune = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |_| {
            let s = &store.0;
            let Some(model) = s.model else { return };
            if s.finetune.phase == TunePhase::Running {
                return; // a double click starts nothing
            }
            let run = shared.next_id();
            store.dispatch(Action::TuneRequested { run, model });
            let (filter, threshold, epochs) = (s.finetune.filter, s.view.threshold, s.finetune.epochs);
            shared.send(&WorkerInput::FineTune { run, model, items: s.tune_items(), filter, threshold, epochs });
        })
    };
    let on_cancel = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |_| shared.send(&WorkerInput::CancelTune { run: store.0.finetune.run }))
    };
    let on_keep = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |_| {
            let Some((card, weights)) = tuned_card(&store.0) else {
                return store.dispatch(Action::Failed("there is no fine-tuned model to keep; run fine-tuning first".into()));
            };
            let id = shared.new_model_id();
            shared.send_model(id, &card, (*weights).clone());
            store.dispatch(Action::TuneKept(ModelEntry { id, source: "fine-tuned in this page".into(), shipped: None, card, ready: false, stored: None }));
        })
    };
    let on_download_model = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |_| {
            let s = &store.0;
            let (Some(id), Some(card)) = (s.model, s.card()) else { return };
            let stem = s.model_stem();
            let result = match shared.weights(id) {
                Some(bytes) => files::download(&format!("{stem}.bpk"), "application/octet-stream", &bytes)
                    .and_then(|_| files::download(&format!("{stem}.json"), "application/json", card.to_json().as_bytes())),
                None => Err("the model's weights are still loading; try again in a moment".into()),
            };
            if let Err(e) = result {
                store.dispatch(Action::Failed(e));
            }
        })
    };
    let on_reslice = {
        let shared = shared.clone();
        Callback::from(move |(volume, view, window): (VolumeId, View, Window)| {
            shared.send(&WorkerInput::Reslice { request: shared.next_id(), volume, view, window });
        })
    };
    let on_export_mask = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |(volume, gated): (VolumeId, bool)| {
            shared.send(&WorkerInput::ExportMask { volume, threshold: store.0.view.threshold, gated });
        })
    };
    let on_save_picture = {
        let shared = shared.clone();
        Callback::from(move |picture: crate::protocol::Picture| shared.send(&WorkerInput::EncodePng(picture)))
    };
    let on_demo = {
        let (store, shared, on_clear) = (store.clone(), shared.clone(), on_clear.clone());
        Callback::from(move |set: DemoSet| {
            // What is shown goes (as with Clear, loads under way are dropped), the set's own
            // model is chosen, then its images come.
            on_clear.emit(());
            store.dispatch(Action::DemoChosen(set));
            let channel = store.0.models.iter().find(|m| m.shipped.as_deref() == Some(set.name())).or(store.0.current_model()).map(|m| m.card.input.channel).unwrap_or(Channel::Luma);
            spawn_local(loading::load_demo(set, channel, shared.clone(), store.dispatcher()));
        })
    };
    let train = training::callbacks(&store, &shared);
    let on_trust = ask_about_image(&store, &shared, Action::Trust, WorkerInput::Trust);
    let on_explain = ask_about_image(&store, &shared, Action::Explain, WorkerInput::Explain);
    let on_trust_all = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |_| {
            let s = &store.0;
            let (Some(model), Some(method)) = (s.model, s.method) else { return };
            // Lesion images: those with a lesion mask, or else those the model calls lesion.
            let masked: Vec<ItemId> = s.items.iter().filter(|i| i.truth.as_ref().is_some_and(|t| !t.is_empty())).map(|i| i.id).collect();
            let items = if masked.is_empty() { s.items.iter().filter(|i| i.result.as_ref().is_some_and(|r| r.probability >= crate::evaluate::GATE)).map(|i| i.id).collect() } else { masked };
            let run = shared.next_id();
            store.dispatch(Action::TrustBatch(TrustBatchAction::Started { run, model, method, block: s.block, total: items.len() }));
            shared.send(&WorkerInput::TrustAll { run, model, method, block: s.block, items });
        })
    };
    let on_trust_all_cancel = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |_| shared.send(&WorkerInput::CancelTrustAll { run: store.0.trust_batch.run }))
    };
    let ctx = Ctx {
        store,
        on_trust,
        on_explain,
        on_trust_all,
        on_trust_all_cancel,
        on_files,
        on_clear,
        on_model_files,
        on_use_cpu,
        on_finetune,
        on_cancel,
        on_keep,
        on_download_model,
        on_reslice,
        on_export_mask,
        on_save_picture,
        on_demo,
        on_train_files: train.files,
        on_train_options: train.options,
        on_train_start: train.start,
        on_train_cancel: train.cancel,
        on_model_rename: train.rename,
        on_model_delete: train.delete,
    };
    html! {
        <ContextProvider<Ctx> context={ctx}>
            <views::Page />
        </ContextProvider<Ctx>>
    }
}
