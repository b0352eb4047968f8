//! The page's root: owns the [`PageState`] store and the [`Engine`], runs the long tasks
//! (start-up, analysing a batch in yielding chunks, fine-tuning step by step) and hands the
//! views a [`Ctx`] to read state and ask for work. The views only render and dispatch.

use super::engine::{self, analyse_images, now_ms, put_model, take_model, yield_to_browser, Engine};
use super::files;
use super::views;
use crate::card::{weights_bytes, ModelCard};
use crate::data::upload::{collect, decode_pair, pair, FileBytes, Loaded};
use crate::data::Channel;
use crate::finetune::{self, Labelled};
use crate::train::{TrainConfig, Trainer};
use crate::ui::state::{Action, Backend, Busy, Item, ModelEntry, PageState};
use crate::{Error, Result};
use burn::tensor::Device;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use web_sys::File;
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
    pub on_files: Callback<Vec<File>>,
    pub on_model_files: Callback<Vec<File>>,
    pub on_use_cpu: Callback<()>,
    pub on_finetune: Callback<()>,
    pub on_cancel: Callback<()>,
    pub on_keep: Callback<()>,
    pub on_download_model: Callback<()>,
}

impl Ctx {
    pub fn state(&self) -> &PageState {
        &self.store.0
    }
    pub fn dispatch(&self, action: Action) {
        self.store.dispatch(action)
    }
}

type Dispatch = UseReducerDispatcher<Store>;
type SharedEngine = Rc<RefCell<Engine>>;

fn items_of(loaded: Vec<Loaded>) -> Vec<Item> {
    loaded
        .into_iter()
        .map(|l| Item { name: l.name, image: Rc::new(l.image), truth: l.truth.map(Rc::new), result: None })
        .collect()
}

/// Start-up, in as few round trips as possible (the first heatmap waits for all of it): the
/// lists of models and demo images, then every card, the default weights and the demo files
/// at once. The demo set is phantoms the project generated, listed in `demo/index.csv`.
async fn start(engine: SharedEngine, dispatch: Dispatch) -> Result<()> {
    dispatch.dispatch(Action::Status("choosing a backend".into()));
    let (device, backend, note) = engine::pick_device().await;
    *engine.borrow_mut() = Engine::new(device, backend);
    dispatch.dispatch(Action::BackendChosen { backend, note });
    dispatch.dispatch(Action::Status("loading the model and the demo images".into()));
    let lists = engine::fetch_all(&["models/index.json".into(), "demo/index.csv".into()]).await?;
    let names = engine::model_names(&lists[0])?;
    let default = names.first().ok_or_else(|| Error::Invalid("models/index.json lists no model".into()))?;
    let mut demo = Vec::new();
    for record in csv::Reader::from_reader(lists[1].as_slice()).records() {
        let record = record.map_err(|e| Error::Invalid(format!("demo/index.csv: {e}")))?;
        let name = record.get(0).unwrap_or_default();
        demo.extend(["images", "masks"].map(|folder| format!("{folder}/{name}")));
    }
    let urls: Vec<String> = names
        .iter()
        .map(|n| format!("models/{n}.json"))
        .chain([format!("models/{default}.bpk")])
        .chain(demo.iter().map(|p| format!("demo/{p}")))
        .collect();
    let mut bodies = engine::fetch_all(&urls).await?.into_iter();
    let mut channel = None;
    for name in &names {
        let card = ModelCard::from_json(&String::from_utf8_lossy(&bodies.next().unwrap_or_default()))?;
        channel.get_or_insert(card.input.channel);
        dispatch.dispatch(Action::ModelAdded(ModelEntry { source: format!("models/{name}"), card }));
    }
    engine.borrow_mut().set_weights(0, bodies.next().unwrap_or_default());
    dispatch.dispatch(Action::ModelChosen(0));
    let files: Vec<FileBytes> = demo.into_iter().zip(bodies).map(|(path, bytes)| FileBytes::new(path, bytes)).collect();
    let upload = collect(files, channel.unwrap_or(Channel::Luma));
    if let Some(problem) = upload.problems.first() {
        return Err(Error::Invalid(format!("the demo set is damaged: {problem}")));
    }
    dispatch.dispatch(Action::ItemsLoaded { items: items_of(upload.loaded), demo: true });
    Ok(())
}

