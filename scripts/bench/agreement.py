"""Does camseg compute what PyTorch and pytorch-grad-cam compute? Rebuilds the network from the
model card in PyTorch, loads camseg's weights (`camseg export`), runs the same prepared inputs
and compares:

- logits, to 1e-4;
- Grad-CAM and Grad-CAM++ maps of pytorch-grad-cam (the `grad-cam` package, 1.5.x) at every
  block, to 1e-3 after min-max scaling, at the block's own resolution (the maps both tools
  compute before they enlarge them), and also enlarged to the input as each tool does it;
- ROAD (Rong et al. 2022): p(lesion) as the hottest pixels of camseg's own Grad-CAM are imputed,
  0% to 95% in 5% steps, against the package's `ROADMostRelevantFirst` on the same maps, the
  same pixel order and the same weights. The area under each image's curve must agree to
  ROAD_TOLERANCE; the two imputations differ (see `road_curves`), so the curves are close, not
  equal.

    camseg export --model static/models/lgg --images static/demo/lgg/images --out runs/agree.safetensors
    python scripts/bench/agreement.py --card static/models/lgg.json --weights runs/agree.safetensors

Exits 1 if a check fails. Prints one JSON line of the largest differences.
"""
import argparse
import json
import sys

import numpy as np
import torch
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus
from pytorch_grad_cam.metrics.road import ROADMostRelevantFirst
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from safetensors.torch import load_file
from torch import nn

TUMOUR = 1
# Largest difference allowed between the two tools' ROAD areas, per image (p in [0, 1]).
ROAD_TOLERANCE = 0.01


class Classifier(nn.Module):
    """camseg's `Classifier`: conv blocks (MaxPool2d before all but the first; conv 3x3 without
    bias -> BatchNorm2d -> ReLU per conv), global average pool, linear head. Dropout is a no-op
    in eval mode and left out."""

    def __init__(self, arch):
        super().__init__()
        blocks, in_ch = [], 1
        for k, (width, n) in enumerate(zip(arch["widths"], arch["convs"])):
            layers = [nn.MaxPool2d(2)] if k > 0 else []
            for i in range(n):
                layers += [nn.Conv2d(in_ch if i == 0 else width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width, eps=1e-5), nn.ReLU()]
            blocks.append(nn.Sequential(*layers))
            in_ch = width
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(in_ch, 2)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))


def scaled(m):
    """Min-max to [0, 1] per map; a flat map becomes 0 (as camseg's `normalised`)."""
    m = m.reshape(m.shape[0], -1)
    lo, hi = m.min(1, keepdims=True), m.max(1, keepdims=True)
    rng = hi - lo
    return np.where(rng > 1e-12, (m - lo) / np.where(rng > 1e-12, rng, 1), 0.0)


def plus_plus_weights(acts, grads, eps):
    """Grad-CAM++ channel weights (Chattopadhay et al. 2018, eq. 19 with the ReLU of eq. 7),
    in float64: sum over cells of relu(g) * g^2 / (2 g^2 + sum(A) g^3 + eps), 0 where g <= 0."""
    a, g = acts.astype(np.float64), grads.astype(np.float64)
    g2, g3 = g ** 2, g ** 3
    denom = 2 * g2 + a.sum(axis=(2, 3))[:, :, None, None] * g3 + eps
    alpha = np.where(g > 0, g2 / np.where(g > 0, denom, 1), 0)
    return (np.maximum(g, 0) * alpha).sum(axis=(2, 3))


def road_curves(model, x, heat, seed=0):
    """grad-cam's ROAD curve of each image: p(lesion) with the top 0%, 5%, ..., 100% of `heat`
    imputed by its NoisyLinearImputer (neighbour weights 1/6 and 1/12, solved exactly, noise
    0.01 on the model's input scale). camseg's imputation solves the same kind of system with
    equal weights by Gauss-Seidel, on the image before normalisation. The maps are given as
    ranks, ties broken by pixel index as camseg breaks them, so both remove the same pixels."""
    n, size = heat.shape[0], heat.shape[-1]
    flat = heat.reshape(n, -1)
    ranked = np.empty_like(flat)
    for i in range(n):
        order = np.lexsort((np.arange(flat.shape[1]), -flat[i]))
        ranked[i, order] = 1.0 - np.arange(flat.shape[1]) / flat.shape[1]
    cams = ranked.reshape(n, size, size).astype(np.float32)
    p = lambda out: torch.softmax(out, -1)[TUMOUR]
    # 0% to 95%: with every pixel removed the package's system has no known pixel and is singular.
    curves = np.zeros((n, 20), dtype=np.float64)
    with torch.no_grad():
        curves[:, 0] = torch.softmax(model(x), -1)[:, TUMOUR].numpy()
    for step in range(1, 20):
        torch.manual_seed(seed + step)
        metric = ROADMostRelevantFirst(percentile=100 - 5 * step)
        curves[:, step] = metric(x, cams, [p] * n, model, return_diff=False)
    return curves


