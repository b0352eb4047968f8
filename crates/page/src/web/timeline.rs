//! The page's clock and its marks on the browser's performance timeline.

/// Milliseconds since navigation (`performance.now()`).
pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

/// A mark on the page's performance timeline (`camseg:NAME`): where the first heatmap's time
/// goes, read by `tests/bench/page.mjs`.
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(&format!("camseg:{name}"));
    }
}
