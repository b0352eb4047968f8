//! "How the heatmap is made", for teaching: the chosen block's feature maps, the weight the
//! method gives each, their weighted sum, the ReLU, the upsampling and the cut, for the image
//! on screen and the model in use. Picking a channel follows its part through the steps.

use crate::cam::steps::{CamSteps, ChannelPart};
use crate::cam::CamMethod;
use crate::masks::Threshold;
use crate::plane::Plane;
use crate::render::{grey_rgba, heatmap_rgba, largest_magnitude, overlay_rgba, signed_rgba, ColourMap};
use crate::ui::state::asked::Asked;
use crate::web::canvas;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct StepsProps {
    pub steps: Asked<CamSteps>,
    /// The image on screen (its pixels are the last step's background).
    pub selected: Option<crate::protocol::ItemId>,
    pub image: Option<Rc<Plane>>,
    pub channel: Option<usize>,
    pub threshold: Threshold,
    pub colour_map: ColourMap,
    /// The method and block now chosen (an answer for others is marked as such).
    pub method: Option<CamMethod>,
    pub block: usize,
    pub can_ask: bool,
    pub on_ask: Callback<()>,
    pub on_channel: Callback<usize>,
}

/// How the plain CAM weighs a channel, in words.
fn weight_rule(base: CamMethod) -> &'static str {
    match base {
        CamMethod::GradCam => "Grad-CAM gives each channel one weight: the gradient of the lesion score with respect to that channel, averaged over its positions. A positive weight means more of this pattern would raise p(lesion).",
        CamMethod::GradCamPlusPlus => "Grad-CAM++ gives each channel one weight: its positive gradients, each scaled by a factor α (Chattopadhay et al., 2018), summed over positions, so that a small hot region counts as much as a large one.",
        CamMethod::HiResCam => "HiResCAM does not average: every position of every channel is weighted by its own gradient (Draelos and Carin, 2020), so the sum follows the gradient exactly. Weights differ by position; the number shown is their mean.",
        _ => "LayerCAM weighs every position by the positive part of its own gradient (Jiang et al., 2021): evidence against the lesion is dropped before the sum. Weights differ by position; the number shown is their mean.",
    }
}

/// What a composite method does after the plain CAM whose steps are shown.
fn then(method: CamMethod, base: CamMethod) -> Option<String> {
    let rest = match method {
        CamMethod::Fusion => "averages it with the block before's, weighs it by the scan's own brightness rule, keeps the region joined to the peak and fills its holes",
        CamMethod::LayerCamMulti => "averages it with the LayerCAM maps of the blocks below at the image's size, keeps the region joined to the peak and fills its holes",
        CamMethod::LayerCamWalk => "averages the blocks' LayerCAM maps, spreads the result by a random walk over pixels the first block's features call alike, then keeps the region joined to the peak",
        _ => return None,
    };
    Some(format!("{} starts from {}'s map, whose steps these are; it then {rest}.", method.label(), base.label()))
}

fn mean(p: &Plane) -> f32 {
    p.data.iter().sum::<f32>() / p.data.len().max(1) as f32
}

/// Every picture of the view as (key, width, height, RGBA), and the mask's area: made once
/// per answer and choice, not per render.
struct Drawn {
    pictures: Vec<(String, usize, usize, Vec<u8>)>,
    cut_area: usize,
}

