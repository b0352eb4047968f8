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
# Every method, cut and constant is chosen on val; test is scored only to report.
# 1. The card's CAM default, chosen on val over every method (intensity included) by a command.
$CAMSEG card --data "$DATA" --model "$MODEL" --report-split test 2> "$OUT/card.log"
# 2. Heatmap -> mask -> Dice: every method, block and cut on val (to choose), then test (to report).
# The heatmap grid shows real slices (CC BY-NC-SA data): it stays in runs/, never committed.
$CAMSEG sweep --data "$DATA" --model "$MODEL" --split val > "$OUT/sweep-val.md"
$CAMSEG sweep --data "$DATA" --model "$MODEL" --split test --plot docs/figures/lgg-dice-vs-threshold.svg \
  --grid "$OUT/lgg-heatmaps.png" --methods gradcam,layercam-multi,intensity,fusion --blocks 2,3 > "$OUT/sweep-test-figures.md"
# 3. Each method at its val-chosen block and cut (from sweep-val.md), with patient-bootstrap CIs,
# gated Dice, false-mask rates, and paired differences against the baselines.
for split in val test; do
  $CAMSEG eval --data "$DATA" --model "$MODEL" --split $split --json \
    --compare intensity:0.1,gradcam:0.6:3,layercam-multi:otsu:2 > "$OUT/eval-$split-fusion.json"
  $CAMSEG eval --data "$DATA" --model "$MODEL" --split $split --method intensity --threshold 0.1 --json > "$OUT/eval-$split-intensity.json"
  $CAMSEG eval --data "$DATA" --model "$MODEL" --split $split --method gradcam --threshold 0.6 --json > "$OUT/eval-$split-gradcam.json"
  $CAMSEG eval --data "$DATA" --model "$MODEL" --split $split --method layercam-multi --block 2 --threshold otsu --json \
    --compare gradcam:0.6:3 > "$OUT/eval-$split-layercam-multi.json"
  $CAMSEG eval --data "$DATA" --model "$MODEL" --split $split --method layercam-walk --block 2 --threshold 0.7 --json \
    --compare layercam-multi:otsu:2,gradcam:0.6:3,intensity:0.1 > "$OUT/eval-$split-layercam-walk.json"
done
# 4. The 2x2 ablation: CAM on/off x intensity weight on/off, same shape step, cuts chosen on val.
cargo run -p camseg-experiments --example mask_ablation -- "$DATA" "$MODEL" > "$OUT/mask-ablation.md"
# 5. Classifier-only refinements, explored on val only: the random walk on the classifier's
# features (its radius, kernel and steps; and two controls), then adversarial erasing
# (fine-tunes a copy for 2 epochs)...
cargo run --release -p camseg-experiments --example explore_walk -- "$DATA" "$MODEL" val > "$OUT/explore-walk-val.md"
cargo run -p camseg-experiments --example adversarial_erasing -- "$DATA" "$MODEL" 2 > "$OUT/erasing.md"
# ...and a U-Net trained on the classifier's CAM pseudo-masks (no true mask), beside the same
# U-Net trained on the true masks (the supervised ceiling). 64 px and 6 epochs fit 2 cores.
# Two CAM label sets, chosen between on val: the walked multi-layer LayerCAM's masks (`cam`)
# and the unwalked ones (`cam-multi`).
for name in truth cam cam-multi; do
  case $name in
    truth) labels=(--labels truth) ;;
    cam) labels=(--labels cam --model "$MODEL" --method layercam-walk --block 2 --threshold 0.7) ;;
    cam-multi) labels=(--labels cam --model "$MODEL" --method layercam-multi --block 3 --threshold 0.4) ;;
  esac
  [ -f "$OUT/unet-$name.bpk" ] || $CAMSEG train-segmenter --data "$DATA" --out "$OUT/unet-$name" "${labels[@]}" \
    --epochs 6 --input-size 64 > "$OUT/unet-$name.log" 2>&1
  for split in val test; do
    $CAMSEG eval --data "$DATA" --model "$MODEL" --split $split --segmenter "$OUT/unet-$name" --threshold otsu --json > "$OUT/eval-$split-unet-$name.json"
  done
done
python3 scripts/eval-table.py "$OUT" gradcam layercam-multi layercam-walk unet-cam-multi unet-cam intensity fusion unet-truth > "$OUT/eval-table.md"
# 6. Filter and retrain, 3 seeds (64 px, 4 epochs: what 2 CPU cores allow), the paper's Grad-CAM
# masks and the shipped default's; random masks inside the head; mask-only leak control.
$CAMSEG filter-retrain --data "$DATA" --model "$MODEL" --method gradcam --block 3 --threshold 0.5 --epochs 4 --input-size 64 --seeds 3 --save "$OUT/filtered" > "$OUT/filter-retrain.md"
$CAMSEG filter-retrain --data "$DATA" --model "$MODEL" --epochs 4 --input-size 64 --seeds 3 --save "$OUT/filtered-fusion" > "$OUT/filter-retrain-fusion.md"
# 7. Filter and retrain at the issue's budget, 128 px: sized on val (the original alone, 10
# epochs), then every filter on test, one command per seed so that each seed also draws its own
# random masks. About 5 min a training with both cores free, 1.5 h in all; a finished seed is kept.
FR=(--data "$DATA" --model "$MODEL" --method gradcam --block 3 --threshold 0.5 --input-size 128 --seeds 1 --json)
[ -f "$OUT/fr128-val.jsonl" ] || $CAMSEG filter-retrain "${FR[@]}" --epochs 10 --filters none --test-split val > "$OUT/fr128-val.jsonl"
for seed in 42 43 44; do
  if [ ! -f "$OUT/fr128-seed$seed.jsonl" ]; then
    $CAMSEG filter-retrain "${FR[@]}" --epochs 10 --seed $seed > "$OUT/fr128-seed$seed.part"
    mv "$OUT/fr128-seed$seed.part" "$OUT/fr128-seed$seed.jsonl"
  fi
done
python3 scripts/filter-table.py "$OUT"/fr128-seed*.jsonl > "$OUT/filter-retrain-128.md"
# 8. The same at the shipped model's own recipe (16 epochs, contrast 1.4), one seed, the rows
# that carry ROAR's reading (about 10 min a training).
[ -f "$OUT/fr128-recipe42.jsonl" ] || $CAMSEG filter-retrain "${FR[@]}" --epochs 16 --contrast 1.4 --seed 42 \
  --filters remove-hot,remove-random,mask-only > "$OUT/fr128-recipe42.jsonl"
# 9. Gating without a classifier: the intensity rule's masks gated by a minimum region size
# chosen on val, beside the classifier's gate (p >= 0.5).
for split in val test; do
  $CAMSEG eval --data "$DATA" --model "$MODEL" --split $split --method intensity --per-image "$OUT/per-image-$split-intensity.csv" --json > /dev/null
done
python3 scripts/gate-baseline.py "$OUT/per-image-val-intensity.csv" "$OUT/per-image-test-intensity.csv" > "$OUT/gate-baseline.md"
# 10. Can the heatmaps be trusted? Model randomisation, deletion/insertion/ROAD, pointing game
# (docs/results.md section 6: every tumour slice of val and of test, about 4.5 minutes each in
# the release build on 2 cores; the debug build gives the same figures in several times that).
cargo build --release --bin camseg
target/release/camseg trust --data "$DATA" --model "$MODEL" --split val --json > "$OUT/trust-val.json"
target/release/camseg trust --data "$DATA" --model "$MODEL" --split test --json > "$OUT/trust-test.json"
echo "results in $OUT"
