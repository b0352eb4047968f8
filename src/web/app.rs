//! The page's root: owns the [`PageState`] store and the [`Link`] to the worker, turns the
//! worker's messages into actions, asks the worker for work when the state needs it, and hands
//! the views a [`Ctx`] to read state and ask for work. Nothing here computes: decoding,
//! models, CAMs, scores and fine-tuning all run in the worker.

use super::files::{self, Picked};
use super::link::Link;
use super::{storage, views};
use crate::card::ModelCard;
use crate::data::upload::FileBytes;
use crate::data::Channel;
use crate::protocol::{BackendChoice, ModelId, VolumeId, WorkerInput, WorkerOutput};
use crate::volume::{View, Window};
use crate::data::labelled::LabelOptions;
use crate::ui::state::training::{EpochPoint, TrainAction};
use crate::ui::state::trust::TrustAction;
use crate::ui::state::{Action, DemoSet, Item, ModelEntry, PageState, TunePhase};
use crate::{Error, Result};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

#[derive(Clone, Default, PartialEq)]
pub struct Store(pub PageState);

impl Reducible for Store {
    type Action = Action;
    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        Rc::new(Store(self.0.clone().reduce(action)))
    }
}

/// What every view gets: the state, and the work it can ask for.
#[derive(Clone, PartialEq)]
pub struct Ctx {
    pub store: UseReducerHandle<Store>,
    pub on_files: Callback<Vec<Picked>>,
    pub on_clear: Callback<()>,
    pub on_model_files: Callback<Vec<Picked>>,
    pub on_use_cpu: Callback<()>,
    pub on_finetune: Callback<()>,
    pub on_cancel: Callback<()>,
    pub on_keep: Callback<()>,
    pub on_download_model: Callback<()>,
    /// Cut a volume again: another view or window.
    pub on_reslice: Callback<(VolumeId, View, Window)>,
    /// Save a volume's predicted mask as NIfTI (gated by the answer when true).
    pub on_export_mask: Callback<(VolumeId, bool)>,
    /// Show a built-in demo set instead of the images shown.
    pub on_demo: Callback<DemoSet>,
    /// A labelled folder (or zip) to train on, and other label options for it.
    pub on_train_files: Callback<Vec<Picked>>,
    pub on_train_options: Callback<LabelOptions>,
    pub on_train_start: Callback<()>,
    pub on_train_cancel: Callback<()>,
    /// Rename or delete a model trained here (and kept in the browser).
    pub on_model_rename: Callback<(ModelId, String)>,
    pub on_model_delete: Callback<ModelId>,
    /// Run every trust check on the image on screen.
    pub on_trust: Callback<()>,
}

impl Ctx {
    pub fn state(&self) -> &PageState {
        &self.store.0
    }
    pub fn dispatch(&self, action: Action) {
        self.store.dispatch(action)
    }
    /// A callback that dispatches the action made of its value.
    pub fn dispatch_with<T: 'static>(&self, make: impl Fn(T) -> Action + 'static) -> Callback<T> {
        let store = self.store.clone();
        Callback::from(move |value| store.dispatch(make(value)))
    }
}

type Dispatch = UseReducerDispatcher<Store>;

pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

/// Restarts of a crashed worker before the page gives up (a loop of crashes helps nobody).
const MAX_RESTARTS: u32 = 3;

/// What the page keeps beside its state: the worker, every model's card and weights as bytes
/// (for downloads, and for a new worker if one dies), the images it shows (likewise), user
/// models waiting for the worker's check, and counters for ids.
struct Shared {
    link: RefCell<Option<Link>>,
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
}