fn pictures(s: &CamSteps, channel: Option<&ChannelPart>, image: Option<&Plane>, threshold: Threshold, cmap: ColourMap) -> Drawn {
    let mut out = Vec::new();
    let mut add = |key: String, p: &Plane, rgba: Vec<u8>| out.push((key, p.width, p.height, rgba));
    for part in &s.parts {
        add(format!("a{}", part.channel), &part.activation, grey_rgba(&part.activation));
    }
    let scale = largest_magnitude(&s.sum);
    if let Some(part) = channel {
        add("act".into(), &part.activation, grey_rgba(&part.activation));
        add("weight".into(), &part.weight, signed_rgba(&part.weight, largest_magnitude(&part.weight)));
        add("part".into(), &part.contribution, signed_rgba(&part.contribution, scale));
    }
    add("sum".into(), &s.sum, signed_rgba(&s.sum, scale));
    add("relu".into(), &s.relu, signed_rgba(&s.relu, scale));
    add("heat".into(), &s.heatmap, heatmap_rgba(&s.heatmap, cmap));
    let mask = threshold.apply(&s.heatmap);
    if let Some(image) = image.filter(|im| (im.width, im.height) == (s.heatmap.width, s.heatmap.height)) {
        add("cut".into(), &s.heatmap, overlay_rgba(image, &s.heatmap, cmap, 0.0, Some(&mask), None));
    }
    Drawn { pictures: out, cut_area: mask.area() }
}

/// The channel picked, if the answer shows it.
fn picked(s: &CamSteps, channel: Option<usize>) -> Option<&ChannelPart> {
    s.parts.iter().find(|c| Some(c.channel) == channel)
}

fn picture(key: &str, caption: Html) -> Html {
    html! { <figure><canvas class="thumb pixelated" data-draw={key.to_string()} width="96" height="96"></canvas><figcaption>{ caption }</figcaption></figure> }
}

#[function_component(StepsView)]
pub fn steps_view(p: &StepsProps) -> Html {
    let root = use_node_ref();
    let shown: Option<Rc<CamSteps>> = p.steps.for_item(p.selected).cloned();
    let image = p.image.clone();
    // What the pictures depend on, by identity: they are made once per answer and choice.
    let key = (shown.as_ref().map(|s| Rc::as_ptr(s) as usize), p.channel, p.threshold, p.colour_map, image.as_ref().map(|i| Rc::as_ptr(i) as usize));
    let drawn = use_memo(key, {
        let (shown, channel, image, threshold, cmap) = (shown.clone(), p.channel, image.clone(), p.threshold, p.colour_map);
        move |_| shown.map(|s| pictures(&s, picked(&s, channel), image.as_deref(), threshold, cmap))
    });
    {
        let (root, drawn) = (root.clone(), drawn.clone());
        use_effect_with(key, move |_| {
            let (Some(root), Some(drawn)) = (root.cast::<web_sys::Element>(), drawn.as_ref().as_ref()) else { return };
            let canvases = root.get_elements_by_tag_name("canvas");
            for i in 0..canvases.length() {
                let Some(c) = canvases.item(i).and_then(|c| c.dyn_into::<HtmlCanvasElement>().ok()) else { continue };
                let key = c.get_attribute("data-draw").unwrap_or_default();
                if let Some((_, w, h, rgba)) = drawn.pictures.iter().find(|(k, ..)| *k == key) {
                    let _ = canvas::draw_rgba(&c, *w, *h, rgba);
                }
            }
        });
    }
    let status = if p.steps.pending {
        "taking the map apart in the worker…".to_string()
    } else if let Some(e) = &p.steps.error {
        e.clone()
    } else if shown.is_some() && !p.method.is_some_and(|m| p.steps.answers(p.selected, m, p.block)) {
        "These are the steps of the method and block chosen before; take the map apart again for the current ones.".to_string()
    } else {
        String::new()
    };
    html! {
        <section class="panel steps" id="steps" data-testid="steps-panel" ref={root}>
            <h2>{ "How the heatmap is made" }</h2>
            <div class="row">
                <button class="primary" data-testid="steps-ask" onclick={p.on_ask.reform(|_: MouseEvent| ())} disabled={!p.can_ask || p.steps.pending}>{ "Take the heatmap on screen apart" }</button>
                <span class="note" data-testid="steps-status">{ status }</span>
            </div>
            if let Some(s) = shown.as_deref() {
                { steps_body(s, picked(s, p.channel), drawn.as_ref().as_ref().map_or(0, |d| d.cut_area), p) }
            }
        </section>
    }
}

