//! The paper's filter experiment in the page: pick a filter, see the filtered images, fine-tune
//! with live curves and a progress bar, compare held-out accuracy before and after, keep or
//! download the result. Cancel works at any step.

use super::{fmt, inline_svg};
use crate::figures::{line_chart_svg, Chart, Series};
use crate::filters::Filter;
use crate::finetune::{self, Labelled};
use crate::render::overlay_rgba;
use crate::plane::Plane;
use crate::ui::state::{Action, PageState, TunePhase};
use crate::web::ctx::Ctx;
use crate::web::canvas;
use web_sys::{HtmlCanvasElement, HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

const PREVIEWS: usize = 8;

/// The first few images as the chosen filter makes them for the experiment.
fn previews(s: &PageState) -> Vec<Plane> {
    let labelled: Vec<Labelled> = s.tune_inputs().take(PREVIEWS).collect();
    let Some(card) = s.card() else { return Vec::new() };
    finetune::filtered_images(&labelled, s.finetune.filter, finetune::SEED, &card.input)
}

fn label(f: Filter) -> &'static str {
    match f {
        Filter::KeepHot => "keep hot (only the heatmap mask)",
        Filter::RemoveHot => "remove hot (blank the mask)",
        Filter::KeepRandom => "keep random (same area, random place in the field of view)",
        Filter::RemoveRandom => "remove random (same area, random place in the field of view)",
        Filter::MaskOnly => "mask only (the leak control: no scan, just the mask)",
    }
}

#[function_component(FineTuneView)]
pub fn fine_tune_view() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let grid_ref = use_node_ref();
    // Filtered when the images, their heatmaps, the filter or the cut change, not per render.
    let s = ctx.state();
    let deps = (s.finetune.filter, s.view.threshold.to_string(), s.generation, s.tune_items().into_iter().take(PREVIEWS).collect::<Vec<_>>());
    let shown = {
        let s = s.clone();
        use_memo(deps, move |_| previews(&s))
    };
    {
        let (grid_ref, ctx, shown) = (grid_ref.clone(), ctx.clone(), shown.clone());
        // Drawn when the previews change (their grid exists once they do).
        let key = (std::rc::Rc::as_ptr(&shown) as usize, s.view.colour_map);
        use_effect_with(key, move |_| {
            let Some(grid) = grid_ref.cast::<web_sys::Element>() else { return };
            let canvases = grid.get_elements_by_tag_name("canvas");
            for (i, p) in shown.iter().enumerate() {
                if let Some(c) = canvases.item(i as u32).and_then(|c| wasm_bindgen::JsCast::dyn_into::<HtmlCanvasElement>(c).ok()) {
                    let rgba = overlay_rgba(p, &Plane::zeros(p.width, p.height), ctx.state().view.colour_map, 0.0, None, None);
                    let _ = canvas::draw_rgba(&c, p.width, p.height, &rgba);
                }
            }
        });
    }
    let s = ctx.state();
    let t = &s.finetune;
    let running = t.phase == TunePhase::Running;
    let on_filter = {
        let ctx = ctx.clone();
        Callback::from(move |e: Event| {
            if let Some(f) = Filter::parse(&e.target_unchecked_into::<HtmlSelectElement>().value()) {
                ctx.dispatch(Action::FilterChosen(f));
            }
        })
    };
    let on_epochs = {
        let ctx = ctx.clone();
        Callback::from(move |e: Event| {
            if let Ok(n) = e.target_unchecked_into::<HtmlInputElement>().value().parse() {
                ctx.dispatch(Action::EpochsChosen(n));
            }
        })
    };
    let shown = shown.len();
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
                <button class="primary" onclick={ctx.on_finetune.reform(|_: MouseEvent| ())} data-testid="finetune-start" disabled={running || s.items.is_empty()}>{ "Fine-tune" }</button>
                <button onclick={ctx.on_cancel.reform(|_: MouseEvent| ())} data-testid="finetune-cancel" disabled={!running}>{ "Cancel" }</button>
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
                <button onclick={ctx.on_keep.reform(|_: MouseEvent| ())} data-testid="finetune-keep" disabled={t.phase != TunePhase::Done || t.kept}>{ "Keep as the current model" }</button>
                if t.kept { <span class="note">{ "Kept: it is now in the model picker; \"Download weights + card\" saves it." }</span> }
                if t.unkept() { <span class="note" data-testid="finetune-unkept">{ "Not kept yet: fine-tuning again replaces this model." }</span> }
            </div>
        </section>
    }
}
