//! Getting things into the page: the shipped models and the first demo at start-up, other
//! demo sets, a shipped model's weights when first chosen, and the person's own images and
//! models. Bytes go to the worker; nothing is decoded here.

use super::{files, training, Dispatch, Shared};
use crate::card::ModelCard;
use crate::data::upload::FileBytes;
use crate::data::Channel;
use crate::protocol::{ModelId, WorkerInput};
use crate::ui::state::{Action, DemoSet, ModelEntry};
use crate::web::files::Picked;
use crate::{Error, Result};
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;

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
pub(super) async fn start(shared: Rc<Shared>, dispatch: Dispatch) -> Result<()> {
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
    spawn_local(training::restore(shared, dispatch));
    Ok(())
}

/// Another demo set, asked for by the person: its files are fetched and decoded like the first.
pub(super) async fn load_demo(set: DemoSet, channel: Channel, shared: Rc<Shared>, dispatch: Dispatch) {
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
pub(super) async fn fetch_shipped(shared: Rc<Shared>, entry: ModelEntry, dispatch: Dispatch) {
    let Some(name) = &entry.shipped else { return };
    match files::fetch_all(&[format!("models/{name}.bpk")]).await {
        Ok(mut bodies) => shared.send_model(entry.id, &entry.card, bodies.pop().unwrap_or_default()),
        Err(e) => dispatch.dispatch(Action::Failed(e.to_string())),
    }
}

pub(super) async fn load_user_files(list: Vec<Picked>, channel: Channel, shared: Rc<Shared>, dispatch: Dispatch) {
    // Numbered when picked: a Clear while the files are read drops them too.
    let request = shared.next_id();
    let (read, problems) = files::read_all(list).await;
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
pub(super) async fn load_user_model(list: Vec<Picked>, shared: Rc<Shared>) -> Result<()> {
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

