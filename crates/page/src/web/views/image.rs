//! One image: the scan with its heatmap, the predicted (green) and true (magenta) contours,
//! probability, Dice and IoU, and the controls that change them: CAM method and layer,
//! threshold (or Otsu), opacity, colour map, zoom. Exports the heatmap, mask and overlay.

use super::fmt;
use crate::cam::CamMethod;
use crate::data::decode::{encode_png_gray, encode_png_rgba};
use crate::masks::Threshold;
use crate::plane::Plane;
use crate::render::{heatmap_rgba, overlay_rgba, ColourMap, PREDICTED, TRUTH};
use crate::ui::state::{Action, PageState, ViewSettings};
use crate::web::ctx::Ctx;
use crate::web::{canvas, files};
use web_sys::{HtmlCanvasElement, HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

fn css(rgb: [u8; 3]) -> String {
    format!("color: rgb({}, {}, {})", rgb[0], rgb[1], rgb[2])
}

/// The overlay of the image on screen, as RGBA (the plain scan while its heatmap is pending).
fn picture(s: &PageState) -> Option<(usize, usize, Vec<u8>)> {
    let item = s.current()?;
    let (w, h) = (item.image.width, item.image.height);
    let rgba = match &item.result {
        Some(r) => overlay_rgba(&item.image, &r.heatmap, s.view.colour_map, s.view.opacity, s.predicted_mask().as_ref(), item.truth.as_deref()),
        None => overlay_rgba(&item.image, &Plane::zeros(w, h), s.view.colour_map, 0.0, None, item.truth.as_deref()),
    };
    Some((w, h, rgba))
}

fn export(s: &PageState, what: &str) -> Result<(), String> {
    let item = s.current().ok_or("no image is shown")?;
    let result = item.result.as_ref().ok_or("the heatmap is still being computed")?;
    let stem = item.name.rsplit_once('.').map(|(a, _)| a).unwrap_or(&item.name);
    let (w, h) = (item.image.width, item.image.height);
    let bytes = match what {
        "heatmap" => encode_png_rgba(w, h, heatmap_rgba(&result.heatmap, s.view.colour_map)),
        "mask" => encode_png_gray(&s.predicted_mask().ok_or("the model calls this image no-tumour, so its mask is gated away (tick \"Show masks on slices called no-tumour\" to save it)")?.to_plane()),
        _ => encode_png_rgba(w, h, picture(s).ok_or("no image")?.2),
    };
    files::download(&format!("{stem}_{what}.png"), "image/png", &bytes)
}

#[function_component(ImageView)]
pub fn image_view() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let canvas_ref = use_node_ref();
    {
        // Redrawn only when what it shows changes (not on every result of a batch).
        let s = ctx.state();
        let item = s.current();
        let shown = (
            item.map(|i| i.id),
            item.and_then(|i| i.result.as_ref()).map(|r| std::rc::Rc::as_ptr(&r.heatmap) as usize),
            s.view.threshold.to_string(),
            s.view.opacity.to_bits(),
            s.view.colour_map,
            s.view.masks_on_negatives,
        );
        let (canvas_ref, ctx) = (canvas_ref.clone(), ctx.clone());
        use_effect_with(shown, move |_| {
            let s = ctx.state();
            if let (Some(c), Some((w, h, rgba))) = (canvas_ref.cast::<HtmlCanvasElement>(), picture(s)) {
                if let Err(e) = canvas::draw_rgba(&c, w, h, &rgba) {
                    ctx.dispatch(Action::Failed(e));
                }
                // What was drawn, for tests: the image and its predicted mask's pixels (0 when
                // none is drawn).
                let drawn = s.current().filter(|i| i.result.is_some()).map(|i| i.name.clone()).unwrap_or_default();
                let mask_px = s.predicted_mask().map(|m| m.area()).unwrap_or(0);
                let _ = c.set_attribute("data-drawn", &drawn);
                let _ = c.set_attribute("data-mask-px", &mask_px.to_string());
            }
        });
    }
    let s = ctx.state();
    let select = |f: fn(&str, &PageState) -> Option<Action>| {
        let ctx = ctx.clone();
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some(a) = f(&v, ctx.state()) {
                ctx.dispatch(a);
            }
        })
    };
    let slider = |f: fn(f32) -> Action| {
        let ctx = ctx.clone();
        Callback::from(move |e: InputEvent| {
            if let Ok(v) = e.target_unchecked_into::<HtmlInputElement>().value().parse::<f32>() {
                ctx.dispatch(f(v));
            }
        })
    };
    let on_method = select(|v, _| CamMethod::parse(v).ok().map(Action::MethodChosen));
    let on_block = select(|v, _| v.parse().ok().map(Action::BlockChosen));
    let on_map = select(|v, _| ColourMap::ALL.into_iter().find(|m| m.name() == v).map(Action::ColourMapChosen));
    let on_threshold = slider(|v| Action::ThresholdChosen(Threshold::Fixed(v)));
    let on_opacity = slider(Action::OpacityChosen);
    let on_zoom = slider(|v| Action::ZoomChosen(v as u32));
    let on_negatives = {
        let ctx = ctx.clone();
        Callback::from(move |e: Event| ctx.dispatch(Action::MasksOnNegatives(e.target_unchecked_into::<HtmlInputElement>().checked())))
    };
    let on_otsu = {
        let ctx = ctx.clone();
        Callback::from(move |_: MouseEvent| ctx.dispatch(Action::ThresholdChosen(Threshold::Otsu)))
    };
    let on_export = |what: &'static str| {
        let ctx = ctx.clone();
        Callback::from(move |_: MouseEvent| {
            if let Err(e) = export(ctx.state(), what) {
                ctx.dispatch(Action::Failed(format!("cannot export the {what}: {e}")));
            }
        })
    };
    let item = s.current();
    let scores = s.current_scores();
    let gated_dice = item.and_then(|i| i.gated_dice(s.view.threshold));
    let result = item.and_then(|i| i.result.as_ref());
    let gated_away = item.is_some_and(|i| i.gated()) && !s.shows_mask();
    let (t_value, t_label) = match s.view.threshold {
        Threshold::Fixed(t) => (t, format!("{t:.2}")),
        Threshold::Otsu => (result.map(|r| s.view.threshold.value_for(&r.heatmap)).unwrap_or(0.5), "Otsu".to_string()),
    };
    // Scans of any shape keep their aspect. Fit (the default) shows the whole image in the
    // panel; a zoom enlarges pixels (drawn sharp, not smoothed) and the box scrolls.
    let (w, h) = item.map(|i| (i.image.width, i.image.height)).unwrap_or((128, 128));
    let size = if s.view.zoom == ViewSettings::FIT {
        // Tall scans are letterboxed into the box's height rather than scrolled.
        format!("width: 100%; max-width: {}px; height: auto; max-height: 78vh; object-fit: contain", w.max(512))
    } else {
        format!("width: {}px; height: {}px", w as u32 * s.view.zoom, h as u32 * s.view.zoom)
    };
    let zoom_label = if s.view.zoom == ViewSettings::FIT { "fit".to_string() } else { format!("{}x", s.view.zoom) };
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
                        { for CamMethod::ALL.iter().map(|m| html! { <option value={m.name()} selected={s.method == Some(*m)}>{ m.label() }</option> }) }
                    </select>
                </label>
                <label>{ "Layer " }
                    <select data-testid="layer" onchange={on_block} disabled={s.method.is_some_and(|m| m.base().is_none())}
                        title="The block whose activations the CAM explains (occlusion and the intensity rule use none)">
                        { for (0..s.blocks().unwrap_or(0)).map(|b| html! { <option value={b.to_string()} selected={s.block == b}>{ format!("block {}{}", b + 1, if Some(b + 1) == s.blocks() { " (last)" } else { "" }) }</option> }) }
                    </select>
                </label>
                <label>{ "Threshold " }
                    <input type="range" min="0" max="1" step="0.05" value={t_value.to_string()} data-testid="threshold" oninput={on_threshold} />
                    <span data-testid="threshold-value">{ t_label }</span>
                </label>
                <button onclick={on_otsu} data-testid="otsu" title="Otsu's threshold, from each heatmap's own histogram">{ "Otsu (auto)" }</button>
                <label>{ "Opacity " }
                    <input type="range" min="0" max="1" step="0.05" value={s.view.opacity.to_string()} data-testid="opacity" oninput={on_opacity} />
                </label>
                <label>{ "Colours " }
                    <select data-testid="colour-map" onchange={on_map}>
                        { for ColourMap::ALL.iter().map(|m| html! { <option value={m.name()} selected={s.view.colour_map == *m}>{ m.name() }</option> }) }
                    </select>
                </label>
                <label title="Off: a slice the model calls no-tumour (p < 0.5) gets no predicted mask, as gated Dice counts it">
                    <input type="checkbox" data-testid="masks-on-negatives" checked={s.view.masks_on_negatives} onchange={on_negatives} />
                    { " Show masks on slices called no-tumour" }
                </label>
                <label>{ "Zoom " }
                    <input type="range" min="0" max="6" step="1" value={s.view.zoom.to_string()} data-testid="zoom" oninput={on_zoom} aria-valuetext={zoom_label.clone()} />
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
