#!/usr/bin/env bash
# The `gemm` crate's wasm SIMD kernel and the page's tiled kernel on the LGG network's convolutions, in Node's V8:
# what bounds camseg's page on the CPU (docs/benchmarks.md). Builds into target/wasm-gemm.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here/wasm-gemm"
RUSTFLAGS="-C target-feature=+simd128" CARGO_TARGET_DIR="$root/target/wasm-gemm" \
  cargo build --release --offline --target wasm32-unknown-unknown --quiet
node bench.mjs "$root/target/wasm-gemm/wasm32-unknown-unknown/release/wasm_gemm_bench.wasm"
