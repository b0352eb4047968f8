//! The page's worker: Trunk builds this binary for wasm32 as a Web Worker
//! (`data-type="worker"`). It owns the device and the model; the page only shows results.

#[cfg(target_arch = "wasm32")]
fn main() {
    // Static constructors (the registries of cubecl's WebGPU compiler) run once, here. Without
    // this explicit call wasm-ld links the binary as a "command" and wraps every export in a
    // call to them: every allocation the JS glue makes re-ran them all, 8% of an analysis in the
    // worker's profile (docs/page-speed.md, `tests/bench/profile-worker.mjs`).
    unsafe extern "C" {
        fn __wasm_call_ctors();
    }
    unsafe { __wasm_call_ctors() };
    camseg::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("camseg-worker is the page's Web Worker: build and serve it with `trunk serve` (see README.md)");
    std::process::exit(2);
}
