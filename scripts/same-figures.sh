#!/usr/bin/env bash
# Proves a change left the figures alone: runs the val evaluations behind docs/results.md with
# a camseg binary, then compares two such runs number by number to 1e-6.
#   bash scripts/same-figures.sh run BIN DIR     # e.g. once with the old build (copied aside), once with the new
#   bash scripts/same-figures.sh compare DIR_A DIR_B
set -euo pipefail
MODE="$1"; A="$2"; B="$3"
SHARED="${SHARED:-../shared/data}"
if [ "$MODE" = run ]; then
mkdir -p "$B"
runs=(
  "lgg|--data $SHARED/lgg --model static/models/lgg --split val --compare intensity:0.1,gradcam:0.6:3,layercam-multi:otsu:2"
  "lgg-gradcam|--data $SHARED/lgg --model static/models/lgg --split val --method gradcam --threshold 0.6"
  "busi|--data $SHARED/busi --model static/models/busi --split val --compare intensity:0.1,gradcam:0.5:3"
)
for run in "${runs[@]}"; do
  name="${run%%|*}"; args="${run#*|}"
  # shellcheck disable=SC2086
  "$A" eval $args --json > "$B/$name.json"
  echo "$name: written"
done
exit 0
fi
python3 - "$A" "$B" <<'PY'
import json, sys, pathlib
first, second = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
def leaves(x, path=""):
    if isinstance(x, dict):
        for k, v in x.items(): yield from leaves(v, f"{path}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x): yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, x
bad = 0
for before in sorted(first.glob("*.json")):
    a = dict(leaves(json.loads(before.read_text())))
    b = dict(leaves(json.loads((second / before.name).read_text())))
    numbers = 0
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
            numbers += 1
            if abs(x - y) > 1e-6:
                bad += 1; print(f"{before.stem}{key}: {x} -> {y}")
        elif x != y and "seconds" not in key and "elapsed" not in key:
            bad += 1; print(f"{before.stem}{key}: {x!r} -> {y!r}")
    print(f"{before.stem}: {numbers} numbers compared")
print("same figures" if bad == 0 else f"{bad} differences")
sys.exit(1 if bad else 0)
PY
