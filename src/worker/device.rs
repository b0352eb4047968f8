//! Which device the worker computes on. WebGPU runs inside the worker (`navigator.gpu` exists
//! in dedicated workers). A software adapter (Chromium's SwiftShader) is several times slower
//! than the CPU backend for this network, so by default the CPU is chosen there, and the page
//! says why; `?backend=webgpu` still forces WebGPU (the tests use it to keep it covered).

use crate::protocol::{Backend, BackendChoice};
use burn::tensor::Device;
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// What the browser's default adapter is, without keeping it: `Ok(None)` for a hardware
/// adapter, `Ok(Some(why))` for a software one, `Err(why)` when there is none.
async fn software_adapter(gpu: &JsValue) -> Result<Option<String>, String> {
    let request = get(gpu, "requestAdapter").dyn_into::<js_sys::Function>().map_err(|_| "this browser has no WebGPU".to_string())?;
    let promise = request.call0(gpu).map_err(|_| "no WebGPU adapter found".to_string())?;
    let adapter = JsFuture::from(js_sys::Promise::from(promise)).await.map_err(|_| "no WebGPU adapter found".to_string())?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("no WebGPU adapter found".into());
    }
    let info = get(&adapter, "info");
    let fallback = get(&info, "isFallbackAdapter").as_bool().or_else(|| get(&adapter, "isFallbackAdapter").as_bool()).unwrap_or(false);
    let architecture = get(&info, "architecture").as_string().unwrap_or_default();
    Ok((fallback || architecture.to_ascii_lowercase().contains("swiftshader")).then(|| {
        format!("the WebGPU adapter is a software renderer{}, slower than the CPU for this network; add ?backend=webgpu to the address to use it anyway", if architecture.is_empty() { String::new() } else { format!(" ({architecture})") })
    }))
}

/// The device for `choice`, the backend it is, and why it is not WebGPU when it is not.
pub async fn pick(choice: BackendChoice) -> (Device, Backend, Option<String>) {
    let cpu = |why: String| (Device::flex(), Backend::Cpu, Some(why));
    if choice == BackendChoice::Cpu {
        return cpu("CPU chosen in the address (?backend=cpu)".into());
    }
    let gpu = get(&js_sys::global(), "navigator");
    let gpu = get(&gpu, "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return cpu("this browser has no WebGPU".into());
    }
    if choice == BackendChoice::Auto {
        match software_adapter(&gpu).await {
            Ok(None) => {}
            Ok(Some(why)) | Err(why) => return cpu(why),
        }
    }
    match Device::wgpu_options().init_async().await {
        Ok(device) => (device, Backend::WebGpu, None),
        // A failed init must not be retried or used: remember the CPU choice.
        Err(e) => {
            web_sys::console::warn_1(&format!("WebGPU init failed: {e}").into());
            cpu("no WebGPU adapter found".into())
        }
    }
}
