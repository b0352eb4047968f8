#!/usr/bin/env bash
# Sets up the toolchain (first run only) and serves the app on http://127.0.0.1:8080
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
exec trunk serve --release "$@"
