//! The volume on screen (a NIfTI file or DICOM series): which view it is cut in, a slider and
//! the arrow keys to step through its slices, the intensity window (level and width, as in
//! any viewer), 3D Dice once every slice is analysed, and the predicted mask saved as NIfTI on
//! the scan's grid. Shown only while a volume's slice is selected.

use super::fmt;
use crate::ui::state::Action;
use crate::volume::{View, Window};
use crate::web::ctx::Ctx;
use gloo::events::EventListener;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement, KeyboardEvent};
use yew::prelude::*;

/// The arrow keys step through slices, unless the person is typing in a field.
#[hook]
fn use_arrow_keys(ctx: &Ctx) {
    let ctx = ctx.clone();
    use_effect_with((), move |_| {
        let window = web_sys::window().expect("a page has a window");
        let listener = EventListener::new(&window, "keydown", move |e| {
            let Some(e) = e.dyn_ref::<KeyboardEvent>() else { return };
            let typing = e.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).is_some_and(|el| {
                let tag = el.tag_name();
                tag == "SELECT" || tag == "TEXTAREA" || (tag == "INPUT" && el.get_attribute("type").as_deref() != Some("range"))
            });
            let step = match e.key().as_str() {
                "ArrowUp" | "ArrowRight" => 1,
                "ArrowDown" | "ArrowLeft" => -1,
                _ => return,
            };
            if !typing && ctx.state().current_slice().is_some() {
                e.prevent_default();
                ctx.dispatch(Action::SliceStep(step));
            }
        });
        move || drop(listener)
    });
}

#[function_component(VolumeView)]
pub fn volume_view() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    use_arrow_keys(&ctx);
    let level_ref = use_node_ref();
    let width_ref = use_node_ref();
    let gated = use_state(|| true);
    let s = ctx.state();
    let Some((volume, k)) = s.current_slice() else { return html! {} };
    let (id, view, window, count) = (volume.id, volume.view, volume.window, volume.slices.len());
    let on_view = {
        let ctx = ctx.clone();
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            if let Some(v) = View::parse(&select.value()).filter(|v| *v != view) {
                ctx.on_reslice.emit((id, v, window));
            }
        })
    };
    let on_slice = {
        let (ctx, slices) = (ctx.clone(), volume.slices.clone());
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Some(id) = input.value().parse::<usize>().ok().and_then(|n| slices.get(n.saturating_sub(1))) {
                ctx.dispatch(Action::Selected(*id));
            }
        })
    };
    let on_window = {
        let (ctx, level_ref, width_ref) = (ctx.clone(), level_ref.clone(), width_ref.clone());
        Callback::from(move |_: MouseEvent| {
            let read = |r: &NodeRef| r.cast::<HtmlInputElement>().and_then(|i| i.value().trim().parse::<f32>().ok());
            match (read(&level_ref), read(&width_ref)) {
                (Some(level), Some(width)) if width > 0.0 && level.is_finite() && width.is_finite() => ctx.on_reslice.emit((id, view, Window::from_level(level, width))),
                _ => ctx.dispatch(Action::Failed("the window needs a level (a number) and a width above 0".into())),
            }
        })
    };
    let on_only = {
        let ctx = ctx.clone();
        Callback::from(move |e: Event| ctx.dispatch(Action::ShownSliceOnly(e.target_unchecked_into::<HtmlInputElement>().checked())))
    };
    let on_gated = {
        let gated = gated.clone();
        Callback::from(move |e: Event| gated.set(e.target_unchecked_into::<HtmlInputElement>().checked()))
    };
    let (dice, done) = s.volume_dice(volume);
    let on_export = {
        let (ctx, gated) = (ctx.clone(), *gated);
        Callback::from(move |_: MouseEvent| ctx.on_export_mask.emit((id, gated)))
    };
    let dice_line = match (dice, volume.labelled) {
        (Some(d), _) => html! { <span data-testid="volume-dice" data-dice={format!("{:.6}", d.dice)} data-gated-dice={format!("{:.6}", d.gated_dice)}>
            { format!("3D Dice {} over {count} slices at threshold {} (slices called \"no tumour\" left empty: {}); {} true voxels, {} predicted", fmt(Some(d.dice), 3), s.view.threshold, fmt(Some(d.gated_dice), 3), d.truth_voxels, d.predicted_voxels) }</span> },
        (None, true) if done < count => html! { <span data-testid="volume-dice">{ format!("3D Dice once every slice is analysed ({done} of {count})") }</span> },
        (None, true) => html! { <span data-testid="volume-dice">{ "3D Dice is shown at the slider's thresholds (steps of 0.05) and Otsu" }</span> },
        (None, false) => html! { <span data-testid="volume-dice">{ "no label volume came with it: 3D Dice needs one (x_mask.nii.gz beside x.nii.gz)" }</span> },
    };
    let spacing = volume.spacing.map(|v| format!("{v:.2}")).join(" x ");
    html! {
        <section class="panel volume" data-testid="volume-panel" data-cut={format!("{}:{}:{}", view.label(), window.low, window.high)}>
            <h2>{ "Volume" }</h2>
            <p class="note" data-testid="volume-info">{ format!("{}: {}, {} x {} x {} voxels of {spacing} mm", volume.name, volume.format, volume.dims[0], volume.dims[1], volume.dims[2]) }</p>
            <div class="row">
                <label>{ "View " }
                    <select data-testid="volume-view" onchange={on_view}>
                        { for View::ALL.iter().map(|v| html! { <option value={v.label()} selected={*v == view}>{ v.label() }</option> }) }
                    </select>
                </label>
                <label class="grow">{ "Slice " }
                    <input type="range" data-testid="slice-slider" min="1" max={count.to_string()} value={(k + 1).to_string()} oninput={on_slice} aria-label="slice" />
                    <span data-testid="slice-label">{ format!(" {} / {count}", k + 1) }</span>
                </label>
                <span class="note">{ "← → or ↑ ↓ step through slices" }</span>
            </div>
            <div class="row">
                <label>{ "Window level " }<input type="number" step="any" ref={level_ref} data-testid="window-level" value={format!("{}", window.level())} /></label>
                <label>{ " width " }<input type="number" step="any" min="0" ref={width_ref} data-testid="window-width" value={format!("{}", window.width())} /></label>
                <button data-testid="window-apply" onclick={on_window}>{ "Apply window" }</button>
                <label><input type="checkbox" data-testid="shown-only" checked={s.shown_slice_only} onchange={on_only} />{ " analyse only the slice shown" }</label>
            </div>
            <div class="row">
                { dice_line }
            </div>
            <div class="row">
                <button data-testid="export-mask" onclick={on_export} disabled={done < count}>{ "Save predicted mask (NIfTI)" }</button>
                <label><input type="checkbox" data-testid="export-gated" checked={*gated} onchange={on_gated} />{ " empty on slices called \"no tumour\"" }</label>
                <span class="note">{ "on the scan's grid: it opens over the scan in ITK-SNAP or 3D Slicer" }</span>
            </div>
        </section>
    }
}
