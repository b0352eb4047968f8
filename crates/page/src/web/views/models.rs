//! The backend line and the model picker with the chosen model's card (data, accuracy,
//! licence), and loading one's own weights + card.

use super::fmt;
use crate::data::{Normalisation, ScanSettings};
use crate::protocol::ModelId;
use crate::ui::state::{Backend, DemoSet, Keeping, ModelEntry};
use crate::web::files::Picked;
use yew::prelude::*;

/// What the model panel shows (the backend, the models and the one chosen) and what it can
/// ask for.
#[derive(Properties, PartialEq)]
pub struct ModelProps {
    pub backend: Option<Backend>,
    pub backend_note: Option<String>,
    /// How many workers analyse, and why.
    pub workers: Option<String>,
    pub models: Vec<ModelEntry>,
    pub model: Option<ModelId>,
    /// Shipped models that open on their own demo (while a demo is shown): picking one shows
    /// that demo, which brings its model along.
    pub demos: Vec<(ModelId, DemoSet)>,
    pub on_choose: Callback<ModelId>,
    pub on_demo: Callback<DemoSet>,
    pub on_model_files: Callback<Vec<Picked>>,
    pub on_use_cpu: Callback<()>,
    pub on_download: Callback<()>,
    pub on_rename: Callback<(ModelId, String)>,
    pub on_delete: Callback<ModelId>,
}

fn normalisation(n: &Normalisation) -> String {
    match n {
        Normalisation::Unit => "nothing (values as decoded)".into(),
        Normalisation::HeadMean { .. } => "the field of view's mean".into(),
        Normalisation::MeanStd => "the image's mean and standard deviation".into(),
    }
}

/// Where a model trained here stands in the browser's storage, in words.
fn keeping_note(k: Keeping) -> &'static str {
    match k {
        Keeping::Saving => "Trained in this browser; saving to its storage…",
        Keeping::Kept => "Trained in this browser and kept in its storage.",
        Keeping::Refused => "Trained in this browser; its storage refused the last change (download the model to keep it).",
    }
}

/// The card's scan settings in words: what the brightness rule, the shape step and the walk
/// assume.
fn scan(s: &ScanSettings) -> String {
    let rim = if s.rim_band_px == 0 { "no rim band".to_string() } else { format!("a {} px band inside its outline ignored", s.rim_band_px) };
    let w = s.walk;
    format!(
        "{} lesions (brightness rule full at {}x the field of view's mean); field of view above {:.0}/255, {rim}; the walk spreads over block {}'s features (radius {}, beta {}, {} steps)",
        s.lesion_polarity.name(),
        s.lesion_contrast,
        s.field_of_view_level * 255.0,
        w.feature_block,
        w.radius,
        w.beta,
        w.steps
    )
}

