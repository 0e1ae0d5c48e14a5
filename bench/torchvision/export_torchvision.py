"""Exports torchvision networks (random weights) to ONNX for formbench's large-file benchmark.

  /usr/bin/python3 bench/torchvision/export_torchvision.py [OUT_DIR]   (default bench/out/)

Writes <name>.onnx (eval mode, opset 13, dynamic batch; BatchNorm folded by PyTorch) and
<name>.expected.json with PyTorch's own counts, defined as in scripts/torch/make_fixtures.py.
"""
import os
import sys
import time

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "torch"))
from make_fixtures import counts  # noqa: E402

import json  # noqa: E402

MODELS = [
    ("resnet152", lambda: torchvision.models.resnet152(weights=None), 224),
    ("resnet50", lambda: torchvision.models.resnet50(weights=None), 224),
    ("mobilenet_v2", lambda: torchvision.models.mobilenet_v2(weights=None), 224),
    ("inception_v3", lambda: torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True), 299),
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "out")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name, make, res in MODELS:
        start = time.time()
        model = make().eval()
        shape = (1, 3, res, res)
        path = os.path.join(out, f"{name}.onnx")
        torch.onnx.export(
            model, torch.zeros(*shape), path, opset_version=13, input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
        )
        with open(os.path.join(out, f"{name}.expected.json"), "w") as f:
            json.dump({**counts(model, shape), "bnFolded": True}, f, indent=1)
        print(f"{name}: {os.path.getsize(path) / 2**20:.1f} MiB in {time.time() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main()
