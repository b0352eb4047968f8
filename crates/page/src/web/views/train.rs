//! "Train a model": give a labelled folder (class folders, or a labels CSV, or a zip of
//! either), see what was read, choose, train with live figures, cancel at any step. The
//! result joins the model picker and is kept in the browser.

use super::fmt;
use crate::data::labelled::{LabelOptions, POSITIVE_NAMES};
use crate::protocol::ModelId;
use crate::ui::state::training::{TrainPhase, Training};
use crate::web::files::{on_pick, Picked};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use crate::data::ScanKind;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TrainProps {
    pub training: Training,
    /// Models a run can start from (id, name).
    pub models: Vec<(ModelId, String)>,
    pub on_files: Callback<Vec<Picked>>,
    pub on_options: Callback<LabelOptions>,
    pub on_epochs: Callback<usize>,
    pub on_from: Callback<Option<ModelId>>,
    pub on_scan: Callback<ScanKind>,
    pub on_balance_gate: Callback<bool>,
    pub on_start: Callback<()>,
    pub on_cancel: Callback<()>,
    /// Files that could not be read from a dropped folder.
    pub on_problems: Callback<String>,
}

fn phase_text(t: &Training) -> String {
    match t.phase {
        TrainPhase::Idle | TrainPhase::Reading => String::new(),
        TrainPhase::Running => {
            let shared = if t.workers > 1 { format!(" on {} workers", t.workers) } else { String::new() };
            match (t.seconds_left(), t.total_steps) {
                (_, 0) => "reading the images…".into(),
                (Some(left), n) => format!("step {}/{n}{shared}, about {left:.0} s left", t.step),
                (None, n) => format!("step {}/{n}{shared}", t.step),
            }
        }
        TrainPhase::Done => "done: the model is in the picker and kept in this browser".into(),
        TrainPhase::Cancelled | TrainPhase::Failed => t.message.clone().unwrap_or_default(),
    }
}

