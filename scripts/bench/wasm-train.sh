#!/usr/bin/env bash
# The page's training step layer by layer (crates/model/src/train/backprop/layers.rs) in Node's V8,
# built as the worker is (opt-level s, wasm SIMD): where the page's training time goes
# (docs/page-speed.md). Builds into target/wasm-train.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here/wasm-train"
RUSTFLAGS="-C target-feature=+simd128" CARGO_TARGET_DIR="$root/target/wasm-train" \
  cargo build --release --offline --target wasm32-unknown-unknown --quiet
node bench.mjs "$root/target/wasm-train/wasm32-unknown-unknown/release/wasm_train_bench.wasm"
