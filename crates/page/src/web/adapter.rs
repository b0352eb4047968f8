//! The page's probe of WebGPU, made on its own thread before the main worker starts: what it
//! finds decides which build of the worker starts ([`crate::protocol::decide`]), and the worker
//! is told it instead of asking again.

use super::js::{call, get};
use crate::protocol::Adapter;

/// The browser's default adapter, described (not kept).
pub async fn probe() -> Adapter {
    let gpu = get(&js_sys::global(), "navigator");
    let gpu = get(&gpu, "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Adapter::NoWebGpu;
    }
    let adapter = match call(&gpu, "requestAdapter", &[]).await {
        Ok(a) if !a.is_null() && !a.is_undefined() => a,
        _ => return Adapter::NoAdapter,
    };
    let info = get(&adapter, "info");
    let field = |key: &str| get(&info, key).as_string().unwrap_or_default();
    let fallback = get(&info, "isFallbackAdapter").as_bool().or_else(|| get(&adapter, "isFallbackAdapter").as_bool()).unwrap_or(false);
    Adapter::from_info(&field("vendor"), &field("architecture"), &field("device"), &field("description"), fallback)
}
