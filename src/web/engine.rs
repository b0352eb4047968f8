//! Backend choice, loading files the app ships, and running the core pipeline.

use crate::card::ModelCard;
use crate::ui::state::Backend;
use crate::{Error, Result};
use burn::tensor::Device;
use gloo::net::http::Request;

/// WebGPU when the browser has an adapter, otherwise the pure-Rust CPU backend. The reason
/// for falling back comes with it, for the page to show.
pub async fn pick_device() -> (Device, Backend, Option<String>) {
    let has_gpu = web_sys::window()
        .map(|w| js_sys::Reflect::has(&w.navigator(), &"gpu".into()).unwrap_or(false))
        .unwrap_or(false);
    if !has_gpu {
        return (Device::flex(), Backend::Cpu, Some("this browser has no WebGPU".into()));
    }
    match Device::wgpu_options().init_async().await {
        Ok(device) => (device, Backend::WebGpu, None),
        // A failed init must not be retried or used: remember the CPU choice.
        Err(e) => (Device::flex(), Backend::Cpu, Some(format!("no WebGPU adapter ({e})"))),
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

/// The built-in model: card and weights.
pub async fn load_builtin_model(base: &str) -> Result<(ModelCard, Vec<u8>)> {
    let card_bytes = fetch_bytes(&format!("{base}.json")).await?;
    let card = ModelCard::from_json(&String::from_utf8_lossy(&card_bytes))?;
    let weights = fetch_bytes(&format!("{base}.bpk")).await?;
    Ok((card, weights))
}

pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}
