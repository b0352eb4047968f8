//! The page: one component that shows [`PageState`] and, on load, runs the demo: pick a
//! backend, load the built-in model and phantom, draw the Grad-CAM overlay, show probability
//! and Dice.

use super::{canvas, engine};
use crate::data::{decode_image, decode_mask};
use crate::masks::Mask;
use crate::metrics;
use crate::pipeline::analyse;
use crate::plane::Plane;
use crate::render::{overlay_rgba, ColourMap, PREDICTED, TRUTH};
use crate::ui::state::{Action, PageState, Shown};
use crate::Result;
use std::rc::Rc;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

const MODEL: &str = "models/phantom";
const DEMO_IMAGE: &str = "demo/images/phantom_00001.png";
const DEMO_MASK: &str = "demo/masks/phantom_00001.png";

#[derive(Clone, Default, PartialEq)]
struct Store(PageState);

impl Reducible for Store {
    type Action = Action;
    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        Rc::new(Store(self.0.clone().reduce(action)))
    }
}

/// What the demo drew, for the canvas.
struct Picture {
    width: usize,
    height: usize,
    rgba: Vec<u8>,
}

async fn run_demo(dispatch: &UseReducerDispatcher<Store>, started: f64) -> Result<Picture> {
    dispatch.dispatch(Action::Working("choosing a backend".into()));
    let (device, backend, note) = engine::pick_device().await;
    dispatch.dispatch(Action::BackendChosen { backend, note });
    dispatch.dispatch(Action::Working("loading the built-in model".into()));
    let (card, weights) = engine::load_builtin_model(MODEL).await?;
    let model = card.load(weights, &device)?;
    dispatch.dispatch(Action::ModelLoaded(card.name.clone()));
    let image: Plane = decode_image(&engine::fetch_bytes(DEMO_IMAGE).await?, DEMO_IMAGE, card.input.channel)?;
    let truth: Mask = decode_mask(&engine::fetch_bytes(DEMO_MASK).await?, DEMO_MASK)?;
    crate::data::decode::check_mask_size(&truth, image.width, image.height, DEMO_MASK)?;
    dispatch.dispatch(Action::Working("computing the heatmap".into()));
    let analysis = analyse(&model, &card.input, &[&image], card.cam.block, card.cam.method, &device).await?.remove(0);
    let predicted = analysis.mask(card.cam.threshold);
    let dice = (!truth.is_empty()).then(|| metrics::dice(&predicted, &truth));
    let rgba = overlay_rgba(&image, &analysis.heatmap, ColourMap::Turbo, 0.5, Some(&predicted), Some(&truth));
    dispatch.dispatch(Action::Analysed(Shown {
        image: DEMO_IMAGE.rsplit('/').next().unwrap_or(DEMO_IMAGE).into(),
        probability: analysis.probability,
        dice,
        method: card.cam.method.label().into(),
        threshold: card.cam.threshold.to_string(),
        millis: engine::now_ms() - started,
    }));
    Ok(Picture { width: image.width, height: image.height, rgba })
}

fn css(rgb: [u8; 3]) -> String {
    format!("color: rgb({}, {}, {})", rgb[0], rgb[1], rgb[2])
}

#[function_component(App)]
pub fn app() -> Html {
    let store = use_reducer(Store::default);
    let canvas_ref = use_node_ref();
    {
        let dispatch = store.dispatcher();
        let canvas_ref = canvas_ref.clone();
        use_effect_with((), move |_| {
            let started = engine::now_ms();
            wasm_bindgen_futures::spawn_local(async move {
                match run_demo(&dispatch, started).await {
                    Ok(picture) => {
                        if let Some(c) = canvas_ref.cast::<HtmlCanvasElement>() {
                            if let Err(e) = canvas::draw_rgba(&c, picture.width, picture.height, &picture.rgba) {
                                dispatch.dispatch(Action::Failed(e));
                            }
                        }
                    }
                    Err(e) => dispatch.dispatch(Action::Failed(e.to_string())),
                }
            });
        });
    }
    let s = &store.0;
    let backend = s.backend.map(|b| b.label()).unwrap_or("starting…");
    html! {
        <main>
            <header>
                <h1>{ "camseg" }</h1>
                <p class="lede">{ "Tumour segmentation from a classifier's Grad-CAM, computed in your browser. Nothing leaves this machine." }</p>
            </header>
            <section class="facts">
                <div>{ "Backend: " }<strong data-testid="backend">{ backend }</strong>
                    { for s.backend_note.as_ref().map(|n| html! { <span class="note">{ format!(" ({n})") }</span> }) }</div>
                <div>{ "Model: " }<strong data-testid="model">{ s.model.clone().unwrap_or_default() }</strong></div>
                <div>{ "Tumour probability: " }<strong data-testid="probability">{ s.shown.as_ref().map(|r| format!("{:.4}", r.probability)).unwrap_or_default() }</strong></div>
                <div>{ "Dice vs true mask: " }<strong data-testid="dice">{ s.shown.as_ref().and_then(|r| r.dice).map(|d| format!("{d:.4}")).unwrap_or_default() }</strong></div>
                <div>{ "CAM: " }<span data-testid="method">{ s.shown.as_ref().map(|r| format!("{} at threshold {}", r.method, r.threshold)).unwrap_or_default() }</span></div>
                <div class="status" data-testid="status">{ &s.status }</div>
                <div data-testid="first-heatmap-ms" hidden=true>{ s.shown.as_ref().map(|r| format!("{:.0}", r.millis)).unwrap_or_default() }</div>
            </section>
            <figure>
                <canvas ref={canvas_ref} data-testid="heatmap-canvas" width="128" height="128"></canvas>
                <figcaption>
                    { "Heatmap over the scan; " }<span style={css(PREDICTED)}>{ "green: predicted mask" }</span>
                    { ", " }<span style={css(TRUTH)}>{ "magenta: true mask" }</span>{ "." }
                </figcaption>
            </figure>
            <p class="error" data-testid="error" role="alert">{ s.error.clone().unwrap_or_default() }</p>
            <section class="explain">
                <h2>{ "What you are looking at" }</h2>
                <p>{ "A small network was trained only to answer \"tumour or not?\". Grad-CAM asks which parts of its feature maps pushed that answer towards \"tumour\": it weighs each feature map by the average gradient of the tumour score and keeps the positive sum (Grad-CAM++, the variant this model's card recommends, weighs the gradients pixel by pixel instead). Thresholding that heatmap gives a mask, scored against the true outline with the Dice coefficient (1 = perfect overlap)." }</p>
            </section>
        </main>
    }
}