impl Shared {
    fn send(&self, input: &WorkerInput) {
        if let Some(link) = self.link.borrow().as_ref() {
            link.send(input);
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
        self.send(&WorkerInput::AddModel { model: id, card_json: card.to_json(), weights: weights.clone() });
        self.models.borrow_mut().insert(id, (card.clone(), Rc::new(weights)));
    }

    fn weights(&self, id: ModelId) -> Option<Rc<Vec<u8>>> {
        self.models.borrow().get(&id).map(|m| m.1.clone())
    }
}

/// Starts a worker whose messages go to `shared` (held weakly: the worker must not keep the
/// page's side alive) and asks it for a device.
fn connect(shared: &Rc<Shared>, choice: BackendChoice) -> std::result::Result<Link, String> {
    let (out, crash) = (Rc::downgrade(shared), Rc::downgrade(shared));
    let link = Link::spawn(
        move |output| {
            if let Some(shared) = out.upgrade() {
                on_output(output, &shared.dispatch, &shared);
            }
        },
        move |why| {
            if let Some(shared) = crash.upgrade() {
                // Not from inside the dying link's own handler: the link is replaced.
                spawn_local(async move { recover(shared, why) });
            }
        },
    )?;
    link.send(&WorkerInput::Start { choice });
    Ok(link)
}

/// A worker that died (a wasm abort, e.g. a GPU driver failure inside wgpu) is replaced by a
/// new one on the CPU, given every model and image again; the page re-analyses what it shows.
fn recover(shared: Rc<Shared>, why: String) {
    if shared.restarts.get() >= MAX_RESTARTS {
        shared.link.borrow_mut().take();
        return shared.dispatch.dispatch(Action::Failed(format!("{why}. It stopped {MAX_RESTARTS} times; reload the page to start again.")));
    }
    shared.restarts.set(shared.restarts.get() + 1);
    let link = match connect(&shared, BackendChoice::Cpu) {
        Ok(link) => link,
        Err(e) => return shared.dispatch.dispatch(Action::Failed(format!("{why}; {e}"))),
    };
    *shared.link.borrow_mut() = Some(link);
    for (id, (card, weights)) in shared.models.borrow().iter() {
        shared.send(&WorkerInput::AddModel { model: *id, card_json: card.to_json(), weights: (**weights).clone() });
    }
    let items = shared.items.borrow().iter().map(Item::to_new).collect();
    shared.send(&WorkerInput::Restore { items });
    shared.dispatch.dispatch(Action::BackendLost { note: format!("{why}; it was restarted on the CPU") });
}

/// The worker's messages as actions (most map one to one).
fn on_output(output: WorkerOutput, dispatch: &Dispatch, shared: &Shared) {
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
        WorkerOutput::TrainFinished { run, card_json, weights, seconds } => match ModelCard::from_json(&card_json) {
            Ok(card) => {
                act(Action::Train(TrainAction::Finished { run }));
                act(Action::Status(format!("trained {} in {seconds:.1} s", card.name)));
                let key = format!("trained-{}-{run}", now_ms().round() as u64);
                let id = shared.new_model_id();
                shared.send_model(id, &card, weights.clone());
                act(Action::ModelAdded(ModelEntry { id, source: "trained in this browser".into(), shipped: None, card, ready: false, stored: Some(key.clone()) }));
                let dispatch = dispatch.clone();
                spawn_local(async move {
                    if let Err(e) = storage::save(&key, &card_json, &weights).await {
                        dispatch.dispatch(Action::Failed(format!("the trained model works in this tab but could not be kept in the browser ({e}); download it to keep it")));
                    }
                });
            }
            Err(e) => act(Action::Train(TrainAction::Failed { run, message: format!("the run wrote a card the page cannot read: {e}") })),
        },
        WorkerOutput::Trusted { request, result, .. } => act(Action::Trust(TrustAction::Answered { request, result })),
        WorkerOutput::TrainCancelled { run } => act(Action::Train(TrainAction::Cancelled { run })),
        WorkerOutput::TrainFailed { run, message } => act(Action::Train(TrainAction::Failed { run, message })),
        WorkerOutput::Failed { message } => act(Action::Failed(message)),
    }
}

/// Models trained here in earlier visits, from the browser's storage, to the picker and the
/// worker. A browser without storage simply has none.
async fn restore_trained(shared: Rc<Shared>, dispatch: Dispatch) {
    let Ok(saved) = storage::load_all().await else { return };
    let mut entries = Vec::new();
    for (key, card_json, weights) in saved {
        match ModelCard::from_json(&card_json) {
            Ok(card) => {
                let id = shared.new_model_id();
                shared.send_model(id, &card, weights);
                entries.push(ModelEntry { id, source: "trained in this browser".into(), shipped: None, card, ready: false, stored: Some(key) });
            }
            Err(e) => dispatch.dispatch(Action::Failed(format!("a model kept in this browser ({key}) cannot be read: {e}"))),
        }
    }
    if !entries.is_empty() {
        dispatch.dispatch(Action::ModelsRestored(entries));
    }
}

