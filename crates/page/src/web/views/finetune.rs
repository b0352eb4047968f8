//! The paper's filter experiment in the page: pick a filter, see the filtered images, fine-tune
//! with live curves and a progress bar, compare held-out accuracy before and after, keep or
//! download the result. Cancel works at any step.

use super::{fmt, inline_svg};
use crate::figures::{line_chart_svg, Chart, Series};
use crate::filters::Filter;
use crate::plane::Plane;
use crate::render::{overlay_rgba, ColourMap};
use crate::ui::state::{FineTune, TunePhase};
use crate::web::canvas;
use std::rc::Rc;
use web_sys::{HtmlCanvasElement, HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// The images previewed, filtered as the experiment will filter them.
pub const PREVIEWS: usize = 8;

fn label(f: Filter) -> &'static str {
    match f {
        Filter::KeepHot => "keep hot (only the heatmap mask)",
        Filter::RemoveHot => "remove hot (blank the mask)",
        Filter::KeepRandom => "keep random (same area, random place in the field of view)",
        Filter::RemoveRandom => "remove random (same area, random place in the field of view)",
        Filter::MaskOnly => "mask only (the leak control: no scan, just the mask)",
    }
}

/// The experiment as it stands, its previews (filtered once, by the page) and what it can ask.
#[derive(Properties, PartialEq)]
pub struct FineTuneProps {
    pub tune: FineTune,
    pub previews: Rc<Vec<Plane>>,
    pub colour_map: ColourMap,
    pub has_images: bool,
    pub on_filter: Callback<Filter>,
    pub on_epochs: Callback<usize>,
    pub on_start: Callback<()>,
    pub on_cancel: Callback<()>,
    pub on_keep: Callback<()>,
}

#[function_component(FineTuneView)]
pub fn fine_tune_view(p: &FineTuneProps) -> Html {
    let grid_ref = use_node_ref();
    {
        // Drawn when the previews change (their grid exists once they do).
        let (grid_ref, previews, colour_map) = (grid_ref.clone(), p.previews.clone(), p.colour_map);
        let key = (Rc::as_ptr(&previews) as usize, colour_map);
        use_effect_with(key, move |_| {
            let Some(grid) = grid_ref.cast::<web_sys::Element>() else { return };
            let canvases = grid.get_elements_by_tag_name("canvas");
            for (i, p) in previews.iter().enumerate() {
                if let Some(c) = canvases.item(i as u32).and_then(|c| wasm_bindgen::JsCast::dyn_into::<HtmlCanvasElement>(c).ok()) {
                    let rgba = overlay_rgba(p, &Plane::zeros(p.width, p.height), colour_map, 0.0, None, None);
                    let _ = canvas::draw_rgba(&c, p.width, p.height, &rgba);
                }
            }
        });
    }
    let t = &p.tune;
    let running = t.phase == TunePhase::Running;
    let on_filter = {
        let on_filter = p.on_filter.clone();
        Callback::from(move |e: Event| {
            if let Some(f) = Filter::parse(&e.target_unchecked_into::<HtmlSelectElement>().value()) {
                on_filter.emit(f);
            }
        })
    };
    let on_epochs = {
        let on_epochs = p.on_epochs.clone();
        Callback::from(move |e: Event| {
            if let Ok(n) = e.target_unchecked_into::<HtmlInputElement>().value().parse() {
                on_epochs.emit(n);
            }
        })
    };
    let shown = p.previews.len();
    let curve_data = (t.losses.clone(), t.accuracies.clone(), t.total_steps);
    let curves = use_memo(curve_data, |(losses, accuracies, total_steps)| (!losses.is_empty()).then(|| {
        let steps = |v: &[f32]| v.iter().enumerate().map(|(i, &y)| ((i + 1) as f32, y as f64)).collect::<Vec<_>>();
        let chart = Chart { title: "Fine-tuning", x_label: "step", y_label: "", x: 0.0..(*total_steps).max(1) as f32, y: 0.0..(losses.iter().cloned().fold(1.0f32, f32::max) as f64), size: (420, 240) };
        line_chart_svg(&chart, &[Series { label: "loss".into(), points: steps(losses) }, Series { label: "batch accuracy".into(), points: steps(accuracies) }]).ok()
    }).flatten());
    html! {
        <section class="panel finetune" id="finetune">
            <h2>{ "Filter and fine-tune" }</h2>
            <p class="hint">{ "Each image with a mask is filtered with its own heatmap mask at the current threshold. Two of every three are used to fine-tune the current model; the third is held out to measure accuracy before and after. Try remove-hot against remove-random." }</p>
            <div class="row">
                <label>{ "Filter " }
                    <select data-testid="finetune-filter" onchange={on_filter} disabled={running}>
                        { for Filter::ALL.iter().map(|f| html! { <option value={f.name()} selected={t.filter == *f}>{ label(*f) }</option> }) }
                    </select>
                </label>
                <label>{ "Epochs " }
                    <input type="number" min="1" max="50" value={t.epochs.to_string()} data-testid="finetune-epochs" onchange={on_epochs} disabled={running} />
                </label>
                <button class="primary" onclick={p.on_start.reform(|_: MouseEvent| ())} data-testid="finetune-start" disabled={running || !p.has_images}>{ "Fine-tune" }</button>
                <button onclick={p.on_cancel.reform(|_: MouseEvent| ())} data-testid="finetune-cancel" disabled={!running}>{ "Cancel" }</button>
                <progress data-testid="finetune-progress" max={t.total_steps.max(1).to_string()} value={t.step.to_string()}></progress>
                <span class="note">{ match t.phase {
                    TunePhase::Idle => String::new(),
                    TunePhase::Running => format!("step {}/{}", t.step, t.total_steps),
                    TunePhase::Done => "done".into(),
                    TunePhase::Cancelled => "cancelled: the model is unchanged".into(),
                } }</span>
            </div>
            <div class="grid" ref={grid_ref}>
                { for (0..shown).map(|_| html! { <canvas class="thumb" width="64" height="64"></canvas> }) }
            </div>
            <p class="result">
                { format!("Held-out accuracy ({} images, fine-tuned on {}): before ", t.held_out, t.trained_on) }
                <strong data-testid="finetune-accuracy-before">{ fmt(t.accuracy_before, 3) }</strong>{ ", after " }
                <strong data-testid="finetune-accuracy-after">{ fmt(t.accuracy_after, 3) }</strong>
            </p>
            if let Some(svg) = (*curves).clone() {
                <figure class="chart" data-testid="finetune-curves">{ inline_svg(svg) }</figure>
            }
            <div class="row">
                <button onclick={p.on_keep.reform(|_: MouseEvent| ())} data-testid="finetune-keep" disabled={t.phase != TunePhase::Done || t.kept}>{ "Keep as the current model" }</button>
                if t.kept { <span class="note">{ "Kept: it is now in the model picker; \"Download weights + card\" saves it." }</span> }
                if t.unkept() { <span class="note" data-testid="finetune-unkept">{ "Not kept yet: fine-tuning again replaces this model." }</span> }
            </div>
        </section>
    }
}
