#!/usr/bin/env python3
"""Picks the page's 12 BUSI demo images from ../shared/data/busi by a fixed rule and copies them
(with their masks) to static/demo/busi/. Only clusters of the `train` split are used (the shipped
BUSI model has seen them; the demo shows the method, not a held-out score).

The rule, seeded (random.Random(23)), with no look at any model's output: the train clusters,
sorted by name, shuffled with the seed; 4 benign, 4 malignant and 4 normal images, each from a
cluster not used before, the first image (by file name) of each cluster taken in the shuffled
order. The index keeps the dataset's columns (with `class`) and is sorted by file name.

Usage: python3 scripts/busi-demo.py [../shared/data/busi] [static/demo/busi]
"""
import csv
import random
import shutil
import sys
from pathlib import Path

SEED = 23
PER_CLASS = {"benign": 4, "malignant": 4, "normal": 4}

data = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/busi")
out = Path(sys.argv[2] if len(sys.argv) > 2 else "static/demo/busi")
with open(data / "index.csv", newline="") as f:
    rows = [r for r in csv.DictReader(f) if r["split"] == "train"]
columns = list(rows[0].keys())
clusters = sorted({r["patient"] for r in rows})
random.Random(SEED).shuffle(clusters)
chosen, used = [], set()
for cls, count in PER_CLASS.items():
    for c in clusters:
        if sum(r["class"] == cls for r in chosen) == count:
            break
        own = sorted((r for r in rows if r["patient"] == c and r["class"] == cls), key=lambda r: r["file"])
        if c in used or not own:
            continue
        chosen.append(own[0])
        used.add(c)

chosen.sort(key=lambda r: r["file"])
for folder in ("images", "masks"):
    (out / folder).mkdir(parents=True, exist_ok=True)
    for r in chosen:
        shutil.copyfile(data / folder / r["file"], out / folder / r["file"])
with open(out / "index.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(chosen)
for r in chosen:
    print(r["file"], r["patient"], r["class"], r["tumor_px"])
