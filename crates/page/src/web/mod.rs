//! The page (wasm32 only, main thread): [`app`] owns the state and the [`link`] to the worker
//! that does all the computing (see [`crate::worker`]) and hands the views a [`ctx::Ctx`];
//! [`views`] render the state, [`files`] moves bytes in and out, [`canvas`] draws pixels. No
//! model code runs here.

mod adapter;
mod app;
mod canvas;
mod ctx;
mod files;
mod js;
mod link;
mod remembered;
mod storage;
mod timeline;
mod views;

/// Mounts the app. A panic is shown on the page (in the `error` element) as well as in the
/// console, so a failure is never a silently frozen page.
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        let message = format!("internal error: {info}");
        web_sys::console::error_1(&message.clone().into());
        if let Some(el) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.query_selector("[data-testid=error]").ok().flatten()) {
            el.set_text_content(Some(&message));
        }
    }));
    yew::Renderer::<app::App>::new().render();
}

/// Offline use after the first visit: `sw.js` keeps the app's own files. Registered once the
/// first heatmap is on screen (a page that never gets that far is not worth keeping offline):
/// its install fetches every file of the app, which on a first visit would compete with the
/// worker's wasm and the first analysis. Browsers without service workers (or a page opened
/// from a file) simply do without.
pub(crate) fn register_service_worker() {
    let container = js::get(&js::get(&js_sys::global(), "navigator"), "serviceWorker");
    if container.is_undefined() {
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = js::call(&container, "register", &["sw.js".into()]).await {
            web_sys::console::warn_1(&format!("offline support is unavailable: {e}").into());
        }
    });
}