/// Analyses every image still waiting, the one on screen first, in chunks that yield to the
/// browser. `token` changes when newer work supersedes this run.
async fn analyse_pending(engine: SharedEngine, dispatch: Dispatch, state: PageState, token: Rc<Cell<u64>>, mine: u64) {
    let (Some(index), Some(method)) = (state.model, state.method) else { return };
    let entry = state.models[index].clone();
    let pending = state.pending();
    if pending.is_empty() {
        return;
    }
    let backend = engine.borrow().backend;
    let (model, device) = match take_model(&engine, index, &entry).await {
        Ok(m) => m,
        Err(e) => return dispatch.dispatch(Action::Failed(e.to_string())),
    };
    let started = now_ms();
    // On the CPU the work blocks the page while it runs: one image at a time keeps it responsive.
    let chunk = if backend == Backend::WebGpu { 8 } else { 1 };
    // The first image alone, so the first heatmap does not wait for a whole chunk.
    let mut chunks: Vec<&[usize]> = vec![&pending[..1]];
    chunks.extend(pending[1..].chunks(chunk));
    let total = pending.len();
    let mut done = 0;
    for part in chunks {
        if token.get() != mine {
            return put_model(&engine, index, model);
        }
        dispatch.dispatch(Action::Working(Some(Busy { what: format!("analysing on {}", backend.label()), done, total })));
        let images: Vec<_> = part.iter().map(|&i| state.items[i].image.clone()).collect();
        match analyse_images(&model, &entry.card, &images, state.block, method, &device).await {
            Ok(results) => {
                for (&i, result) in part.iter().zip(results) {
                    dispatch.dispatch(Action::Analysed { generation: state.generation, index: i, result, millis: now_ms() });
                }
            }
            Err(e) if backend == Backend::WebGpu => {
                engine.borrow_mut().fall_back_to_cpu();
                return dispatch.dispatch(Action::BackendLost { note: format!("WebGPU failed ({e})") });
            }
            Err(e) => {
                put_model(&engine, index, model);
                return dispatch.dispatch(Action::Failed(e.to_string()));
            }
        }
        done += part.len();
        yield_to_browser().await;
    }
    put_model(&engine, index, model);
    dispatch.dispatch(Action::Working(None));
    dispatch.dispatch(Action::Status(format!("analysed {total} images in {:.0} ms on {}", now_ms() - started, backend.label())));
}

async fn load_user_files(list: Vec<File>, state: PageState, dispatch: Dispatch) {
    let channel = state.card().map(|c| c.input.channel).unwrap_or(Channel::Luma);
    let mut problems = Vec::new();
    let mut read = Vec::new();
    for file in files::read_files(list).await {
        match file {
            Ok(f) => read.push(f),
            Err(e) => problems.push(e),
        }
    }
    if read.is_empty() && problems.is_empty() {
        return;
    }
    dispatch.dispatch(Action::Status(format!("reading {} files", read.len())));
    yield_to_browser().await;
    // Decoding blocks the page: a few images at a time, yielding between.
    let pairs = pair(read, &mut problems);
    let mut loaded = Vec::new();
    for (k, chunk) in pairs.chunks(4).enumerate() {
        loaded.extend(chunk.iter().filter_map(|p| decode_pair(p, channel, &mut problems)));
        dispatch.dispatch(Action::Status(format!("decoded {} of {} images", (4 * k + chunk.len()).min(pairs.len()), pairs.len())));
        yield_to_browser().await;
    }
    let n = loaded.len();
    if n > 0 {
        dispatch.dispatch(Action::ItemsLoaded { items: items_of(loaded), demo: false });
        dispatch.dispatch(Action::Status(format!("loaded {n} images")));
    }
    if !problems.is_empty() {
        let lead = if n == 0 { "Nothing usable was loaded." } else { "Some files were not used." };
        dispatch.dispatch(Action::Failed(format!("{lead}\n{}", problems.join("\n"))));
    } else {
        dispatch.dispatch(Action::Dismissed);
    }
}

