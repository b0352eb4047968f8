#!/usr/bin/env python3
"""Is a choice made on val a real gain or the luck of picking the best of many? Split val's
clusters in two at random; choose the best variant on one half; score it, and the baseline
variant, on the other half; repeat. Reads the CSV that `SCORES=... explore_walk` writes (one row
per image: its cluster, then each variant's Dice).

python3 scripts/split-half.py runs/busi/walk/wide-val-otsu.csv "block 1, 2, 0.3, 64" [repeats]
python3 scripts/split-half.py runs/busi/card-choices.csv "intensity block 3 0.1" 500
"""
import csv
import random
import statistics
import sys


def main():
    path, baseline = sys.argv[1], sys.argv[2]
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    rows = list(csv.reader(open(path)))
    names, rows = rows[0][1:], rows[1:]
    base = names.index(baseline)
    by_cluster = {}
    for r in rows:
        by_cluster.setdefault(r[0], []).append([float(v) for v in r[1:]])
    clusters = sorted(by_cluster)
    rng = random.Random(42)
    gains, picked, own = [], {}, []
    for _ in range(repeats):
        rng.shuffle(clusters)
        half = len(clusters) // 2
        choose, check = clusters[:half], clusters[half:]
        mean = lambda cs, v: statistics.mean(s[v] for c in cs for s in by_cluster[c])
        best = max(range(len(names)), key=lambda v: mean(choose, v))
        picked[names[best]] = picked.get(names[best], 0) + 1
        gains.append((mean(choose, best) - mean(choose, base), mean(check, best) - mean(check, base)))
        own.append((mean(choose, best), mean(check, best)))
    on_choosing = [g[0] for g in gains]
    on_checking = sorted(g[1] for g in gains)
    print(f"{len(rows)} images in {len(by_cluster)} clusters; {repeats} random halves; baseline `{baseline}`")
    print(f"best variant minus baseline, on the half that chose it: mean {statistics.mean(on_choosing):+.3f}")
    print(f"the same, on the other half: mean {statistics.mean(on_checking):+.3f} "
          f"(5th-95th percentile {on_checking[len(on_checking) // 20]:+.3f} to {on_checking[-len(on_checking) // 20 - 1]:+.3f}); "
          f"above 0 in {sum(g > 0 for g in on_checking)} of {repeats}")
    print(f"the pick's own mean Dice: {statistics.mean(o[0] for o in own):.3f} on the half that chose it, "
          f"{statistics.mean(o[1] for o in own):.3f} on the other")
    print("picked most often:", ", ".join(f"`{n}` {k}" for n, k in sorted(picked.items(), key=lambda x: -x[1])[:5]))


if __name__ == "__main__":
    main()
