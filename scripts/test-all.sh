#!/usr/bin/env bash
# Every test: native (maths, training, CLI), then the Trunk-built page in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
start=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - start )) s)"; }

step "native tests (cargo test)"
# The LGG and BUSI regression checks must run where the data is (CI has ../shared beside the clone).
[ -f ../shared/data/lgg/index.csv ] && export CAMSEG_REQUIRE_LGG=1
[ -f ../shared/data/busi/index.csv ] && export CAMSEG_REQUIRE_BUSI=1
cargo test --all-targets

step "building the page (trunk build --release)"
trunk build --release
# Two binaries: the page (views and state only) and its worker (the model).
for wasm in dist/*.wasm; do
  echo "wasm $(basename "$wasm"): $(stat -c %s "$wasm") bytes raw, $(gzip -9 -c "$wasm" | wc -c) bytes gzipped"
done

step "browser tests (headless chromium)"
# `cargo test` above built target/debug/camseg for the CLI tests; a separate `cargo build`
# would rebuild burn with another feature set (minutes).
test -x target/debug/camseg
CAMSEG_BIN="$PWD/target/debug/camseg" node --test --test-reporter=spec tests/browser/
step "all tests passed"
