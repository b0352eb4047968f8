//! One image: the scan with its heatmap, the predicted (green) and true (magenta) contours,
//! probability, Dice and IoU, and the controls that change them: CAM method and layer,
//! threshold (or Otsu), opacity, colour map, zoom. Exports the heatmap, mask and overlay.

use super::fmt;
use crate::cam::CamMethod;
use crate::masks::Threshold;
use crate::render::{ColourMap, PREDICTED, TRUTH};
use crate::ui::state::{Action, Item, ViewSettings};
use crate::web::canvas;
use web_sys::{HtmlCanvasElement, HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

fn css(rgb: [u8; 3]) -> String {
    format!("color: rgb({}, {}, {})", rgb[0], rgb[1], rgb[2])
}

/// What the image view shows and what its controls change.
#[derive(Properties, PartialEq)]
pub struct ImageProps {
    /// The image on screen, with its result once the model has answered.
    pub item: Option<Item>,
    pub view: ViewSettings,
    pub method: Option<CamMethod>,
    pub block: usize,
    /// The current model's blocks (none before a model is ready).
    pub blocks: Option<usize>,
    /// A control changed a setting: method, layer, threshold, opacity, colours, zoom, masks on
    /// "no tumour" images.
    pub on_setting: Callback<Action>,
    pub on_problem: Callback<String>,
    /// Save a picture (heatmap, mask or overlay) as PNG: the worker encodes it.
    pub on_save: Callback<crate::protocol::Picture>,
}

#[function_component(ImageView)]
pub fn image_view(p: &ImageProps) -> Html {
    let canvas_ref = use_node_ref();
    let (item, view) = (p.item.as_ref(), &p.view);
    {
        // Redrawn only when what it shows changes (not on every result of a batch).
        let shown = (
            item.map(|i| i.id),
            item.and_then(|i| i.result.as_ref()).map(|r| std::rc::Rc::as_ptr(&r.heatmap) as usize),
            view.threshold.to_string(),
            view.opacity.to_bits(),
            view.colour_map,
            view.masks_on_negatives,
        );
        let (canvas_ref, item, view, on_problem) = (canvas_ref.clone(), p.item.clone(), p.view.clone(), p.on_problem.clone());
        use_effect_with(shown, move |_| {
            if let (Some(c), Some(item)) = (canvas_ref.cast::<HtmlCanvasElement>(), item) {
                let predicted = item.predicted_mask(&view);
                let (w, h, rgba) = item.picture(&view, predicted.as_ref());
                if let Err(e) = canvas::draw_rgba(&c, w, h, &rgba) {
                    on_problem.emit(e);
                }
                // What was drawn, for tests: the image and its predicted mask's pixels (0 when
                // none is drawn).
                let drawn = if item.result.is_some() { item.name.clone() } else { String::new() };
                let _ = c.set_attribute("data-drawn", &drawn);
                let _ = c.set_attribute("data-mask-px", &predicted.map(|m| m.area()).unwrap_or(0).to_string());
            }
        });
    }
    let select = |f: fn(&str) -> Option<Action>| {
        let on_setting = p.on_setting.clone();
        Callback::from(move |e: Event| {
            if let Some(a) = f(&e.target_unchecked_into::<HtmlSelectElement>().value()) {
                on_setting.emit(a);
            }
        })
    };
    let slider = |f: fn(f32) -> Action| {
        let on_setting = p.on_setting.clone();
        Callback::from(move |e: InputEvent| {
            if let Ok(v) = e.target_unchecked_into::<HtmlInputElement>().value().parse::<f32>() {
                on_setting.emit(f(v));
            }
        })
    };
    let on_method = select(|v| CamMethod::parse(v).ok().map(Action::MethodChosen));
    let on_block = select(|v| v.parse().ok().map(Action::BlockChosen));
    let on_map = select(|v| ColourMap::ALL.into_iter().find(|m| m.name() == v).map(Action::ColourMapChosen));
    let on_threshold = slider(|v| Action::ThresholdChosen(Threshold::Fixed(v)));
    let on_opacity = slider(Action::OpacityChosen);
    let on_zoom = slider(|v| Action::ZoomChosen(v as u32));
    let on_negatives = {
        let on_setting = p.on_setting.clone();
        Callback::from(move |e: Event| on_setting.emit(Action::MasksOnNegatives(e.target_unchecked_into::<HtmlInputElement>().checked())))
    };
    let on_otsu = {
        let on_setting = p.on_setting.clone();
        Callback::from(move |_: MouseEvent| on_setting.emit(Action::ThresholdChosen(Threshold::Otsu)))
    };
    let on_export = |what: &'static str| {
        let (item, view, on_problem, on_save) = (p.item.clone(), p.view.clone(), p.on_problem.clone(), p.on_save.clone());
        Callback::from(move |_: MouseEvent| match item.as_ref().ok_or_else(|| "no image is shown".to_string()).and_then(|i| i.export_picture(&view, what)) {
            Ok(picture) => on_save.emit(picture),
            Err(e) => on_problem.emit(format!("cannot export the {what}: {e}")),
        })
    };
    let scores = item.and_then(|i| i.scores(view.threshold));
    let gated_dice = item.and_then(|i| i.gated_dice(view.threshold));
    let result = item.and_then(|i| i.result.as_ref());
    let gated_away = item.is_some_and(|i| i.gated() && !i.shows_mask(view));
    let (t_value, t_label) = match view.threshold {
        Threshold::Fixed(t) => (t, format!("{t:.2}")),
        Threshold::Otsu => (result.map(|r| view.threshold.value_for(&r.heatmap)).unwrap_or(0.5), "Otsu".to_string()),
    };
    // Scans of any shape keep their aspect. Fit (the default) shows the whole image in the
    // panel; a zoom enlarges pixels (drawn sharp, not smoothed) and the box scrolls.
    let (w, h) = item.map(|i| (i.image.width, i.image.height)).unwrap_or((128, 128));
    let size = if view.zoom == ViewSettings::FIT {
        // Tall scans are letterboxed into the box's height rather than scrolled.
        format!("width: 100%; max-width: {}px; height: auto; max-height: 78vh; object-fit: contain", w.max(512))
    } else {
        format!("width: {}px; height: {}px", w as u32 * view.zoom, h as u32 * view.zoom)
    };
    let zoom_label = if view.zoom == ViewSettings::FIT { "fit".to_string() } else { format!("{}x", view.zoom) };
    let dice_text = match (item.and_then(|i| i.truth.as_ref()), scores.map(|x| x.0)) {
        (None, _) => "no mask".to_string(),
        (Some(_), None) if result.is_some() => "no tumour in mask".to_string(),
        (_, d) => fmt(d, 4),
    };
    html! {
        <section class="panel image-view" id="image-view">
            <h2>{ item.map(|i| i.name.clone()).unwrap_or_else(|| "No image loaded".into()) }</h2>
            <div class="facts">
                <div>{ "Tumour probability: " }<strong data-testid="probability">{ result.map(|r| format!("{:.4}", r.probability)).unwrap_or_default() }</strong>
                    { for result.map(|r| html! { <span class="note">{ if r.probability >= crate::evaluate::GATE { " (tumour)" } else { " (no tumour)" } }</span> }) }</div>
                <div>{ "Dice: " }<strong data-testid="dice" data-dice={fmt(scores.map(|x| x.0), 6)}>{ if result.is_some() { dice_text } else { String::new() } }</strong>
                    { " · gated Dice: " }<strong data-testid="gated-dice" data-gated-dice={fmt(gated_dice, 6)} title="Dice with the mask emptied when the model says no tumour (p < 0.5): a missed tumour scores 0">{ fmt(gated_dice, 4) }</strong>
                    { " · IoU: " }<strong data-testid="iou">{ fmt(scores.map(|x| x.1), 4) }</strong></div>
            </div>
            if gated_away {
                <p class="note" data-testid="mask-gated">{ "The model calls this slice no-tumour (p < 0.5), so no mask is drawn: the heatmap alone is shown." }</p>
            }
            // Focusable, so a keyboard can scroll a zoomed image (axe: scrollable-region-focusable).
            <div class="canvas-box" tabindex="0" role="region" aria-label="The image with its heatmap and mask outlines">
                <canvas ref={canvas_ref} data-testid="heatmap-canvas" width="128" height="128"
                    style={size} role="img" aria-label={item.map(|i| format!("{} with its heatmap", i.name)).unwrap_or_default()}></canvas>
            </div>
            <p class="legend"><span style={css(PREDICTED)}>{ "green: predicted mask" }</span>{ " · " }<span style={css(TRUTH)}>{ "magenta: true mask" }</span></p>
            <div class="controls">
                <label>{ "CAM method " }
                    <select data-testid="method" onchange={on_method}>
                        { for CamMethod::ALL.iter().map(|m| html! { <option value={m.name()} selected={p.method == Some(*m)}>{ m.label() }</option> }) }
                    </select>
                </label>
                <label>{ "Layer " }
                    <select data-testid="layer" onchange={on_block} disabled={p.method.is_some_and(|m| m.base().is_none())}
                        title="The block whose activations the CAM explains (occlusion and the intensity rule use none)">
                        { for (0..p.blocks.unwrap_or(0)).map(|b| html! { <option value={b.to_string()} selected={p.block == b}>{ format!("block {}{}", b + 1, if Some(b + 1) == p.blocks { " (last)" } else { "" }) }</option> }) }
                    </select>
                </label>
                <label>{ "Threshold " }
                    <input type="range" min="0" max="1" step="0.05" value={t_value.to_string()} data-testid="threshold" oninput={on_threshold} />
                    <span data-testid="threshold-value">{ t_label }</span>
                </label>
                <button onclick={on_otsu} data-testid="otsu" title="Otsu's threshold, from each heatmap's own histogram">{ "Otsu (auto)" }</button>
                <label>{ "Opacity " }
                    <input type="range" min="0" max="1" step="0.05" value={view.opacity.to_string()} data-testid="opacity" oninput={on_opacity} />
                </label>
                <label>{ "Colours " }
                    <select data-testid="colour-map" onchange={on_map}>
                        { for ColourMap::ALL.iter().map(|m| html! { <option value={m.name()} selected={view.colour_map == *m}>{ m.name() }</option> }) }
                    </select>
                </label>
                <label title="Off: a slice the model calls no-tumour (p < 0.5) gets no predicted mask, as gated Dice counts it">
                    <input type="checkbox" data-testid="masks-on-negatives" checked={view.masks_on_negatives} onchange={on_negatives} />
                    { " Show masks on slices called no-tumour" }
                </label>
                <label>{ "Zoom " }
                    <input type="range" min="0" max="6" step="1" value={view.zoom.to_string()} data-testid="zoom" oninput={on_zoom} aria-valuetext={zoom_label.clone()} />
                    <span data-testid="zoom-value">{ zoom_label }</span>
                </label>
            </div>
            <div class="row">
                { "Save: " }
                <button onclick={on_export("heatmap")} data-testid="export-heatmap">{ "heatmap PNG" }</button>
                <button onclick={on_export("mask")} data-testid="export-mask">{ "mask PNG" }</button>
                <button onclick={on_export("overlay")} data-testid="export-overlay">{ "overlay PNG" }</button>
            </div>
        </section>
    }
}
