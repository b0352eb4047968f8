//! The page's worker without WebGPU, for browsers with wasm's relaxed SIMD: the same worker as
//! `camseg-worker`, its convolutions' products fused multiply-adds (the `relaxed` feature). The
//! page starts it where `WebAssembly.validate` accepts relaxed SIMD.

#[cfg(target_arch = "wasm32")]
fn main() {
    camseg::worker::run();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("camseg-worker-relaxed is the page's Web Worker: build and serve it with `trunk serve` (see README.md)");
    std::process::exit(2);
}
