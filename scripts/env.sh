# Sourced by the other scripts: puts the npm-installed wasm-opt and cargo's binaries on PATH.
CAMSEG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$CAMSEG_ROOT/tests/browser/node_modules/.bin:$HOME/.cargo/bin:$PATH"
