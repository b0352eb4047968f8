"""The results table of docs/results.md from `camseg eval --json` files (runs/<set>/eval-<split>-<name>.json).

    python3 scripts/eval-table.py runs/lgg gradcam layercam-multi layercam-walk unet-cam-multi unet-cam intensity fusion unet-truth

The pointing game column is printed where the files have it (evals made since it exists).
"""
import json
import sys
from pathlib import Path


def ci(d, key):
    c = d[key]
    return f"{c['low']:.3f} to {c['high']:.3f}" if c["low"] is not None else "n/a"


def pointing(val, test):
    if "pointing_game" not in test:
        return "n/a"
    return f"{val['pointing_game']:.2f} / {test['pointing_game']:.2f} ({ci(test, 'pointing_game_ci95')})"


def main():
    folder, names = Path(sys.argv[1]), sys.argv[2:]
    print("| masks | cut (val) | val Dice (95% CI) | test Dice (95% CI) | test, mean of patient means | test gated Dice (95% CI) | test masks on no-tumour images, ungated / gated | pointing game val / test (test 95% CI) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        try:
            val, test = (json.load(open(folder / f"eval-{s}-{name}.json")) for s in ("val", "test"))
        except (FileNotFoundError, json.JSONDecodeError):
            continue
        print(
            f"| {test['method']} (block {test['block']}) | {test['threshold']} | {val['mean_dice']:.3f} ({ci(val, 'mean_dice_ci95')}) "
            f"| **{test['mean_dice']:.3f}** ({ci(test, 'mean_dice_ci95')}) | {test['patient_mean_dice']:.3f} "
            f"| {test['gated_mean_dice']:.3f} ({ci(test, 'gated_mean_dice_ci95')}) "
            f"| {test['false_positive_rate']:.2f} / {test['gated_false_positive_rate']:.2f} "
            f"| {pointing(val, test)} |"
        )
    for split in ("val", "test"):
        for name in names:
            path = folder / f"eval-{split}-{name}.json"
            try:
                comparisons = json.load(open(path)).get("comparisons", [])
            except (FileNotFoundError, json.JSONDecodeError):
                continue
            for c in comparisons:
                print(f"{split}: {name} minus {c['method']} at {c['threshold']}: {c['difference']:+.3f} ({ci(c, 'difference_ci95')}), gated {c['gated_difference']:+.3f} ({ci(c, 'gated_difference_ci95')})")


if __name__ == "__main__":
    main()
