#!/usr/bin/env bash
# Reproduces docs/results.md on the LGG MRI data (never committed; pass its path).
# Usage: bash scripts/lgg-experiments.sh [../shared/data/lgg] [static/models/lgg]
# Training is skipped when the model already exists; outputs go to runs/lgg/.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/lgg}
MODEL=${2:-static/models/lgg}
OUT=runs/lgg
mkdir -p "$OUT" docs/figures
# The dev profile optimises dependencies (burn) fully and shares the test build: no second
# multi-minute release build of burn on 2 cores.
cargo build --bin camseg
CAMSEG=target/debug/camseg

if [ ! -f "$MODEL.bpk" ]; then
  # Negatives: no-tumour slices with head_px >= the 5th percentile of the tumour slices' head_px.
  $CAMSEG train --data "$DATA" --out "$MODEL" --epochs 16 --contrast 1.4 --negatives head-p5 --report-split test \
    --name "LGG FLAIR classifier v3" --licence "CC BY-NC-SA 4.0" \
    --description "Tumour / no-tumour classifier of FLAIR slices (LGG MRI segmentation data, Buda et al. 2019)" 2>&1 | tee "$OUT/train.log"
fi
# The heatmap grid shows real slices (CC BY-NC-SA data): it stays in runs/, never committed.
# 1. Heatmap -> mask -> Dice: every method and block, thresholds 0.1..0.9 and Otsu, on val (to choose) and test (to report).
$CAMSEG sweep --data "$DATA" --model "$MODEL" --split val > "$OUT/sweep-val.md"
$CAMSEG sweep --data "$DATA" --model "$MODEL" --split test --plot docs/figures/lgg-dice-vs-threshold.svg \
  --grid "$OUT/lgg-heatmaps.png" --methods gradcam,gradcam++,layercam,fusion --blocks 2,3 > "$OUT/sweep-test-figures.md"
$CAMSEG sweep --data "$DATA" --model "$MODEL" --split test > "$OUT/sweep-test.md"
# 2. The card's choice and plain Grad-CAM, as eval --json reports them.
$CAMSEG eval --data "$DATA" --model "$MODEL" --split test --json > "$OUT/eval-test.json"
$CAMSEG eval --data "$DATA" --model "$MODEL" --split test --method gradcam --threshold 0.6 --json > "$OUT/eval-test-gradcam.json"
# What each step of fusion adds (section 2's ablation).
for split in val test; do
  cargo run --example fusion_ablation -- "$DATA" "$MODEL" $split > "$OUT/fusion-ablation-$split.md"
done
# 3. Filter and retrain (same budget for every classifier; 64 px input to fit 2 CPU cores),
# with the paper's Grad-CAM masks and with fusion's.
$CAMSEG filter-retrain --data "$DATA" --model "$MODEL" --method gradcam --threshold 0.5 --epochs 4 --input-size 64 --save "$OUT/filtered" > "$OUT/filter-retrain.md"
$CAMSEG filter-retrain --data "$DATA" --model "$MODEL" --method fusion --threshold 0.1 --epochs 4 --input-size 64 --save "$OUT/filtered-fusion" > "$OUT/filter-retrain-fusion.md"
echo "results in $OUT"
