#!/usr/bin/env python3
"""The filter-and-retrain table from `camseg filter-retrain --json` lines, one seed or many.

Usage: python3 scripts/filter-table.py runs/lgg/fr128-seed*.jsonl

Prints, per filter: the seeds, test accuracy and AUC as mean (min-max), and then ROAR's two
paired readings seed by seed (the same seed trains both sides): remove-hot minus remove-random
(below 0 means removing the heatmap's region hurts more than removing a random one: the
heatmap passes) and keep-hot minus keep-random.
"""
import json
import sys
from collections import OrderedDict


def read(paths):
    rows = OrderedDict()
    for path in paths:
        with open(path) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    rows.setdefault(r["filter"], {})[r["seed"]] = (r["test_accuracy"], r["test_auc"])
    return rows


def summary(values):
    return f"{sum(values) / len(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main(paths):
    if not paths:
        sys.exit("usage: filter-table.py FILE.jsonl [FILE.jsonl ...]")
    rows = read(paths)
    print("| training and test images | seeds | test accuracy, mean (min-max) | test AUC, mean (min-max) |")
    print("|---|---|---|---|")
    for name, by_seed in rows.items():
        seeds = sorted(by_seed)
        accs = [by_seed[s][0] for s in seeds]
        aucs = [by_seed[s][1] for s in seeds]
        print(f"| {name} | {', '.join(map(str, seeds))} | {summary(accs)} | {summary(aucs)} |")
    print()
    for hot, random in (("remove-hot", "remove-random"), ("keep-hot", "keep-random")):
        if hot in rows and random in rows:
            seeds = sorted(set(rows[hot]) & set(rows[random]))
            diffs = [rows[hot][s][1] - rows[random][s][1] for s in seeds]
            if diffs:
                each = ", ".join(f"{d:+.3f}" for d in diffs)
                print(f"- {hot} minus {random}, test AUC by seed: {each}; mean {sum(diffs) / len(diffs):+.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
