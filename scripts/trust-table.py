#!/usr/bin/env python3
"""The Markdown table of docs/results.md section 6 from `camseg trust --json` output.

    python3 scripts/trust-table.py runs/busi/trust-val.json
"""
import json, math, sys

LABELS = {"fusion": "fusion", "gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "hirescam": "HiResCAM",
          "layercam": "LayerCAM", "layercam-multi": "multi-layer LayerCAM", "layercam-walk": "layercam-walk"}


def ci(x):
    return f"{x['mean']:.3f} ({x['ci95']['low']:.3f}-{x['ci95']['high']:.3f})"


def spearman(step):
    m = step["spearman"]["mean"] if step.get("spearman") else None
    return "n/a" if m is None or (isinstance(m, float) and math.isnan(m)) else f"{m:.2f}"


def main(path):
    report = json.load(open(path))
    steps = next(iter(report["methods"].values()))["randomisation"]
    names = ["after head" if s["randomised"] == "head" else ("all" if i == len(steps) - 1 else "+ " + s["randomised"]) for i, s in enumerate(steps)]
    print(f"| method (block) | Spearman {' / '.join(names)} | randomisation check | deletion AUC | insertion AUC | ROAD AUC | pointing game |")
    print("|---|---|---|---|---|---|---|")
    for name, m in report["methods"].items():
        check = "**fails**" if m["fails_randomisation"] else "passes"
        cascade = " / ".join(spearman(s) for s in m["randomisation"])
        print(f"| {LABELS.get(name, name)} ({m['block']}) | {cascade} | {check} | {ci(m['deletion_auc'])} | {ci(m['insertion_auc'])} | {ci(m['road_auc'])} | {ci(m['pointing_game'])} |")


if __name__ == "__main__":
    main(sys.argv[1])
