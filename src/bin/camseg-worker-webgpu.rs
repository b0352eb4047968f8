//! The page's worker with WebGPU (built with `--features wgpu`): started where a hardware
//! adapter is to be timed or used, or where the address asks for WebGPU.

#[cfg(target_arch = "wasm32")]
fn main() {
    camseg::worker::run();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("camseg-worker-webgpu is the page's Web Worker with WebGPU: build and serve it with `trunk serve` (see README.md)");
    std::process::exit(2);
}