/// A user's own model: its weights (`.bpk`) and model card (`.json`), checked by loading them.
async fn load_user_model(list: Vec<File>, state: PageState, engine: SharedEngine) -> Result<ModelEntry> {
    let mut card = None;
    let mut weights = None;
    for file in files::read_files(list).await {
        let file = file.map_err(Error::Invalid)?;
        if file.path.to_ascii_lowercase().ends_with(".json") {
            card = Some((file.path.clone(), ModelCard::from_json(&String::from_utf8_lossy(&file.bytes))?));
        } else {
            weights = Some(file);
        }
    }
    let (Some((card_name, card)), Some(weights)) = (card, weights) else {
        return Err(Error::Model("choose two files together: the weights (.bpk) and their model card (.json)".into()));
    };
    let device = engine.borrow().device.clone();
    card.load(weights.bytes.clone(), &device).map_err(|e| Error::Model(format!("{} with {card_name}: {e}", weights.path)))?;
    // Its index once added to the picker.
    engine.borrow_mut().set_weights(state.models.len(), weights.bytes);
    Ok(ModelEntry { source: format!("your files {} + {card_name}", weights.path), card })
}

/// The filter experiment: filter, measure before, fine-tune step by step, measure after.
async fn fine_tune(engine: SharedEngine, dispatch: Dispatch, state: PageState, cancel: Rc<Cell<bool>>) -> Result<()> {
    let index = state.model.ok_or_else(|| Error::Invalid("no model is loaded".into()))?;
    let card = state.models[index].card.clone();
    let labelled: Vec<Labelled> = state.tune_inputs().collect();
    let positives = labelled.iter().filter(|l| l.label).count();
    if labelled.len() < 6 || positives == 0 || positives == labelled.len() {
        return Err(Error::Invalid(format!(
            "fine-tuning needs at least 6 analysed images with masks, with and without tumour (have {} with masks, {positives} with tumour); load images with their masks first",
            labelled.len()
        )));
    }
    let tune = &state.finetune;
    let sets = finetune::filtered_sets(&labelled, tune.filter, &card.input, finetune::SEED);
    let (model, device) = take_model(&engine, index, &state.models[index]).await?;
    let before = finetune::accuracy(&model, &card.input, &sets.held_out, &device).await;
    // Small steps: a step blocks the page on the CPU backend, and a few images need several
    // steps per epoch to move the model. Seeded, so a run can be repeated (dropout included).
    let config = TrainConfig { epochs: tune.epochs, batch_size: 4, learning_rate: 1e-3, ..TrainConfig::default() };
    device.seed(config.seed);
    let mut trainer = Trainer::new(model.clone(), card.input.clone(), config, sets.train.len(), &device);
    put_model(&engine, index, model);
    let before = before?;
    dispatch.dispatch(Action::TuneStarted { trained_on: sets.train.len(), held_out: sets.held_out.len(), accuracy_before: before, total_steps: trainer.total_steps() });
    let started = now_ms();
    while let Some(progress) = trainer.step(&sets.train).await? {
        dispatch.dispatch(Action::TuneStep(progress));
        yield_to_browser().await;
        if cancel.get() {
            dispatch.dispatch(Action::TuneCancelled);
            dispatch.dispatch(Action::Status("fine-tuning cancelled; the model is unchanged".into()));
            return Ok(());
        }
    }
    let tuned = trainer.into_model();
    let after = finetune::accuracy(&tuned, &card.input, &sets.held_out, &device).await?;
    let seconds = (now_ms() - started) / 1000.0;
    engine.borrow_mut().tuned = Some(tuned);
    dispatch.dispatch(Action::TuneFinished { accuracy_after: after });
    dispatch.dispatch(Action::Status(format!(
        "fine-tuned {} epochs on {} {} images in {seconds:.1} s ({:.1} s per epoch)",
        tune.epochs,
        sets.train.len(),
        tune.filter.name(),
        seconds / tune.epochs as f64
    )));
    Ok(())
}

/// Makes the fine-tuned model the current one (and a picker entry that can be downloaded).
async fn keep_tuned(engine: SharedEngine, dispatch: Dispatch, state: PageState) -> Result<()> {
    let Some(tuned) = engine.borrow_mut().tuned.take() else {
        return Err(Error::Invalid("there is no fine-tuned model to keep; run fine-tuning first".into()));
    };
    let index = state.model.ok_or_else(|| Error::Invalid("no model is loaded".into()))?;
    let mut card = state.models[index].card.clone();
    let tune = &state.finetune;
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
    let bytes = weights_bytes(&tuned, &card.architecture).await?;
    let new_index = state.models.len();
    engine.borrow_mut().set_weights(new_index, bytes);
    put_model(&engine, new_index, tuned);
    dispatch.dispatch(Action::TuneKept(ModelEntry { source: "fine-tuned in this page".into(), card }));
    Ok(())
}