#[function_component(TrainView)]
pub fn train_view(p: &TrainProps) -> Html {
    let t = &p.training;
    let locked = t.running();
    let on_folder = on_pick(p.on_files.clone());
    let on_zip = on_pick(p.on_files.clone());
    let on_drop = crate::web::files::on_drop(p.on_files.clone(), p.on_problems.clone());
    let on_over = Callback::from(|e: web_sys::DragEvent| e.prevent_default());
    let on_share = {
        let (on_options, options) = (p.on_options.clone(), t.options.clone());
        Callback::from(move |e: Event| {
            if let Ok(share) = e.target_unchecked_into::<HtmlInputElement>().value().parse::<f64>() {
                on_options.emit(LabelOptions { val_share: share.clamp(0.0, 0.9), ..options.clone() });
            }
        })
    };
    let on_positive = {
        let (on_options, options) = (p.on_options.clone(), t.options.clone());
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            let positive = if value.is_empty() { Vec::new() } else { vec![value] };
            on_options.emit(LabelOptions { positive, ..options.clone() });
        })
    };
    let on_epochs = p.on_epochs.reform(|e: Event| e.target_unchecked_into::<HtmlInputElement>().value().parse().unwrap_or(10));
    let on_scan = p.on_scan.reform(|e: Event| ScanKind::parse(&e.target_unchecked_into::<HtmlSelectElement>().value()).unwrap_or_default());
    let on_balance_gate = p.on_balance_gate.reform(|e: Event| e.target_unchecked_into::<HtmlInputElement>().checked());
    let on_from = p.on_from.reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value().parse().ok().map(ModelId));
    let named = t.classes.iter().find(|c| POSITIVE_NAMES.iter().any(|n| c.eq_ignore_ascii_case(n)));
    let best = t.best();
    html! {
        <section class="panel train" id="train" data-testid="train-panel">
            <h2>{ "Train a model" }</h2>
            <p class="hint">{ "Your own labelled images: one folder per class (e.g. tumour/ and normal/, as torchvision's ImageFolder), or a labels CSV (file,label, and a group column to keep a patient's images together), or a zip of either. Volumes (NIfTI, DICOM series) count as labelled scans: each is cut into its axial slices, labelled by its folder, and kept on one side of the split. Masks are optional (x_mask.png beside x.png, x_mask.nii.gz beside x.nii.gz). Everything stays in this browser." }</p>
            <div class="row train-drop" data-testid="train-drop" ondrop={if locked { None } else { Some(on_drop) }} ondragover={on_over}>
                <span>{ "Drop a labelled folder or zip here, or " }</span>
                <label class="button">{ "open a labelled folder…" }
                    <input type="file" multiple=true webkitdirectory=true data-testid="train-folder" onchange={on_folder} disabled={locked} />
                </label>
                <label class="button">{ "…or a zip / files" }
                    <input type="file" multiple=true accept=".zip,.csv,.png,.jpg,.jpeg,.tif,.tiff,.bmp,.nii,.gz,.dcm" data-testid="train-files" onchange={on_zip} disabled={locked} />
                </label>
                if t.phase == TrainPhase::Reading { <span class="note">{ format!("reading {}…", t.source) }</span> }
            </div>
            if let Some(problem) = &t.problem {
                <div class="error" role="alert" data-testid="train-problem">{ format!("{}: {problem}", t.source) }</div>
            }
            if let Some(s) = &t.summary {
                <div data-testid="train-summary">
                    <p>{ format!("{}: {}, {} images with masks", t.source, s.layout.name(), s.masked) }</p>
                    <table class="summary">
                        <thead><tr><th scope="col">{ "class" }</th><th scope="col">{ "role" }</th><th scope="col">{ "train" }</th><th scope="col">{ "val" }</th><th scope="col">{ "test" }</th></tr></thead>
                        <tbody>
                            { for s.classes.iter().map(|c| html! {
                                <tr data-testid="train-class">
                                    <td>{ &c.name }</td><td>{ if c.positive { "lesion" } else { "no lesion" } }</td>
                                    { for ["train", "val", "test"].iter().map(|k| html! { <td>{ c.per_split.get(*k).copied().unwrap_or(0) }</td> }) }
                                </tr>
                            }) }
                        </tbody>
                    </table>
                    if !s.warnings.is_empty() {
                        <ul class="warnings" data-testid="train-warnings">{ for s.warnings.iter().map(|w| html! { <li>{ w }</li> }) }</ul>
                    }
                </div>
            }
            if !t.classes.is_empty() {
                <div class="row">
                    <label>{ "Lesion class " }
                        <select data-testid="train-positive" onchange={on_positive} disabled={locked}>
                            <option value="" selected={t.options.positive.is_empty()}>{ named.map_or("choose…".to_string(), |n| format!("by name ({n})")) }</option>
                            { for t.classes.iter().map(|c| html! { <option value={c.clone()} selected={t.options.positive.first() == Some(c)}>{ c }</option> }) }
                        </select>
                    </label>
                    <label>{ "Start from " }
                        <select data-testid="train-from" onchange={on_from} disabled={locked}>
                            <option value="" selected={t.from.is_none()}>{ "scratch" }</option>
                            { for p.models.iter().map(|(id, name)| html! { <option value={id.0.to_string()} selected={t.from == Some(*id)}>{ name }</option> }) }
                        </select>
                    </label>
                    if t.from.is_none() {
                        <label title="What the brightness baseline, fusion and the shape step assume; a start model brings its own">{ "Scans are " }
                            <select data-testid="train-scan" onchange={on_scan} disabled={locked}>
                                { for ScanKind::ALL.iter().map(|k| html! { <option value={k.name()} selected={t.scan == *k}>{ k.label() }</option> }) }
                            </select>
                        </label>
                    }
                    <label>{ "Epochs " }<input type="number" min="1" max="100" value={t.epochs.to_string()} data-testid="train-epochs" onchange={on_epochs} disabled={locked} /></label>
                    <label>{ "Val share " }<input type="number" min="0" max="0.9" step="0.05" value={t.options.val_share.to_string()} data-testid="train-val-share" onchange={on_share} disabled={locked} /></label>
                    <label title="For unbalanced classes: p = 0.5 moves to where val's balanced accuracy (sensitivity + specificity) is best. Rankings and heatmaps do not change.">
                        <input type="checkbox" checked={t.balance_gate} data-testid="train-balance-gate" onchange={on_balance_gate} disabled={locked} />{ " balance the gate on val" }
                    </label>
                </div>
            }
            <div class="row">
                <button class="primary" data-testid="train-start" onclick={p.on_start.reform(|_: MouseEvent| ())} disabled={!t.can_start()}>{ "Train" }</button>
                <button data-testid="train-cancel" onclick={p.on_cancel.reform(|_: MouseEvent| ())} disabled={!locked}>{ "Cancel" }</button>
                <progress data-testid="train-progress" max={t.total_steps.max(1).to_string()} value={t.step.to_string()}></progress>
                <span class="note" data-testid="train-phase">{ phase_text(t) }</span>
            </div>
            if !t.epochs_done.is_empty() {
                <table class="summary" data-testid="train-epochs-table">
                    <thead><tr><th scope="col">{ "epoch" }</th><th scope="col">{ "train loss" }</th><th scope="col">{ "val AUC" }</th><th scope="col">{ "val accuracy" }</th></tr></thead>
                    <tbody>
                        { for t.epochs_done.iter().map(|e| html! {
                            <tr class={classes!(best.is_some_and(|b| b.epoch == e.epoch).then_some("best"))}>
                                <td>{ e.epoch + 1 }</td><td>{ format!("{:.4}", e.loss) }</td><td>{ fmt(Some(e.val_auc), 3) }</td><td>{ fmt(Some(e.val_accuracy), 3) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
                <p>{ "Kept: the best epoch by val AUC, " }<strong data-testid="train-best-auc">{ fmt(best.map(|b| b.val_auc), 3) }</strong>
                   { format!(" (trained on {}, {} held out)", t.train, t.val) }</p>
            }
        </section>
    }
}
