//! The page's entry point: Trunk builds this binary for wasm32.

#[cfg(target_arch = "wasm32")]
fn main() {
    camseg_page::web::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("camseg-web is the browser app: build and serve it with `trunk serve` (see README.md)");
    std::process::exit(2);
}
