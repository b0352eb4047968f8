#!/usr/bin/env python3
"""Picks the page's 12 LGG demo slices from ../shared/data/lgg by a fixed rule and copies them
(with their masks) to static/demo/lgg/. Only patients of the `train` split are used (the shipped
model has seen them; the demo shows the method, not a held-out score).

The rule, seeded (random.Random(11)), with no look at any model's output:
  1. The train patients, sorted by name, shuffled with the seed; each patient gives at most one slice.
  2. Tumour slices (8): tumour_px >= 50. Target sizes are the 8 octile centres ((k + 0.5) / 8) of
     tumour_px over every such train slice. The first 8 shuffled patients with such slices take the
     targets in turn; each gives its slice whose tumour_px is closest to its target.
  3. No-tumour slices (4): label 0 and head_px >= 12779 (the head-p5 rule the model was trained
     with). The next 4 shuffled patients with such slices give one each, chosen with the same rng.
The index keeps the dataset's columns and is sorted by file name.

Usage: python3 scripts/lgg-demo.py [../shared/data/lgg] [static/demo/lgg]
"""
import csv
import random
import shutil
import sys
from pathlib import Path

SEED = 11
TUMOURS, NEGATIVES, MIN_TUMOUR_PX, MIN_HEAD_PX = 8, 4, 50, 12779

data = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/lgg")
out = Path(sys.argv[2] if len(sys.argv) > 2 else "static/demo/lgg")
with open(data / "index.csv", newline="") as f:
    rows = [r for r in csv.DictReader(f) if r["split"] == "train"]
columns = list(rows[0].keys())
tumours = [r for r in rows if r["label"] == "1" and int(r["tumor_px"]) >= MIN_TUMOUR_PX]
negatives = [r for r in rows if r["label"] == "0" and int(r["head_px"]) >= MIN_HEAD_PX]
sizes = sorted(int(r["tumor_px"]) for r in tumours)
targets = [sizes[int((k + 0.5) / TUMOURS * len(sizes))] for k in range(TUMOURS)]

rng = random.Random(SEED)
patients = sorted({r["patient"] for r in rows})
rng.shuffle(patients)
chosen = []
for p in patients:
    if len(chosen) == TUMOURS:
        break
    own = [r for r in tumours if r["patient"] == p]
    if own:
        target = targets[len(chosen)]
        chosen.append(min(own, key=lambda r: (abs(int(r["tumor_px"]) - target), r["file"])))
used = {r["patient"] for r in chosen}
picked_neg = 0
for p in patients:
    if picked_neg == NEGATIVES:
        break
    own = sorted((r for r in negatives if r["patient"] == p), key=lambda r: r["file"])
    if p in used or not own:
        continue
    chosen.append(rng.choice(own))
    picked_neg += 1

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
    print(r["file"], r["label"], r["tumor_px"], r["head_px"])
