//! Which device the worker computes on. WebGPU runs inside the worker (`navigator.gpu` exists
//! in dedicated workers). On a hardware adapter nobody has timed, both backends are timed on
//! the first images ([`crate::session::Session::measure`]) and the faster kept; the page
//! remembers the verdict per adapter. A software adapter (Chromium's SwiftShader) is several
//! times slower than the CPU for this network, so the CPU is chosen there and the page says
//! why; `?backend=webgpu` forces WebGPU and `?backend=measure` a measurement on any adapter.

use crate::protocol::{Backend, BackendChoice, Measured};
use burn::tensor::Device;
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// The browser's default adapter, not kept: its name, and whether it is a software renderer.
struct Adapter {
    name: String,
    software: Option<String>,
}

async fn adapter(gpu: &JsValue) -> Result<Adapter, String> {
    let request = get(gpu, "requestAdapter").dyn_into::<js_sys::Function>().map_err(|_| "this browser has no WebGPU".to_string())?;
    let promise = request.call0(gpu).map_err(|_| "no WebGPU adapter found".to_string())?;
    let adapter = JsFuture::from(js_sys::Promise::from(promise)).await.map_err(|_| "no WebGPU adapter found".to_string())?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("no WebGPU adapter found".into());
    }
    let info = get(&adapter, "info");
    let field = |key: &str| get(&info, key).as_string().unwrap_or_default();
    let name = ["vendor", "architecture", "device", "description"].map(field).into_iter().filter(|f| !f.is_empty()).collect::<Vec<_>>().join(" ");
    let fallback = get(&info, "isFallbackAdapter").as_bool().or_else(|| get(&adapter, "isFallbackAdapter").as_bool()).unwrap_or(false);
    let architecture = field("architecture");
    let software = (fallback || architecture.to_ascii_lowercase().contains("swiftshader")).then(|| {
        format!("the WebGPU adapter is a software renderer{}, slower than the CPU for this network; add ?backend=webgpu to the address to use it anyway, or ?backend=measure to time both", if architecture.is_empty() { String::new() } else { format!(" ({architecture})") })
    });
    Ok(Adapter { name, software })
}

/// What the worker starts on: the device, which backend it is, why (when that needs saying),
/// and the adapter on which both backends are to be timed, when they are.
pub struct Pick {
    pub device: Device,
    pub backend: Backend,
    pub note: Option<String>,
    pub measure: Option<String>,
}

fn cpu(why: String) -> Pick {
    Pick { device: Device::flex(), backend: Backend::Cpu, note: Some(why), measure: None }
}

async fn webgpu(note: Option<String>, measure: Option<String>) -> Pick {
    match Device::wgpu_options().init_async().await {
        Ok(device) => Pick { device, backend: Backend::WebGpu, note, measure },
        // A failed init must not be retried or used: remember the CPU choice.
        Err(e) => {
            web_sys::console::warn_1(&format!("WebGPU init failed: {e}").into());
            cpu("no WebGPU adapter found".into())
        }
    }
}

/// The device for `choice`. Unforced, an adapter measured on an earlier visit (`known`) gets
/// the faster backend of that measurement; a new hardware adapter is measured; a software one
/// gets the CPU.
pub async fn pick(choice: BackendChoice, known: &[Measured]) -> Pick {
    if choice == BackendChoice::Cpu {
        return cpu("CPU chosen in the address (?backend=cpu)".into());
    }
    let gpu = get(&js_sys::global(), "navigator");
    let gpu = get(&gpu, "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return cpu("this browser has no WebGPU".into());
    }
    if choice == BackendChoice::WebGpu {
        return webgpu(None, None).await;
    }
    let adapter = match adapter(&gpu).await {
        Ok(adapter) => adapter,
        Err(why) => return cpu(why),
    };
    if choice == BackendChoice::Auto {
        if let Some(m) = known.iter().find(|m| m.adapter == adapter.name) {
            let note = format!("remembered from an earlier visit, {}", m.note());
            return match m.faster() {
                Backend::Cpu => cpu(note),
                Backend::WebGpu => webgpu(Some(note), None).await,
            };
        }
        if let Some(why) = adapter.software {
            return cpu(why);
        }
    }
    webgpu(Some("timing WebGPU against the CPU on the first images".into()), Some(adapter.name)).await
}
