//! The side of the page that holds a burn device and a model: backend choice, loading the
//! app's own files, analysing images, fine-tuning. Results go to the page as
//! [`Action`](crate::ui::state::Action)s; nothing here knows about components.

use crate::card::ModelCard;
use crate::cam::CamMethod;
use crate::model::Classifier;
use crate::pipeline::analyse;
use crate::plane::Plane;
use crate::ui::state::{Analysed, Backend, ModelEntry};
use crate::{Error, Result};
use burn::tensor::Device;
use gloo::net::http::Request;
use std::rc::Rc;

/// WebGPU when the browser has an adapter, otherwise the pure-Rust CPU backend. The reason
/// for falling back comes with it, for the page to show. `?backend=cpu` forces the CPU.
pub async fn pick_device() -> (Device, Backend, Option<String>) {
    let forced_cpu = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .is_some_and(|q| q.contains("backend=cpu"));
    if forced_cpu {
        return (Device::flex(), Backend::Cpu, Some("CPU chosen in the address (?backend=cpu)".into()));
    }
    let has_gpu = web_sys::window()
        .map(|w| js_sys::Reflect::has(&w.navigator(), &"gpu".into()).unwrap_or(false))
        .unwrap_or(false);
    if !has_gpu {
        return (Device::flex(), Backend::Cpu, Some("this browser has no WebGPU".into()));
    }
    match Device::wgpu_options().init_async().await {
        Ok(device) => (device, Backend::WebGpu, None),
        // A failed init must not be retried or used: remember the CPU choice.
        Err(e) => {
            web_sys::console::warn_1(&format!("WebGPU init failed: {e}").into());
            (Device::flex(), Backend::Cpu, Some("no WebGPU adapter found".into()))
        }
    }
}

/// A file served beside the page.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>> {
    let response = Request::get(url).send().await.map_err(|e| Error::Invalid(format!("cannot load {url}: {e}")))?;
    if !response.ok() {
        return Err(Error::Invalid(format!("cannot load {url}: HTTP {}", response.status())));
    }
    response.binary().await.map_err(|e| Error::Invalid(format!("cannot read {url}: {e}")))
}

/// Several files served beside the page, all requested at once (the browser runs the requests
/// in parallel), in the order asked.
pub async fn fetch_all(urls: &[String]) -> Result<Vec<Vec<u8>>> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let window = web_sys::window().ok_or_else(|| Error::Invalid("no window".into()))?;
    let fail = |url: &str, why: String| Error::Invalid(format!("cannot load {url}: {why}"));
    let requests: js_sys::Array = urls.iter().map(|u| window.fetch_with_str(u)).collect();
    let responses = JsFuture::from(js_sys::Promise::all(&requests)).await.map_err(|e| fail("the app's files", format!("{e:?}")))?;
    let responses: Vec<web_sys::Response> = js_sys::Array::from(&responses).iter().map(|r| r.unchecked_into()).collect();
    let bodies = js_sys::Array::new();
    for (url, response) in urls.iter().zip(&responses) {
        if !response.ok() {
            return Err(fail(url, format!("HTTP {}", response.status())));
        }
        let body: js_sys::Promise = response.array_buffer().map_err(|e| fail(url, format!("{e:?}")))?;
        bodies.push(&body);
    }
    let bodies = JsFuture::from(js_sys::Promise::all(&bodies)).await.map_err(|e| fail("the app's files", format!("{e:?}")))?;
    Ok(js_sys::Array::from(&bodies).iter().map(|b| js_sys::Uint8Array::new(&b).to_vec()).collect())
}


/// The names in `models/index.json`, in order (the first is the default model).
pub fn model_names(index: &[u8]) -> Result<Vec<String>> {
    serde_json::from_slice(index).map_err(|e| Error::Invalid(format!("models/index.json is not a list of model names ({e})")))
}

/// The device and the model in use, with every known model's weights kept as bytes so a model
/// can be rebuilt on the CPU if the GPU goes away, and downloaded.
pub struct Engine {
    pub device: Device,
    pub backend: Backend,
    /// Weights by model index (the page's `models` list); fetched when first chosen.
    weights: Vec<Option<Rc<Vec<u8>>>>,
    loaded: Option<(usize, Classifier)>,
    /// The last fine-tuned model, until it is kept or replaced.
    pub tuned: Option<Classifier>,
}

impl Engine {
    pub fn new(device: Device, backend: Backend) -> Self {
        Self { device, backend, weights: Vec::new(), loaded: None, tuned: None }
    }

    /// Registers weights for model `index` (e.g. a user's file or a fine-tuned model).
    pub fn set_weights(&mut self, index: usize, bytes: Vec<u8>) {
        if self.weights.len() <= index {
            self.weights.resize(index + 1, None);
        }
        self.weights[index] = Some(Rc::new(bytes));
    }

    pub fn weights(&self, index: usize) -> Option<Rc<Vec<u8>>> {
        self.weights.get(index).cloned().flatten()
    }

    /// Goes on on the CPU: the model is rebuilt there from its bytes on next use.
    pub fn fall_back_to_cpu(&mut self) {
        self.device = Device::flex();
        self.backend = Backend::Cpu;
        self.loaded = None;
        self.tuned = None;
    }
}

/// Takes the model for `index` out of the engine (fetching and decoding it if needed), so that
/// no `RefCell` borrow is held across an await; give it back with [`put_model`].
pub async fn take_model(engine: &std::cell::RefCell<Engine>, index: usize, entry: &ModelEntry) -> Result<(Classifier, Device)> {
    let (cached, device) = {
        let mut e = engine.borrow_mut();
        let cached = match e.loaded.take() {
            Some((i, model)) if i == index => Some(model),
            _ => None,
        };
        (cached, e.device.clone())
    };
    if let Some(model) = cached {
        return Ok((model, device));
    }
    let bytes = match engine.borrow().weights(index) {
        Some(bytes) => bytes,
        None => Rc::new(fetch_bytes(&format!("{}.bpk", entry.source)).await?),
    };
    engine.borrow_mut().set_weights(index, (*bytes).clone());
    let model = entry.card.load((*bytes).clone(), &device)?;
    Ok((model, device))
}

pub fn put_model(engine: &std::cell::RefCell<Engine>, index: usize, model: Classifier) {
    engine.borrow_mut().loaded = Some((index, model));
}

/// Probability and heatmap of each image, in one batch.
pub async fn analyse_images(model: &Classifier, card: &ModelCard, images: &[Rc<Plane>], block: usize, method: CamMethod, device: &Device) -> Result<Vec<Analysed>> {
    let refs: Vec<&Plane> = images.iter().map(|p| p.as_ref()).collect();
    let analyses = analyse(model, &card.input, &refs, block, method, device).await?;
    Ok(analyses.into_iter().map(|a| Analysed { probability: a.probability, heatmap: Rc::new(a.heatmap) }).collect())
}

pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

/// Lets the browser paint and handle input between chunks of work.
pub async fn yield_to_browser() {
    gloo::timers::future::TimeoutFuture::new(0).await;
}
