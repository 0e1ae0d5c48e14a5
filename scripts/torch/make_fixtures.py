"""Small CNNs exported by PyTorch, with PyTorch's own MAC and parameter counts, as test fixtures.

Run with Debian's PyTorch:  /usr/bin/python3 scripts/torch/make_fixtures.py
Writes fixtures/torch/<name>.onnx and <name>.expected.json. Everything in the JSON comes from
PyTorch (module attributes and forward hooks at batch 1), never from formbench:

  input        input shape at batch 1
  macs         sum over nn.Conv2d and nn.Linear modules, counted by forward hooks:
               Conv2d: Hout*Wout*Cout*(Cin/groups)*kh*kw; Linear: in_features*out_features
  params       sum of p.numel() over model.parameters() (BatchNorm weight and bias included,
               running statistics excluded)
  bnParams     BatchNorm weight + bias elements
  bnFoldedChannels  output channels of the BatchNorms that follow a Conv2d (eval-mode export
               folds them into that conv)
  fileParams   parameters an eval-mode (BN-folded) export holds: params - bnParams + one bias per
               channel of each folded BN for convs that had no bias
  layers       per Conv2d/Linear in forward order: module name, op ("Conv"/"Gemm"), macs, params
               (weight + bias of the module), outputShape at batch 1, and foldsBatchNorm for convs
               whose following BatchNorm an eval-mode export folds into them

Variants of mini_resnet: -bn keeps BatchNormalization nodes (exported in training mode), -static
has a fixed batch and flattens with x.view(x.size(0), -1) (torch leaves Constant -> Unsqueeze ->
Concat -> Reshape), and -view does the same with a dynamic batch, so the file holds a Shape ->
Gather -> Unsqueeze -> Concat -> Reshape subgraph on the symbolic batch.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "torch")


def conv_bn(cin, cout, k, stride=1, padding=None, groups=1, dilation=1, act=nn.ReLU):
    if padding is None:
        padding = tuple((dilation * (kk - 1)) // 2 for kk in ((k, k) if isinstance(k, int) else k))
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=padding, groups=groups, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        act(inplace=True),
    )


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class Bottleneck(nn.Module):
    def __init__(self, cin, inner, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, inner, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(inner)
        self.conv2 = nn.Conv2d(inner, inner, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(inner)
        self.conv3 = nn.Conv2d(inner, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + self.downsample(x))


class MiniResNet(nn.Module):
    def __init__(self, view_flatten=False):
        super().__init__()
        self.view_flatten = view_flatten
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.layer3 = Bottleneck(32, 16, 64, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.avgpool(x)
        x = x.view(x.size(0), -1) if self.view_flatten else torch.flatten(x, 1)
        return self.fc(x)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [conv_bn(cin, hidden, 1, act=nn.ReLU6)]
        layers += [
            conv_bn(hidden, hidden, 3, stride=stride, groups=hidden, act=nn.ReLU6),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MiniMobileNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(3, 16, 3, stride=2, act=nn.ReLU6),
            InvertedResidual(16, 16, 1, 1),
            InvertedResidual(16, 24, 2, 6),
            InvertedResidual(24, 24, 1, 6),
            conv_bn(24, 64, 1, act=nn.ReLU6),
        )
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, 10))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


class MiniInception(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 32, 3, stride=2)
        self.branch1x1 = conv_bn(32, 16, 1)
        self.branch7x7 = nn.Sequential(conv_bn(32, 16, 1), conv_bn(16, 16, (1, 7)), conv_bn(16, 24, (7, 1)))
        self.branch_pool = conv_bn(32, 8, 1)
        self.branch_max = conv_bn(32, 8, 1)
        self.branch_dilated = conv_bn(32, 16, 3, dilation=2)
        self.branch_grouped = conv_bn(32, 16, 3, groups=4)
        self.mix = conv_bn(88, 48, 1)
        self.fc = nn.Linear(48, 10)

    def forward(self, x):
        x = self.stem(x)
        pooled = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        maxed = F.max_pool2d(x, 3, stride=1, padding=1)
        y = torch.cat(
            [self.branch1x1(x), self.branch7x7(x), self.branch_pool(pooled), self.branch_max(maxed), self.branch_dilated(x), self.branch_grouped(x)],
            1,
        )
        y = F.adaptive_avg_pool2d(self.mix(y), 1)
        return self.fc(torch.flatten(y, 1))


def counts(model, shape):
    """PyTorch's own counts: forward hooks on Conv2d and Linear at batch 1."""
    layers = []
    names = {m: n for n, m in model.named_modules()}

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            macs = output.shape[2] * output.shape[3] * module.out_channels * (module.in_channels // module.groups) * kh * kw
            op = "Conv"
        else:
            macs = module.in_features * module.out_features
            op = "Gemm"
        params = sum(p.numel() for p in module.parameters())
        layer = {"module": names[module], "op": op, "macs": int(macs), "params": int(params), "outputShape": list(output.shape)}
        if op == "Conv":
            # Every conv in these models is bias-free and followed by a BatchNorm (checked below),
            # so an eval-mode export folds that BN into it, adding one bias per output channel.
            layer["foldsBatchNorm"] = True
        layers.append(layer)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(torch.zeros(*shape))
    for h in handles:
        h.remove()

    params = sum(p.numel() for p in model.parameters())
    bn = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    bn_params = sum(p.numel() for m in bn for p in m.parameters())
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(bn) == len(convs) and all(c.bias is None for c in convs), "every conv must be bias-free and followed by a BN"
    folded_channels = sum(m.num_features for m in bn)
    return {
        "input": list(shape),
        "macs": sum(l["macs"] for l in layers),
        "params": int(params),
        "bnParams": int(bn_params),
        "bnFoldedChannels": int(folded_channels),
        "fileParams": int(params - bn_params + folded_channels),
        "layers": layers,
    }


def randomize_bn(model, generator):
    """Non-trivial BN statistics, so folding really changes the weights."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=generator) * 0.1)


def export(model, name, shape, dynamic=True, fold=True):
    """fold=False keeps BatchNormalization nodes: torch folds BN into Conv for every eval-mode
    export, so the BN-keeping variant is exported in training mode (BN then carries its unused
    running-statistics outputs, which formbench drops)."""
    path = os.path.join(OUT, f"{name}.onnx")
    kwargs = {} if fold else {"training": torch.onnx.TrainingMode.TRAINING}
    if dynamic:
        kwargs["dynamic_axes"] = {"input": {0: "N"}, "logits": {0: "N"}}
    torch.onnx.export(
        model, torch.zeros(*shape), path, opset_version=13, input_names=["input"], output_names=["logits"],
        do_constant_folding=fold, **kwargs,
    )
    with open(os.path.join(OUT, f"{name}.expected.json"), "w") as f:
        json.dump({**counts(model, shape), "bnFolded": fold}, f, indent=1)
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    shape = (1, 3, 32, 32)
    for name, make in [("mini_resnet", MiniResNet), ("mini_mobilenet_v2", MiniMobileNetV2), ("mini_inception", MiniInception)]:
        model = make().eval()
        randomize_bn(model, g)
        export(model, name, shape)
    resnet = MiniResNet().eval()
    randomize_bn(resnet, g)
    export(resnet, "mini_resnet-bn", shape, fold=False)
    static = MiniResNet(view_flatten=True).eval()
    randomize_bn(static, g)
    export(static, "mini_resnet-static", shape, dynamic=False)
    dynamic_view = MiniResNet(view_flatten=True).eval()
    randomize_bn(dynamic_view, g)
    export(dynamic_view, "mini_resnet-view", shape)


if __name__ == "__main__":
    sys.exit(main())