/// A labelled folder given for training: read here, summarised by the worker.
async fn load_training_files(list: Vec<Picked>, options: LabelOptions, shared: Rc<Shared>, dispatch: Dispatch) {
    let request = shared.next_id();
    let source = list.first().map(|p| p.path.split('/').next().unwrap_or(&p.path).to_string()).unwrap_or_default();
    let source = if list.len() > 1 && !list[0].path.contains('/') { format!("{} files", list.len()) } else { source };
    dispatch.dispatch(Action::Train(TrainAction::FolderGiven { request, source }));
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for file in files::read_files(list).await {
        match file {
            Ok(f) => files.push(f),
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        dispatch.dispatch(Action::Failed(problems.join("\n")));
    }
    shared.send(&WorkerInput::ReadLabels { request, files: Some(files), options });
}

/// A demo set's files (`images/x`, `masks/x`), from its `index.csv`.
fn demo_files(set: DemoSet, index: &[u8]) -> Result<Vec<String>> {
    let mut files = Vec::new();
    for record in csv::Reader::from_reader(index).records() {
        let record = record.map_err(|e| Error::Invalid(format!("demo/{}/index.csv: {e}", set.name())))?;
        let name = record.get(0).unwrap_or_default();
        files.extend(["images", "masks"].map(|folder| format!("{folder}/{name}")));
    }
    Ok(files)
}

/// Start-up, in as few round trips as possible (the first heatmap waits for all of it): the
/// lists of models and demo images, then every card, the default weights and the demo files
/// at once; the worker gets the weights and the demo files as they arrive.
async fn start(shared: Rc<Shared>, dispatch: Dispatch) -> Result<()> {
    dispatch.dispatch(Action::Status("loading the model and the demo images".into()));
    let set = DemoSet::default();
    let lists = files::fetch_all(&["models/index.json".into(), format!("demo/{}/index.csv", set.name())]).await?;
    let names: Vec<String> = serde_json::from_slice(&lists[0]).map_err(|e| Error::Invalid(format!("models/index.json is not a list of model names ({e})")))?;
    let default = names.first().ok_or_else(|| Error::Invalid("models/index.json lists no model".into()))?;
    let demo = demo_files(set, &lists[1])?;
    let urls: Vec<String> = names
        .iter()
        .map(|n| format!("models/{n}.json"))
        .chain([format!("models/{default}.bpk")])
        .chain(demo.iter().map(|p| format!("demo/{}/{p}", set.name())))
        .collect();
    let mut bodies = files::fetch_all(&urls).await?.into_iter();
    let mut cards = Vec::new();
    for name in &names {
        let card = ModelCard::from_json(&String::from_utf8_lossy(&bodies.next().unwrap_or_default())).map_err(|e| Error::Invalid(format!("models/{name}.json: {e}")))?;
        cards.push(card);
    }
    let default_id = ModelId(0);
    shared.fetched.borrow_mut().push(default_id);
    shared.send_model(default_id, &cards[0], bodies.next().unwrap_or_default());
    let channel = cards[0].input.channel;
    let files: Vec<FileBytes> = demo.into_iter().zip(bodies).map(|(path, bytes)| FileBytes::new(path, bytes)).collect();
    shared.send(&WorkerInput::Decode { request: shared.next_id(), files, channel, demo: true });
    let entries = names.iter().zip(cards).enumerate();
    let entries = entries.map(|(k, (name, card))| ModelEntry { id: ModelId(k as u32), source: format!("models/{name}"), shipped: Some(name.clone()), card, ready: false, stored: None });
    dispatch.dispatch(Action::ModelsListed(entries.collect()));
    spawn_local(restore_trained(shared, dispatch));
    Ok(())
}

/// Another demo set, asked for by the person: its files are fetched and decoded like the first.
async fn load_demo(set: DemoSet, channel: Channel, shared: Rc<Shared>, dispatch: Dispatch) {
    let request = shared.next_id();
    let fetched = async {
        let index = files::fetch_all(&[format!("demo/{}/index.csv", set.name())]).await?.pop().unwrap_or_default();
        let demo = demo_files(set, &index)?;
        let bodies = files::fetch_all(&demo.iter().map(|p| format!("demo/{}/{p}", set.name())).collect::<Vec<_>>()).await?;
        Ok::<_, Error>(demo.into_iter().zip(bodies).map(|(path, bytes)| FileBytes::new(path, bytes)).collect::<Vec<_>>())
    };
    match fetched.await {
        Ok(files) => shared.send(&WorkerInput::Decode { request, files, channel, demo: true }),
        Err(e) => dispatch.dispatch(Action::Failed(e.to_string())),
    }
}

/// Weights of a shipped model, fetched the first time it is chosen, then sent to the worker.
async fn fetch_shipped(shared: Rc<Shared>, entry: ModelEntry, dispatch: Dispatch) {
    let Some(name) = &entry.shipped else { return };
    match files::fetch_all(&[format!("models/{name}.bpk")]).await {
        Ok(mut bodies) => shared.send_model(entry.id, &entry.card, bodies.pop().unwrap_or_default()),
        Err(e) => dispatch.dispatch(Action::Failed(e.to_string())),
    }
}

async fn load_user_files(list: Vec<Picked>, channel: Channel, shared: Rc<Shared>, dispatch: Dispatch) {
    // Numbered when picked: a Clear while the files are read drops them too.
    let request = shared.next_id();
    let mut problems = Vec::new();
    let mut read = Vec::new();
    for file in files::read_files(list).await {
        match file {
            Ok(f) => read.push(f),
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        dispatch.dispatch(Action::Failed(problems.join("\n")));
    }
    if !read.is_empty() {
        dispatch.dispatch(Action::Status(format!("reading {} files", read.len())));
        shared.send(&WorkerInput::Decode { request, files: read, channel, demo: false });
    }
}

/// A user's own model: its weights (`.bpk`) and model card (`.json`), checked by the worker,
/// which builds it; it joins the picker once the worker accepts it.
async fn load_user_model(list: Vec<Picked>, shared: Rc<Shared>) -> Result<()> {
    let mut card = None;
    let mut weights = None;
    for file in files::read_files(list).await {
        let file = file.map_err(Error::Invalid)?;
        if file.path.to_ascii_lowercase().ends_with(".json") {
            let parsed = ModelCard::from_json(&String::from_utf8_lossy(&file.bytes)).map_err(|e| Error::Model(format!("{}: {e}", file.path)))?;
            card = Some((file.path.clone(), parsed));
        } else {
            weights = Some(file);
        }
    }
    let (Some((card_name, card)), Some(weights)) = (card, weights) else {
        return Err(Error::Model("choose two files together: the weights (.bpk) and their model card (.json)".into()));
    };
    let id = shared.new_model_id();
    let entry = ModelEntry { id, source: format!("your files {} + {card_name}", weights.path), shipped: None, card: card.clone(), ready: false, stored: None };
    shared.waiting.borrow_mut().insert(id, (entry, format!("{} with {card_name}", weights.path)));
    shared.send_model(id, &card, weights.bytes);
    Ok(())
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

#[function_component(App)]
pub fn app() -> Html {
    let store = use_reducer(Store::default);
    let shared: Option<Rc<Shared>> = {
        let dispatch = store.dispatcher();
        use_memo((), move |_| {
            // The worker starts first: its wasm compiles while the page fetches the model.
            let shared = Rc::new(Shared {
                link: RefCell::new(None),
                dispatch: dispatch.clone(),
                models: RefCell::default(),
                items: RefCell::default(),
                restarts: Cell::new(0),
                waiting: RefCell::default(),
                fetched: RefCell::default(),
                next: Cell::new(0),
                cleared_at: Cell::new(0),
            });
            let query = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
            match connect(&shared, BackendChoice::from_query(&query)) {
                Ok(link) => {
                    *shared.link.borrow_mut() = Some(link);
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
        let (shared, dispatch) = (shared.clone(), store.dispatcher());
        use_effect_with((), move |_| spawn_local(async move { report(&dispatch, start(shared, dispatch.clone()).await) }));
    }
    {
        // A shipped model chosen for the first time: fetch its weights for the worker.
        let s = &store.0;
        let (shared, dispatch, entry) = (shared.clone(), store.dispatcher(), s.current_model().cloned());
        use_effect_with(s.model, move |_| {
            if let Some(entry) = entry.filter(|e| !e.ready && e.shipped.is_some()) {
                if !shared.fetched.borrow().contains(&entry.id) {
                    shared.fetched.borrow_mut().push(entry.id);
                    spawn_local(fetch_shipped(shared, entry, dispatch));
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
            if let (true, Some(_), Some(model), Some(method)) = (ready, state.backend, state.model, state.method) {
                let items = state.pending();
                if !items.is_empty() {
                    shared.send(&WorkerInput::Analyse { generation: state.generation, model, method, block: state.block, items });
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
            spawn_local(load_user_files(list, channel, shared.clone(), store.dispatcher()))
        })
    };
    let on_clear = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |_| {
            shared.cleared_at.set(shared.next_id());
            shared.send(&WorkerInput::Forget { items: store.0.items.iter().map(|i| i.id).collect() });
            store.dispatch(Action::Cleared);
        })
    };
    let on_model_files = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |list: Vec<Picked>| {
            let (dispatch, shared) = (store.dispatcher(), shared.clone());
            spawn_local(async move { report(&dispatch, load_user_model(list, shared).await) })
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
    let on_demo = {
        let (store, shared, on_clear) = (store.clone(), shared.clone(), on_clear.clone());
        Callback::from(move |set: DemoSet| {
            // What is shown goes (as with Clear, loads under way are dropped), the set's own
            // model is chosen, then its images come.
            on_clear.emit(());
            store.dispatch(Action::DemoChosen(set));
            let channel = store.0.models.iter().find(|m| m.shipped.as_deref() == Some(set.name())).or(store.0.current_model()).map(|m| m.card.input.channel).unwrap_or(Channel::Luma);
            spawn_local(load_demo(set, channel, shared.clone(), store.dispatcher()));
        })
    };
    let on_train_files = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |list: Vec<Picked>| spawn_local(load_training_files(list, store.0.training.options.clone(), shared.clone(), store.dispatcher())))
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
            shared.send(&WorkerInput::Train { run, options: t.options.clone(), from: t.from, epochs: t.epochs, name });
        })
    };
    let on_train_cancel = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |_| shared.send(&WorkerInput::CancelTrain { run: store.0.training.run }))
    };
    let on_model_rename = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |(id, name): (ModelId, String)| {
            let Some(key) = store.0.entry(id).and_then(|e| e.stored.clone()) else { return };
            let Some(card) = shared.models.borrow_mut().get_mut(&id).map(|(card, _)| {
                card.name = name.clone();
                card.clone()
            }) else { return };
            store.dispatch(Action::ModelRenamed { id, name });
            let dispatch = store.dispatcher();
            spawn_local(async move {
                if let Err(e) = storage::save_card(&key, &card.to_json()).await {
                    dispatch.dispatch(Action::Failed(format!("the new name could not be kept in the browser ({e})")));
                }
            });
        })
    };
    let on_model_delete = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |id: ModelId| {
            let Some(key) = store.0.entry(id).and_then(|e| e.stored.clone()) else { return };
            shared.models.borrow_mut().remove(&id);
            store.dispatch(Action::ModelDeleted(id));
            let dispatch = store.dispatcher();
            spawn_local(async move {
                if let Err(e) = storage::remove(&key).await {
                    dispatch.dispatch(Action::Failed(format!("the model could not be removed from the browser's storage ({e})")));
                }
            });
        })
    };
    let on_trust = {
        let (store, shared) = (store.clone(), shared.clone());
        Callback::from(move |_| {
            let s = &store.0;
            let (Some(item), Some(model), Some(method)) = (s.selected, s.model, s.method) else { return };
            let request = shared.next_id();
            store.dispatch(Action::Trust(TrustAction::Requested { request, item, method, block: s.block }));
            shared.send(&WorkerInput::Trust { request, model, item, method, block: s.block });
        })
    };
    let ctx = Ctx {
        store,
        on_trust,
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
        on_demo,
        on_train_files,
        on_train_options,
        on_train_start,
        on_train_cancel,
        on_model_rename,
        on_model_delete,
    };
    html! {
        <ContextProvider<Ctx> context={ctx}>
            <views::Page />
        </ContextProvider<Ctx>>
    }
}
