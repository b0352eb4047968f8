#!/usr/bin/env bash
# The one short run for a lent GPU machine (the `device` tool; docs/benchmarks.md): camseg's
# native wgpu (Vulkan) build next to PyTorch CUDA on the same network and weights. The machine
# has no Rust, so the binary is built here and carried:
#   cargo build --release --features wgpu --bin camseg && mkdir -p .tools/gpu &&
#   strip -o .tools/gpu/camseg target/release/camseg && gzip -f .tools/gpu/camseg
# and the Vulkan loader travels as Debian packages in .gl/ (see the device tool's README).
# Run there with carry [".tools/gpu", ".gl"]: bash scripts/gpu-check.sh
set -uo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
gunzip -c .tools/gpu/camseg.gz > /tmp/camseg && chmod +x /tmp/camseg
nvidia-smi -L
nvidia-smi dmon -s u -d 1 > "$OUT/dmon.txt" 2>&1 &
dmon=$!
echo "== camseg, wgpu"
/tmp/camseg --device wgpu bench --model static/models/lgg --seconds 3 --json | tee "$OUT/camseg-wgpu.json"
echo "== PyTorch, CUDA"
python3 scripts/bench/torch_bench.py --card static/models/lgg.json --device cuda --threads 16 | tee "$OUT/torch-cuda.json"
kill "$dmon" 2>/dev/null
echo "== GPU utilisation during the runs (max of sm %)"
awk '$1 !~ /#/ && NF > 2 { if ($2 > m) m = $2 } END { print m }' "$OUT/dmon.txt"