fn steps_body(s: &CamSteps, part: Option<&ChannelPart>, cut_area: usize, p: &StepsProps) -> Html {
    let net: f32 = s.sum.data.iter().sum();
    let share = |total: f32| if net.abs() > 0.0 { format!("{:+.0}% of the sum", 100.0 * total / net) } else { format!("{total:+.3}") };
    let weight_text = |c: &ChannelPart| if c.weight.data.len() == 1 { format!("weight {:+.4}", c.weight.data[0]) } else { format!("mean weight {:+.4}", mean(&c.weight)) };
    let (w, h) = (s.sum.width, s.sum.height);
    let adding = s.parts.iter().filter(|c| c.total > 0.0).count();
    html! {
        <>
            <p data-testid="steps-summary">
                { format!("{} at block {} of the model, on the image on screen (p(lesion) {:.2}): {} feature maps of {w} × {h}.", s.base.label(), s.block, s.probability, s.channels) }
                if let Some(t) = then(s.method, s.base) { { " " }{ t } }
            </p>
            <ol class="how">
                <li>
                    <strong>{ "Feature maps. " }</strong>
                    { format!("Each channel of the block answers to one pattern; bright is strong. These are the {adding} that add most to the lesion score, then the {} that take most from it. Pick one to follow it.", s.parts.len() - adding) }
                    <div class="strip" data-testid="steps-channels">
                        { for s.parts.iter().map(|c| {
                            let on_channel = p.on_channel.clone();
                            let channel = c.channel;
                            html! {
                                <button class={classes!("channel", (Some(c.channel) == p.channel).then_some("picked"))} data-testid="steps-channel" aria-pressed={(Some(c.channel) == p.channel).to_string()}
                                    onclick={Callback::from(move |_: MouseEvent| on_channel.emit(channel))}>
                                    <canvas class="thumb pixelated" data-draw={format!("a{}", c.channel)} width="96" height="96"></canvas>
                                    <span>{ format!("#{} · {} · {}", c.channel, weight_text(c), share(c.total)) }</span>
                                </button>
                            }
                        }) }
                    </div>
                </li>
                <li>
                    <strong>{ "Weights. " }</strong>{ weight_rule(s.base) }
                    if let Some(c) = part {
                        <div class="strip" data-testid="steps-detail">
                            { picture("act", html! { { format!("channel #{}", c.channel) } }) }
                            { picture("weight", html! { { format!("× {}", weight_text(c)) } }) }
                            { picture("part", html! { { format!("= its part: {}", share(c.total)) } }) }
                        </div>
                    } else {
                        <p class="note">{ "Pick a channel above to see its map times its weight." }</p>
                    }
                </li>
                <li>
                    <strong>{ "Weighted sum. " }</strong>
                    { format!("Every one of the {} channels times its weight, added up: red raises the lesion score, blue lowers it.", s.channels) }
                    <div class="strip">{ picture("sum", html! { { "sum of all channels" } }) }</div>
                </li>
                <li>
                    <strong>{ "ReLU. " }</strong>{ "Only the positive part is kept: the map shows evidence for a lesion, not against it." }
                    <div class="strip">{ picture("relu", html! { { format!("{w} × {h} map") } }) }</div>
                </li>
                <li>
                    <strong>{ "Upsampling. " }</strong>
                    { format!("The {w} × {h} map is stretched to the image's {} × {} pixels (bilinear) and scaled so that its hottest point is 1. This is why a deep block's heatmap is blurred.", s.heatmap.width, s.heatmap.height) }
                    <div class="strip">{ picture("heat", html! { { "the heatmap" } }) }</div>
                </li>
                <li>
                    <strong>{ "The cut. " }</strong>
                    { format!("Pixels at or above the threshold ({}) are the mask, drawn in green.", match p.threshold { Threshold::Fixed(t) => format!("{t:.2}"), Threshold::Otsu => "Otsu's".into() }) }
                    <div class="strip" data-testid="steps-cut">{ picture("cut", html! { { format!("mask: {cut_area} pixels") } }) }</div>
                </li>
            </ol>
        </>
    }
}