#[function_component(ModelPanel)]
pub fn model_panel(p: &ModelProps) -> Html {
    let on_pick = {
        let (demos, on_demo, on_choose) = (p.demos.clone(), p.on_demo.clone(), p.on_choose.clone());
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            if let Ok(i) = value.parse() {
                match demos.iter().find(|(id, _)| *id == ModelId(i)) {
                    Some((_, set)) => on_demo.emit(*set),
                    None => on_choose.emit(ModelId(i)),
                }
            }
        })
    };
    let on_files = crate::web::files::on_pick(p.on_model_files.clone());
    let on_cpu = p.on_use_cpu.reform(|_: MouseEvent| ());
    let on_download = p.on_download.reform(|_: MouseEvent| ());
    let current = p.model.and_then(|id| p.models.iter().find(|m| m.id == id));
    let keeping = current.and_then(|m| m.stored.as_ref()).map(|s| s.keeping);
    let stored = current.filter(|m| m.stored.is_some()).map(|m| m.id);
    let on_rename = {
        let on_rename = p.on_rename.clone();
        Callback::from(move |e: Event| {
            let name = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
            if let (Some(id), false) = (stored, name.trim().is_empty()) {
                on_rename.emit((id, name.trim().to_string()));
            }
        })
    };
    let on_delete = {
        let on_delete = p.on_delete.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(id) = stored {
                on_delete.emit(id);
            }
        })
    };
    let backend = p.backend.map(|b| b.label()).unwrap_or("starting…");
    let card = current.map(|m| &m.card);
    let metric = |k: &str| card.and_then(|c| c.metrics.get(k).copied());
    html! {
        <section class="panel models">
            <div class="row">
                <span>{ "Backend: " }<strong data-testid="backend">{ backend }</strong>
                    { for p.backend_note.as_ref().map(|n| html! { <span class="note" data-testid="backend-note">{ format!(" ({n})") }</span> }) }</span>
                { for p.workers.as_ref().map(|w| html! { <span class="note" data-testid="workers">{ format!(" · {w}") }</span> }) }
                if p.backend == Some(Backend::WebGpu) {
                    <button onclick={on_cpu} data-testid="use-cpu" title="Run on the CPU instead (your images stay loaded)">{ "Use CPU" }</button>
                }
            </div>
            <div class="row">
                <label>{ "Model: " }
                    <select data-testid="model-picker" onchange={on_pick}>
                        { for p.models.iter().map(|m| html! {
                            <option value={m.id.0.to_string()} selected={p.model == Some(m.id)}>{ &m.card.name }</option>
                        }) }
                    </select>
                </label>
                <span data-testid="model" hidden=true>{ card.map(|c| c.name.clone()).unwrap_or_default() }</span>
                <label class="button">{ "Load your own weights + card…" }
                    <input type="file" multiple=true accept=".bpk,.json" data-testid="model-files" onchange={on_files} />
                </label>
                <button onclick={on_download} data-testid="download-model" disabled={card.is_none()}>{ "Download weights + card" }</button>
            </div>
            if let (Some(keeping), Some(c)) = (keeping, card) {
                <div class="row" data-testid="stored-model">
                    <span class="note" data-testid="stored-state">{ keeping_note(keeping) }</span>
                    <label>{ "Name " }<input type="text" value={c.name.clone()} data-testid="model-rename" onchange={on_rename} disabled={keeping == Keeping::Saving} /></label>
                    <button onclick={on_delete} data-testid="model-delete" disabled={keeping == Keeping::Saving}>{ "Delete" }</button>
                </div>
            }
            if let Some(c) = card {
                <details class="card">
                    <summary>{ format!("Model card: test accuracy {}, AUC {}, trained on {} images", fmt(metric("test_accuracy"), 3), fmt(metric("test_auc"), 3), c.training.train_images) }</summary>
                    <p data-testid="card-description">{ &c.description }</p>
                    <dl>
                        <dt>{ "Data" }</dt><dd>{ &c.training.data }</dd>
                        <dt>{ "Input" }</dt><dd>{ format!("{} px, {:?} channel, normalised by {}", c.input.size, c.input.channel, normalisation(&c.input.normalisation)) }</dd>
                        <dt>{ "Scan" }</dt><dd data-testid="card-scan">{ scan(&c.input.scan) }</dd>
                        <dt>{ "Architecture" }</dt><dd>{ c.architecture.describe() }</dd>
                        <dt>{ "Default CAM" }</dt><dd>{ format!("{} at block {}, threshold {}", c.cam.method.label(), c.cam.block, c.cam.threshold) }</dd>
                        <dt>{ "Measured" }</dt><dd>{ c.metrics.iter().map(|(k, v)| format!("{k} {v:.3}")).collect::<Vec<_>>().join(", ") }</dd>
                        <dt>{ "Licence" }</dt><dd>{ &c.licence }</dd>
                        <dt>{ "Attribution" }</dt><dd>{ for c.attribution.iter().map(|a| html! { <div>{ a }</div> }) }</dd>
                        <dt>{ "Made by" }</dt><dd><code>{ &c.training.command }</code></dd>
                    </dl>
                </details>
            }
        </section>
    }
}
