#!/usr/bin/env bash
# Installs everything camseg needs to build, serve and test, skipping what is already there:
# the wasm target, trunk, wasm-bindgen-cli (pinned to Cargo.lock), npm packages (wasm-opt from
# binaryen, playwright-core) and Debian's Chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14          # 0.22 needs a newer rustc than this toolchain
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen in Cargo.lock

say() { echo "setup: $*"; }

rustup target list --installed | grep -qx wasm32-unknown-unknown || { say "adding the wasm32 target"; rustup target add wasm32-unknown-unknown; }

if ! trunk --version 2>/dev/null | grep -q "$TRUNK_VERSION"; then
  say "installing trunk $TRUNK_VERSION (about 10 minutes on 2 cores)"
  cargo install trunk --locked --version "$TRUNK_VERSION"
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: its own lock pins a crate the registry no longer has.
  cargo install wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION"
fi

if [ ! -x tests/browser/node_modules/.bin/wasm-opt ] || [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/axe-core ]; then
  say "installing npm packages (binaryen for wasm-opt, playwright-core, axe-core)"
  (cd tests/browser && npm ci --no-audit --no-fund)
fi

if [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver
fi

# Trunk runs cargo --offline: fetch the crates first.
cargo fetch --quiet
say "done"
