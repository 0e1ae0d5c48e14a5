"""Plain PyTorch, as its users write it, timed under whatever BLAS and threading environment this
process was started with: `npm run bench -- torch-config` starts it once per configuration and
round, so that formbench's choice for its torch engine is measured against the alternatives.

Prints one JSON line: {network: median ms}. Threads: torch.set_num_threads(argv[1]).
"""
import json
import sys
import time

import torch
from torch import nn
import torchvision


def stem(c):
    return [nn.Conv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]


def head(c):
    return [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 1000)]


class InvertedResidual(nn.Module):
    def __init__(self, c, e=6):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(c, c * e, 1, bias=False), nn.BatchNorm2d(c * e), nn.ReLU6(inplace=True),
            nn.Conv2d(c * e, c * e, 3, 1, 1, groups=c * e, bias=False), nn.BatchNorm2d(c * e), nn.ReLU6(inplace=True),
            nn.Conv2d(c * e, c, 1, bias=False), nn.BatchNorm2d(c),
        )

    def forward(self, x):
        return x + self.conv(x)


def standard(depth, c=64):
    body = [m for _ in range(depth) for m in (nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True))]
    return nn.Sequential(*stem(c), *body, *head(c))


def depthwise_separable(depth, c=64):
    body = [
        m
        for _ in range(depth)
        for m in (nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True), nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True))
    ]
    return nn.Sequential(*stem(c), *body, *head(c))


def depthwise_bottleneck(depth, c=64):
    return nn.Sequential(*stem(c), *[InvertedResidual(c) for _ in range(depth)], *head(c))


NETWORKS = {
    "standard/d10/w64": (lambda: standard(10), 1),
    "standard/d10/w64 batch 8": (lambda: standard(10), 8),
    "depthwise-separable/d50/w64": (lambda: depthwise_separable(50), 1),
    "depthwise-bottleneck/d10/w64": (lambda: depthwise_bottleneck(10), 1),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(), 1),
    "resnet50": (lambda: torchvision.models.resnet50(), 1),
}


def main():
    torch.set_num_threads(int(sys.argv[1]))
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    torch.manual_seed(0)
    out = {}
    with torch.inference_mode():
        for name, (make, batch) in NETWORKS.items():
            m = make().eval()
            x = torch.randn(batch, 3, 224, 224)
            for _ in range(5):
                m(x)
            times = []
            for _ in range(runs):
                t0 = time.perf_counter_ns()
                m(x)
                times.append((time.perf_counter_ns() - t0) / 1e6)
            times.sort()
            out[name] = times[len(times) // 2]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
