"""Exports torchvision networks (random weights) to ONNX for formbench's large-file benchmark.

  /usr/bin/python3 bench/torchvision/export_torchvision.py [OUT_DIR [NAMES]]   (default bench/out/, all)

Files already there are kept (delete them to re-export).

Writes <name>.onnx (eval mode, opset 13, dynamic batch "N"; BatchNorm folded by PyTorch; weights
random with torch.manual_seed(0) before each model, as torchvision's pretrained weights cannot be
downloaded here) and <name>.expected.json with PyTorch's own counts (forward hooks at batch 1),
fields defined as in scripts/torch/make_fixtures.py. With default BN init every folded conv bias is
zero and torch stores equal biases once (Identity nodes), so fileDistinctParams < fileParams.
resnet152.onnx is about 240 MB, the large-file benchmark input.
"""
import os
import sys
import time

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "torch"))
from make_fixtures import counts  # noqa: E402

import json  # noqa: E402

M = torchvision.models
MODELS = [
    ("resnet18", lambda: M.resnet18(weights=None), 224),
    ("resnet34", lambda: M.resnet34(weights=None), 224),
    ("resnet50", lambda: M.resnet50(weights=None), 224),
    ("resnet101", lambda: M.resnet101(weights=None), 224),
    ("resnet152", lambda: M.resnet152(weights=None), 224),
    ("resnext50_32x4d", lambda: M.resnext50_32x4d(weights=None), 224),
    ("resnext101_32x8d", lambda: M.resnext101_32x8d(weights=None), 224),
    ("mobilenet_v2", lambda: M.mobilenet_v2(weights=None), 224),
    ("inception_v3", lambda: M.inception_v3(weights=None, aux_logits=False, init_weights=True), 299),
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "out")
    os.makedirs(out, exist_ok=True)
    total = time.time()
    only = set(sys.argv[2].split(",")) if len(sys.argv) > 2 else None
    for name, make, res in MODELS:
        if only and name not in only:
            continue
        if os.path.exists(os.path.join(out, f"{name}.expected.json")) and os.path.exists(os.path.join(out, f"{name}.onnx")):
            continue
        start = time.time()
        torch.manual_seed(0)  # per model, so a file does not depend on which others were exported
        model = make().eval()
        shape = (1, 3, res, res)
        path = os.path.join(out, f"{name}.onnx")
        torch.onnx.export(
            model, torch.zeros(*shape), path, opset_version=13, input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
        )
        with open(os.path.join(out, f"{name}.expected.json"), "w") as f:
            json.dump({**counts(model, shape), "bnFolded": True}, f, indent=1)
            f.write("\n")
        print(f"{name}: {os.path.getsize(path)} bytes ({os.path.getsize(path) / 2**20:.1f} MiB) in {time.time() - start:.1f} s", flush=True)
    print(f"total {time.time() - total:.1f} s")


if __name__ == "__main__":
    main()