fn report(dispatch: &Dispatch, result: Result<()>) {
    if let Err(e) = result {
        dispatch.dispatch(Action::Failed(e.to_string()));
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let store = use_reducer(Store::default);
    let engine: SharedEngine = use_memo((), |_| Rc::new(RefCell::new(Engine::new(Device::flex(), Backend::Cpu)))).as_ref().clone();
    let token = use_memo((), |_| Rc::new(Cell::new(0u64))).as_ref().clone();
    let cancel = use_memo((), |_| Rc::new(Cell::new(false))).as_ref().clone();

    {
        let (engine, dispatch) = (engine.clone(), store.dispatcher());
        use_effect_with((), move |_| spawn_local(async move { report(&dispatch, start(engine, dispatch.clone()).await) }));
    }
    {
        // New images, another model, method, layer or backend: analyse what is missing.
        let s = &store.0;
        let deps = (s.generation, s.items.len(), s.demo, s.backend.is_some());
        let (engine, dispatch, state, token) = (engine.clone(), store.dispatcher(), s.clone(), token.clone());
        use_effect_with(deps, move |_| {
            if state.backend.is_some() && !state.pending().is_empty() {
                let mine = token.get() + 1;
                token.set(mine);
                spawn_local(analyse_pending(engine, dispatch, state, token, mine));
            }
        });
    }

    let on_files = {
        let store = store.clone();
        Callback::from(move |list: Vec<File>| spawn_local(load_user_files(list, store.0.clone(), store.dispatcher())))
    };
    let on_model_files = {
        let (store, engine) = (store.clone(), engine.clone());
        Callback::from(move |list: Vec<File>| {
            let (state, dispatch, engine) = (store.0.clone(), store.dispatcher(), engine.clone());
            spawn_local(async move {
                match load_user_model(list, state, engine).await {
                    Ok(entry) => {
                        dispatch.dispatch(Action::ModelAdded(entry));
                        dispatch.dispatch(Action::Dismissed);
                    }
                    Err(e) => dispatch.dispatch(Action::Failed(e.to_string())),
                }
            })
        })
    };
    let on_use_cpu = {
        let (store, engine) = (store.clone(), engine.clone());
        Callback::from(move |_| {
            engine.borrow_mut().fall_back_to_cpu();
            store.dispatch(Action::BackendChosen { backend: Backend::Cpu, note: Some("switched to the CPU by hand".into()) });
        })
    };
    let on_finetune = {
        let (store, engine, cancel) = (store.clone(), engine.clone(), cancel.clone());
        Callback::from(move |_| {
            cancel.set(false);
            let (engine, dispatch, state, cancel) = (engine.clone(), store.dispatcher(), store.0.clone(), cancel.clone());
            spawn_local(async move { report(&dispatch, fine_tune(engine, dispatch.clone(), state, cancel).await) });
        })
    };
    let on_cancel = {
        let cancel = cancel.clone();
        Callback::from(move |_| cancel.set(true))
    };
    let on_keep = {
        let (store, engine) = (store.clone(), engine.clone());
        Callback::from(move |_| {
            let (engine, dispatch, state) = (engine.clone(), store.dispatcher(), store.0.clone());
            spawn_local(async move { report(&dispatch, keep_tuned(engine, dispatch.clone(), state).await) });
        })
    };
    let on_download_model = {
        let (store, engine) = (store.clone(), engine.clone());
        Callback::from(move |_| {
            let s = &store.0;
            let (Some(index), Some(card)) = (s.model, s.card()) else { return };
            let stem = s.model_stem();
            let result = match engine.borrow().weights(index) {
                Some(bytes) => files::download(&format!("{stem}.bpk"), "application/octet-stream", &bytes)
                    .and_then(|_| files::download(&format!("{stem}.json"), "application/json", card.to_json().as_bytes())),
                None => Err("the model's weights are still loading; try again in a moment".into()),
            };
            if let Err(e) = result {
                store.dispatch(Action::Failed(e));
            }
        })
    };
    let ctx = Ctx { store, on_files, on_model_files, on_use_cpu, on_finetune, on_cancel, on_keep, on_download_model };
    html! {
        <ContextProvider<Ctx> context={ctx}>
            <views::Page />
        </ContextProvider<Ctx>>
    }
}
