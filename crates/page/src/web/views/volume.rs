//! The volume on screen (a NIfTI file or DICOM series): which view it is cut in, a slider and
//! the arrow keys to step through its slices, the intensity window (level and width, as in
//! any viewer), 3D Dice once every slice is analysed, and the predicted mask saved as NIfTI on
//! the scan's grid. Shown only while a volume's slice is selected.

use super::fmt;
use crate::masks::Threshold;
use crate::protocol::{ItemId, VolumeId, VolumeInfo};
use crate::volume::score::VolumeDice;
use crate::volume::{View, Window};
use gloo::events::EventListener;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement, KeyboardEvent};
use yew::prelude::*;

/// What the volume panel shows (the volume of the slice on screen) and what it can ask for.
#[derive(Properties, PartialEq)]
pub struct VolumeProps {
    pub volume: VolumeInfo,
    /// The slice on screen (0-based).
    pub slice: usize,
    /// 3D Dice at the current threshold, once every slice is analysed, and how many are.
    pub dice: Option<VolumeDice>,
    pub done: usize,
    pub threshold: Threshold,
    pub shown_slice_only: bool,
    pub on_select: Callback<ItemId>,
    /// Step through the slices (+1, -1).
    pub on_step: Callback<i64>,
    pub on_reslice: Callback<(VolumeId, View, Window)>,
    /// Save the predicted mask (empty on slices called "no tumour" when true).
    pub on_export: Callback<(VolumeId, bool)>,
    pub on_shown_only: Callback<bool>,
    pub on_problem: Callback<String>,
}

/// The arrow keys step through slices, unless the person is typing in a field. The listener is
/// registered once; it calls the latest `on_step` (a parent may hand a new callback per render).
#[hook]
fn use_arrow_keys(on_step: Callback<i64>) {
    let latest = use_mut_ref(|| on_step.clone());
    *latest.borrow_mut() = on_step;
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
            if !typing {
                e.prevent_default();
                let on_step = latest.borrow().clone();
                on_step.emit(step);
            }
        });
        move || drop(listener)
    });
}

#[function_component(VolumeView)]
pub fn volume_view(p: &VolumeProps) -> Html {
    use_arrow_keys(p.on_step.clone());
    let level_ref = use_node_ref();
    let width_ref = use_node_ref();
    let gated = use_state(|| true);
    let (volume, k) = (&p.volume, p.slice);
    let (id, view, window, count) = (volume.id, volume.view, volume.window, volume.slices.len());
    let on_view = {
        let on_reslice = p.on_reslice.clone();
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            if let Some(v) = View::parse(&select.value()).filter(|v| *v != view) {
                on_reslice.emit((id, v, window));
            }
        })
    };
    let on_slice = {
        let (on_select, slices) = (p.on_select.clone(), volume.slices.clone());
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Some(id) = input.value().parse::<usize>().ok().and_then(|n| slices.get(n.saturating_sub(1))) {
                on_select.emit(*id);
            }
        })
    };
    let on_window = {
        let (on_reslice, on_problem, level_ref, width_ref) = (p.on_reslice.clone(), p.on_problem.clone(), level_ref.clone(), width_ref.clone());
        Callback::from(move |_: MouseEvent| {
            let read = |r: &NodeRef| r.cast::<HtmlInputElement>().and_then(|i| i.value().trim().parse::<f32>().ok());
            match (read(&level_ref), read(&width_ref)) {
                (Some(level), Some(width)) if width > 0.0 && level.is_finite() && width.is_finite() => on_reslice.emit((id, view, Window::from_level(level, width))),
                _ => on_problem.emit("the window needs a level (a number) and a width above 0".into()),
            }
        })
    };
    let on_only = {
        let on_shown_only = p.on_shown_only.clone();
        Callback::from(move |e: Event| on_shown_only.emit(e.target_unchecked_into::<HtmlInputElement>().checked()))
    };
    let on_gated = {
        let gated = gated.clone();
        Callback::from(move |e: Event| gated.set(e.target_unchecked_into::<HtmlInputElement>().checked()))
    };
    let (dice, done) = (p.dice, p.done);
    let on_export = {
        let (on_export, gated) = (p.on_export.clone(), *gated);
        Callback::from(move |_: MouseEvent| on_export.emit((id, gated)))
    };
    let dice_line = match (dice, volume.labelled) {
        (Some(d), _) => html! { <span data-testid="volume-dice" data-dice={format!("{:.6}", d.dice)} data-gated-dice={format!("{:.6}", d.gated_dice)}>
            { format!("3D Dice {} over {count} slices at threshold {} (slices called \"no tumour\" left empty: {}); {} true voxels, {} predicted", fmt(Some(d.dice), 3), p.threshold, fmt(Some(d.gated_dice), 3), d.truth_voxels, d.predicted_voxels) }</span> },
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
                <label><input type="checkbox" data-testid="shown-only" checked={p.shown_slice_only} onchange={on_only} />{ " analyse only the slice shown" }</label>
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
