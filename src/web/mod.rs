//! The browser app (wasm32 only): [`app`] owns the state and the engine, [`views`] render the
//! state, [`engine`] runs the core maths on the chosen device, [`files`] moves bytes in and out.

mod app;
mod canvas;
mod engine;
mod files;
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
