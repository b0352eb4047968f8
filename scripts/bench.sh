#!/usr/bin/env bash
# camseg's native speed next to PyTorch's on the same network: `camseg bench` and
# scripts/bench/torch_bench.py, alternating, 3 rounds, 2 threads each; prints images/s (the
# best round of each) and the ratio camseg / PyTorch. PyTorch is optional (about 6 GB): without
# it, only camseg's column is printed. Long: run it outside CI.
#   bash scripts/bench.sh [--device cpu|wgpu|cuda] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."
device=cpu; rounds=3
while [ $# -gt 0 ]; do case "$1" in --device) device=$2; shift 2;; --rounds) rounds=$2; shift 2;; *) echo "unknown option $1" >&2; exit 2;; esac; done
features=""; [ "$device" != cpu ] && features="--features $device"
cargo build --release --bin camseg $features >&2
# PyTorch from the git-ignored venv when it is there (see docs/benchmarks.md), else python3.
python=${PYTHON:-$([ -x .tools/torch-venv/bin/python ] && echo .tools/torch-venv/bin/python || echo python3)}
torch_device=$([ "$device" = cpu ] && echo cpu || echo cuda)
out=$(mktemp -d)
for r in $(seq "$rounds"); do
  RAYON_NUM_THREADS=2 target/release/camseg --device "$device" bench --model static/models/lgg --json >> "$out/camseg.jsonl"
  if "$python" -c 'import torch' 2>/dev/null; then
    "$python" scripts/bench/torch_bench.py --card static/models/lgg.json --device "$torch_device" --threads 2 >> "$out/torch.jsonl"
  fi
done
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
load = lambda f: [json.loads(l) for l in open(os.path.join(out, f))] if os.path.exists(os.path.join(out, f)) else []
c, t = load("camseg.jsonl"), load("torch.jsonl")
keys = ["forward_b1_img_s", "forward_b16_img_s", "gradcam_b1_img_s", "gradcam_b16_img_s", "fusion_b1_img_s", "train_b32_img_s", "train_b32_autodiff_img_s", "train_b32_read50_img_s", "train_b128_read50_img_s", "eval_img_s"]
best = lambda rows, k: max((r[k] for r in rows if r.get(k) is not None), default=None)
print(f"camseg on {c[0]['device']} ({c[0]['threads']} threads), {len(c)} rounds; PyTorch: {t[0]['device'] if t else 'not installed'}")
print(f"{'images/s':<20} {'camseg':>9} {'PyTorch':>9} {'ratio':>6}")
for k in keys:
    a, b = best(c, k), best(t, k)
    fmt = lambda v: f"{v:9.1f}" if v is not None else f"{'-':>9}"
    print(f"{k[:-6]:<20} {fmt(a)} {fmt(b)} {(f'{a / b:6.2f}' if a and b else '     -')}")
g = best(c, "forward_b16_gflop_s")
print(f"forward batch 16: {g:.1f} GFLOP/s achieved by camseg; this machine's limit: 2 cores x AVX-512 FMA (2 x 16 FLOP x 2 units x clock), about 200 GFLOP/s at 3 GHz")
PY
