#!/usr/bin/env python3
"""Gating without a classifier: the baseline for "the classifier adds whether to draw".

The classifier's gate draws a mask only where p >= 0.5. The baseline draws the intensity rule's
mask only where that mask covers at least A pixels (a minimum region size: a rule on the scan
alone). A is chosen on val, by the balanced accuracy of "mask >= A px" as a tumour detector, the
classifier's own gate being judged by the same figure; test only reports. Intervals are 95%
bootstraps over patients (clusters on BUSI), 2000 rounds, seed 2022.

Input: two `camseg eval --method intensity --per-image FILE` CSVs (val, test).
    python3 scripts/gate-baseline.py runs/lgg/per-image-val-intensity.csv runs/lgg/per-image-test-intensity.csv
"""
import csv
import random
import sys


def rows(path):
    with open(path, newline="") as f:
        out = []
        for r in csv.DictReader(f):
            out.append({
                "patient": r["patient"],
                "label": r["label"] == "true",
                "p": float(r["probability"]),
                "mask_px": int(r["mask_px"] or 0),
                "dice": float(r["dice"]) if r["dice"] else None,
            })
        return out


def balanced_accuracy(rs, said):
    pos = [said(r) for r in rs if r["label"]]
    neg = [not said(r) for r in rs if not r["label"]]
    return (sum(pos) / max(len(pos), 1) + sum(neg) / max(len(neg), 1)) / 2


def figures(rs, said):
    """Gated mean Dice over tumour images, false-mask rate on tumour-free images (truth empty)."""
    dice = [(r["dice"] if said(r) else 0.0) for r in rs if r["dice"] is not None]
    free = [r for r in rs if r["dice"] is None and not r["label"]]
    fmr = [1.0 if (said(r) and r["mask_px"] > 0) else 0.0 for r in free]
    return (sum(dice) / max(len(dice), 1), sum(fmr) / max(len(fmr), 1), balanced_accuracy(rs, said))


def bootstrap(rs, stat, rounds=2000, seed=2022):
    groups = {}
    for r in rs:
        groups.setdefault(r["patient"], []).append(r)
    names = sorted(groups)
    rng = random.Random(seed)
    values = []
    for _ in range(rounds):
        sample = [r for _ in names for r in groups[rng.choice(names)]]
        values.append(stat(sample))
    values.sort()
    return values[int(0.025 * (rounds - 1))], values[int(0.975 * (rounds - 1))]


def main():
    val, test = rows(sys.argv[1]), rows(sys.argv[2])
    sizes = sorted({r["mask_px"] for r in val} | {0})
    area = max(sizes, key=lambda a: (balanced_accuracy(val, lambda r: r["mask_px"] >= max(a, 1)), -a))
    area = max(area, 1)
    gates = {
        "no gate (every mask drawn)": lambda r: True,
        f"minimum region size (mask >= {area} px, chosen on val; no classifier)": lambda r: r["mask_px"] >= area,
        "the classifier (p >= 0.5)": lambda r: r["p"] >= 0.5,
    }
    print("| gate | split | gated mean Dice (95% CI) | masks on tumour-free images (95% CI) | balanced accuracy of drawing |")
    print("|---|---|---|---|---|")
    for name, said in gates.items():
        for split, rs in (("val", val), ("test", test)):
            d, f, b = figures(rs, said)
            dl, dh = bootstrap(rs, lambda s: figures(s, said)[0])
            fl, fh = bootstrap(rs, lambda s: figures(s, said)[1])
            print(f"| {name} | {split} | {d:.3f} ({dl:.3f} to {dh:.3f}) | {f:.3f} ({fl:.3f} to {fh:.3f}) | {b:.3f} |")
    for split, rs in (("val", val), ("test", test)):
        area_gate, clf = gates[list(gates)[1]], gates[list(gates)[2]]
        diff = lambda s: figures(s, clf)[0] - figures(s, area_gate)[0]
        lo, hi = bootstrap(rs, diff)
        print(f"\n{split}: classifier gate minus size gate, gated mean Dice {diff(rs):+.3f} ({lo:+.3f} to {hi:+.3f})", end="")
    print()


if __name__ == "__main__":
    main()
