//! The page's worker, the build without WebGPU (the one most visits start: `crate::protocol`'s
//! `decide`): Trunk builds this binary for wasm32 as a Web Worker (`data-type="worker"`). It owns
//! the model; the page only shows results.

#[cfg(target_arch = "wasm32")]
fn main() {
    camseg::worker::run();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("camseg-worker is the page's Web Worker: build and serve it with `trunk serve` (see README.md)");
    std::process::exit(2);
}
