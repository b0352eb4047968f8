//! The page's probe of WebGPU, made on its own thread before the main worker starts: what it
//! finds decides which build of the worker starts ([`crate::protocol::decide`]), and the worker
//! is told it instead of asking again.

use crate::protocol::Adapter;
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// The browser's default adapter, described (not kept).
pub async fn probe() -> Adapter {
    let gpu = get(&get(&js_sys::global(), "navigator"), "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Adapter::NoWebGpu;
    }
    let Ok(request) = get(&gpu, "requestAdapter").dyn_into::<js_sys::Function>() else { return Adapter::NoWebGpu };
    let Ok(promise) = request.call0(&gpu) else { return Adapter::NoAdapter };
    let adapter = match JsFuture::from(js_sys::Promise::from(promise)).await {
        Ok(a) if !a.is_null() && !a.is_undefined() => a,
        _ => return Adapter::NoAdapter,
    };
    let info = get(&adapter, "info");
    let field = |key: &str| get(&info, key).as_string().unwrap_or_default();
    let fallback = get(&info, "isFallbackAdapter").as_bool().or_else(|| get(&adapter, "isFallbackAdapter").as_bool()).unwrap_or(false);
    Adapter::from_info(&field("vendor"), &field("architecture"), &field("device"), &field("description"), fallback)
}
