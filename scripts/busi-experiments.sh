#!/usr/bin/env bash
# Reproduces docs/results.md section 5 on BUSI breast ultrasound (never committed; pass its path).
# Usage: bash scripts/busi-experiments.sh [../shared/data/busi] [static/models/busi]
# Training is skipped when a model already exists; outputs go to runs/busi/.
# Val chooses every recipe, method, cut and constant; test is scored only to report. Intervals
# resample BUSI's clusters of near-duplicate images (its `patient` column), never images.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/busi}
MODEL=${2:-static/models/busi}
OUT=runs/busi
mkdir -p "$OUT/recipes"
cargo build --release --bin camseg
CAMSEG=target/release/camseg
# BUSI's scan: dark (hypoechoic) lesions, no rim band; the field of view is what is brighter than
# 20/255, as on LGG (10 and 0 were no better for the brightness rule on val: step 0 below).
SCAN=(--lesion-polarity dark --rim-band-px 0)

# 0. The brightness rule's own settings, chosen on val with no classifier in the loop (the LGG
# weights only give p, which the rule's Dice ignores).
mkdir -p "$OUT/probe" && cp static/models/lgg.bpk "$OUT/probe/p.bpk"
for level in 0 10 20; do
  for contrast in 1.35 2.0; do
    python3 - "$level" "$contrast" "$OUT/probe/p.json" <<'PY'
import json, sys
level, contrast, out = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
card = json.load(open("static/models/lgg.json"))
card["input"]["scan"] = {"field_of_view_level": level / 255, "lesion_polarity": "dark", "lesion_contrast": contrast, "rim_band_px": 0}
card["training"]["negatives"] = "all"
json.dump(card, open(out, "w"))
PY
    echo "level $level contrast $contrast: $($CAMSEG eval --data "$DATA" --model "$OUT/probe/p" --split val --method intensity --json 2>/dev/null \
      | python3 -c "import json,sys; d=json.load(sys.stdin); print(max(d['dice_by_threshold'].values()))")"
  done
done > "$OUT/probe/rule-settings-val.txt"

# 1. The recipe, chosen on val AUC (and, among recipes within its noise, on the classifier-only
# masks' val Dice): normalisation, start, length.
recipe() { name=$1; shift; [ -f "$OUT/recipes/$name.json" ] || $CAMSEG train --data "$DATA" --out "$OUT/recipes/$name" "${SCAN[@]}" "$@" > "$OUT/recipes/$name.log" 2>&1; }
recipe headmean16 --epochs 16
recipe meanstd16 --epochs 16 --normalisation mean-std
recipe lgginit16 --epochs 16 --init static/models/lgg
for r in "$OUT"/recipes/*.json; do
  python3 -c "import json,sys; c=json.load(open(sys.argv[1])); m=c['metrics']; print(sys.argv[1], 'val auc %.3f' % m['val_auc'], 'default', c['cam']['method'], 'val dice %.3f' % m.get('val_mean_dice', float('nan')))" "$r"
done > "$OUT/recipes/summary.txt"
