//! Browser APIs that web-sys does not bind for this crate (OPFS, WebGPU, service workers),
//! reached by name.

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// `target[key]`, or `undefined`.
pub fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// A thrown value's message, for the page's words.
pub fn describe(e: JsValue) -> String {
    Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_else(|| format!("{e:?}"))
}

/// Calls `target.method(args…)` and awaits the promise it returns.
pub async fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let f: js_sys::Function = get(target, method).dyn_into().map_err(|_| format!("this browser has no {method}"))?;
    let promise = f.apply(target, &args.iter().collect::<Array>()).map_err(describe)?;
    JsFuture::from(js_sys::Promise::resolve(&promise)).await.map_err(describe)
}
