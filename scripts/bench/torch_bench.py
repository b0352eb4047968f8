"""camseg's network rebuilt in PyTorch from a model card, timed as `camseg bench` times it.

Prints one JSON object with the keys `camseg bench --json` prints (images per second), so
`scripts/bench.sh` can set the two side by side. Weights are random: speed does not depend on
them (the agreement check, which needs camseg's weights, is separate). Fusion and `eval` are
camseg's own pipeline and have no PyTorch counterpart here: they are printed as null.

    python3 scripts/bench/torch_bench.py --card static/models/lgg.json --device cpu --threads 2
"""
import argparse
import json
import time

import torch
from torch import nn


def build(arch):
    """Conv blocks (conv 3x3 no bias -> batch norm -> ReLU, repeated), 2x2 max-pool before every
    block but the first, global average pool, linear head: camseg's `Classifier`."""
    blocks, in_ch = [], 1
    for k, (width, n) in enumerate(zip(arch["widths"], arch["convs"])):
        layers = [nn.MaxPool2d(2)] if k > 0 else []
        for i in range(n):
            layers += [nn.Conv2d(in_ch if i == 0 else width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        blocks.append(nn.Sequential(*layers))
        in_ch = width
    return nn.ModuleDict({"features": nn.Sequential(*blocks), "head": nn.Linear(in_ch, 2)})


def forward(model, x):
    a = model["features"](x)
    return model["head"](a.mean(dim=(2, 3))), a


def gradcam(model, x):
    """Grad-CAM at the last block, upsampled to the input size and scaled to [0, 1]."""
    logits, a = forward(model, x)
    grads = torch.autograd.grad(logits[:, 1].sum(), a)[0]
    cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * a).sum(dim=1, keepdim=True))
    cam = nn.functional.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
    flat = cam.flatten(1)
    lo, hi = flat.min(1, keepdim=True)[0], flat.max(1, keepdim=True)[0]
    return ((flat - lo) / (hi - lo).clamp_min(1e-12)).view_as(cam)


def rate(batch, seconds, run, sync):
    run(); run(); sync()
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < seconds:
        run(); calls += 1
    sync()
    return batch * calls / (time.perf_counter() - start)


def macs(arch):
    total, in_ch, size = 0, 1, arch["input_size"]
    for k, (width, n) in enumerate(zip(arch["widths"], arch["convs"])):
        cells = (size >> k) ** 2
        for _ in range(n):
            total += in_ch * width * 9 * cells
            in_ch = width
    return total + in_ch * 2


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--card", required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=2.0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    arch = json.load(open(args.card))["architecture"]
    dev = torch.device(args.device)
    model = build(arch).to(dev).eval()
    size = arch["input_size"]
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    images = {n: torch.rand(n, 1, size, size, device=dev) for n in (1, 16, 32)}
    out = {"device": f"pytorch-{torch.__version__}-{args.device}", "threads": torch.get_num_threads(), "macs_per_image": macs(arch)}
    with torch.no_grad():
        for n in (1, 16):
            out[f"forward_b{n}_img_s"] = rate(n, args.seconds, lambda: torch.softmax(forward(model, images[n])[0], 1).cpu(), sync)
    for n in (1, 16):
        out[f"gradcam_b{n}_img_s"] = rate(n, args.seconds, lambda: gradcam(model, images[n]).cpu(), sync)
    out["fusion_b1_img_s"] = None
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    labels = (torch.arange(32, device=dev) % 2)

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(forward(model, images[32])[0], labels)
        loss.backward()
        opt.step()
        loss.item()

    out["train_b32_img_s"] = rate(32, args.seconds, step, sync)
    out["eval_img_s"] = None
    out["forward_b16_gflop_s"] = out["forward_b16_img_s"] * out["macs_per_image"] * 2 / 1e9
    print(json.dumps(out))


if __name__ == "__main__":
    main()