def area(curves):
    """Trapezoids over the points at 0%, 5%, ..., 95% (camseg's `curve_area` without its last
    step, which `road_curves` cannot compute)."""
    c = curves[:, :20]
    return ((c[:, 1:] + c[:, :-1]) / 2).sum(1) / 20


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--card", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    arch = json.load(open(args.card))["architecture"]
    tensors = load_file(args.weights)
    model = Classifier(arch)
    state = {k: v for k, v in tensors.items() if not k.startswith("reference.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"weights do not fit the card's architecture: missing {missing}, unexpected {unexpected}")
    model.eval()
    x = tensors["reference.inputs"]
    report, ok = {"images": int(x.shape[0])}, True
    with torch.no_grad():
        logits = model(x)
    d = float((logits - tensors["reference.logits"]).abs().max())
    report["logits_max_abs_diff"] = d
    ok &= d <= 1e-4
    targets = [ClassifierOutputTarget(TUMOUR)] * x.shape[0]
    for name, cls in [("gradcam", GradCAM), ("gradcam++", GradCAMPlusPlus)]:
        for block in range(len(arch["widths"])):
            ref = tensors[f"reference.{name}.block{block}"].numpy()
            with cls(model=model, target_layers=[model.features[block]]) as cam:
                # The map before enlarging: pytorch-grad-cam's own weighting of the layer's
                # activations and gradients, then ReLU (what `compute_cam_per_layer` does
                # before `scale_cam_image`).
                enlarged = cam(input_tensor=x, targets=targets)
                acts = cam.activations_and_grads.activations[0].cpu().numpy()
                grads = cam.activations_and_grads.gradients[0].cpu().numpy()
                raw = np.maximum(cam.get_cam_image(x, model.features[block], targets, acts, grads, False), 0)
            diff = float(np.abs(scaled(raw) - scaled(ref)).max())
            report[f"{name}_block{block}_max_abs_diff"] = diff
            if name == "gradcam":
                ok &= diff <= 1e-3
            else:
                # pytorch-grad-cam adds eps = 1e-6 to Grad-CAM++'s denominator, which is of the
                # size of g^2 itself at deep blocks. The paper's formula (eps -> 0) computed
                # here from pytorch-grad-cam's own activations and gradients is what camseg
                # must match; the package's eps is shown to explain the whole gap.
                paper = np.maximum((plus_plus_weights(acts, grads, 0.0)[:, :, None, None] * acts).sum(1), 0)
                package = np.maximum((plus_plus_weights(acts, grads, 1e-6)[:, :, None, None] * acts).sum(1), 0)
                d_paper = float(np.abs(scaled(paper) - scaled(ref)).max())
                report[f"{name}_block{block}_vs_paper_formula_max_abs_diff"] = d_paper
                report[f"{name}_block{block}_package_eps_explains_gap"] = float(np.abs(scaled(package) - scaled(raw)).max())
                ok &= d_paper <= 1e-3
            # Enlarged: pytorch-grad-cam scales, then resizes (OpenCV bilinear); camseg resizes,
            # then scales. The two orders differ where the enlarged map's extremes fall between
            # cells; reported, not checked.
            size = x.shape[-1]
            ours = nn.functional.interpolate(torch.from_numpy(ref)[:, None], size=(size, size), mode="bilinear", align_corners=False)[:, 0].numpy()
            report[f"{name}_block{block}_enlarged_max_abs_diff"] = float(np.abs(scaled(ours) - enlarged.reshape(len(ours), -1)).max())
    if "reference.road.p" in tensors:
        ours = tensors["reference.road.p"].numpy().astype(np.float64)
        theirs = road_curves(model, x, tensors["reference.road.heat"].numpy())
        gaps = np.abs(area(ours) - area(theirs))
        report["road_auc_camseg_mean"] = float(area(ours).mean())
        report["road_auc_grad_cam_mean"] = float(area(theirs).mean())
        report["road_auc_max_abs_diff"] = float(gaps.max())
        report["road_auc_mean_abs_diff"] = float(gaps.mean())
        report["road_curve_max_abs_diff"] = float(np.abs(ours[:, :20] - theirs).max())
        ok &= gaps.max() <= ROAD_TOLERANCE
    report["pass"] = bool(ok)
    print(json.dumps(report))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
