//! The Trust panel for the image on screen: the map as the model is randomised from the top
//! down (with how like the original each stays), the deletion, insertion and ROAD curves, the
//! pointing game, and how to read each.

use super::{fmt, inline_svg};
use crate::faithfulness::{ImageTrust, RANDOMISATION_CUT};
use crate::figures::{line_chart_svg, Chart, Series};
use crate::render::{heatmap_rgba, ColourMap};
use crate::ui::state::asked::Asked;
use crate::web::canvas;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TrustProps {
    pub check: Asked<ImageTrust>,
    /// The image on screen, and whether a check of it can be asked for.
    pub selected: Option<crate::protocol::ItemId>,
    pub can_check: bool,
    pub colour_map: ColourMap,
    pub on_check: Callback<()>,
}

fn curves_svg(t: &ImageTrust) -> Option<String> {
    let line = |label: &str, v: &[f64]| Series { label: label.into(), points: v.iter().enumerate().map(|(i, &p)| ((i * 5) as f32, p)).collect() };
    let chart = Chart { title: "p(lesion) as pixels go or come back, hottest first", x_label: "% of pixels", y_label: "p", x: 0.0..100.0, y: 0.0..1.0, size: (460, 260) };
    line_chart_svg(&chart, &[line("deletion (blanked)", &t.deletion), line("ROAD (imputed)", &t.road), line("insertion (into a blur)", &t.insertion)]).ok()
}

#[function_component(TrustView)]
pub fn trust_view(p: &TrustProps) -> Html {
    let strip_ref = use_node_ref();
    let shown: Option<Rc<ImageTrust>> = p.check.for_item(p.selected).cloned();
    let svg = use_memo(shown.clone(), |t| t.as_ref().and_then(|t| curves_svg(t)));
    {
        let (strip_ref, shown, cmap) = (strip_ref.clone(), shown.clone(), p.colour_map);
        use_effect_with((shown.as_ref().map(|t| Rc::as_ptr(t) as usize), cmap), move |_| {
            let (Some(t), Some(strip)) = (shown, strip_ref.cast::<web_sys::Element>()) else { return };
            let canvases = strip.get_elements_by_tag_name("canvas");
            for (i, map) in std::iter::once(&t.map).chain(t.randomisation.iter().map(|r| &r.map)).enumerate() {
                if let Some(c) = canvases.item(i as u32).and_then(|c| c.dyn_into::<HtmlCanvasElement>().ok()) {
                    let _ = canvas::draw_rgba(&c, map.width, map.height, &heatmap_rgba(map, cmap));
                }
            }
        });
    }
    let status = if p.check.pending {
        "checking in the worker…".to_string()
    } else if let Some(e) = &p.check.error {
        e.clone()
    } else {
        String::new()
    };
    html! {
        <section class="panel trust" id="trust" data-testid="trust-panel">
            <h2>{ "Can this heatmap be trusted?" }</h2>
            <div class="row">
                <button class="primary" data-testid="trust-check" onclick={p.on_check.reform(|_: MouseEvent| ())} disabled={!p.can_check || p.check.pending}>{ "Check the heatmap on screen" }</button>
                <span class="note" data-testid="trust-status">{ status }</span>
            </div>
            if let Some(t) = shown.as_deref() {
                <p data-testid="trust-verdict">
                    { format!("{} at block {}: ", t.method.label(), t.block) }
                    <strong>{ if t.fails_randomisation { "fails the randomisation check" } else { "passes the randomisation check" } }</strong>
                    { format!(" (the map once the head and the blocks from {} up are random keeps a rank correlation of {} with the original; above {RANDOMISATION_CUT} it shows the image, not what the model learnt).", t.block, fmt(t.randomisation.get(t.randomisation.len().saturating_sub(1 + t.block)).map(|r| r.spearman), 2)) }
                </p>
                <div class="strip" ref={strip_ref} data-testid="trust-strip">
                    <figure><canvas class="thumb" width="96" height="96"></canvas><figcaption>{ format!("original, p {:.2}", t.probability) }</figcaption></figure>
                    { for t.randomisation.iter().map(|r| html! {
                        <figure data-testid="trust-step"><canvas class="thumb" width="96" height="96"></canvas>
                            <figcaption>{ format!("{} random: ρ {:.2}, SSIM {:.2}", r.randomised, r.spearman, r.ssim) }</figcaption></figure>
                    }) }
                </div>
                <p>{ "Model randomisation (Adebayo et al., 2018): the classifier's head, then each block from the top down, is replaced by fresh random weights and the map is made again. A map that explains the model must change when the model does; one that stays the same shows edges and brightness of the image." }</p>
                if let Some(svg) = (*svg).clone() { <figure class="chart" data-testid="trust-curves">{ inline_svg(svg) }</figure> }
                <p data-testid="trust-aucs">
                    { "Areas under the curves: deletion " }<strong data-testid="trust-deletion">{ format!("{:.3}", t.deletion_auc) }</strong>
                    { ", ROAD " }<strong data-testid="trust-road">{ format!("{:.3}", t.road_auc) }</strong>{ " (lower: the hottest pixels matter most to p), insertion " }
                    <strong data-testid="trust-insertion">{ format!("{:.3}", t.insertion_auc) }</strong>{ " (higher is better). ROAD fills removed pixels from their neighbours, so the model is not fooled by the black holes deletion leaves (Rong et al., 2022)." }
                </p>
                <p data-testid="trust-pointing">{ match t.pointing_hit {
                    Some(true) => "Pointing game: the map's peak is inside the true mask (a hit).".to_string(),
                    Some(false) => "Pointing game: the map's peak is outside the true mask (a miss).".to_string(),
                    None => "Pointing game: n/a (this image has no lesion mask).".to_string(),
                } }</p>
            }
        </section>
    }
}
