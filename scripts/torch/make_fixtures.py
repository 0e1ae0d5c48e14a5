"""Small CNNs exported by PyTorch, with PyTorch's own MAC and parameter counts, as test fixtures.

Run with Debian's PyTorch:  /usr/bin/python3 scripts/torch/make_fixtures.py
(re)writes fixtures/torch/<name>.onnx and <name>.expected.json, byte for byte the same each run.
Exports: eval mode, opset 13, input "input" and output "logits" with a dynamic batch axis "N"
(except -static), torch's default settings otherwise (so BatchNorm is folded into the conv).

Everything in the JSON comes from PyTorch (module attributes and forward hooks at batch 1 on an
all-zeros input), never from formbench:

  input        input shape at batch 1, [1, 3, H, W]
  macs         sum of the layers' macs below
  params       sum(p.numel() for p in model.parameters()): conv and linear weights and biases and
               BatchNorm weight (gamma) and bias (beta); running mean/var are buffers, not counted
  bnParams     BatchNorm weight + bias elements
  bnFoldedChannels  sum of num_features over the BatchNorms whose input is a Conv2d's output
               (seen by a forward pre-hook); torch's eval-mode export folds each into that conv
  fileParams   parameters an eval-mode (BN-folded) export holds, counted per use: every conv weight;
               for each conv, out_channels bias elements if it has a bias or gains one by folding a
               BN; linear weight + bias; weight + bias of any BN not folded.
               Here = params - bnParams + bnFoldedChannels (all convs are bias-free and followed by BN)
  fileDistinctParams  fileParams with each distinct tensor counted once: torch's exporter stores
               initializers equal in value once, so folded conv biases that coincide (computed
               here as beta - gamma*mean/sqrt(var+eps), all zero under default BN init; only in
               -init) count once. Equals fileParams in every other fixture
  bnFolded     whether this file was exported with BN folded (false only for -bn)
  layers       one entry per nn.Conv2d / nn.Linear call, in forward (hook) order:
                 module      the module's name in model.named_modules() ("layer3.downsample.0")
                 op          "Conv" for Conv2d, "Gemm" for Linear (what torch exports them as)
                 macs        Conv2d: Hout*Wout*Cout*(Cin/groups)*kh*kw; Linear: in_features*out_features
                 params      numel of the module's own weight + bias (before folding)
                 outputShape the module's output shape at batch 1
                 foldsBatchNorm  (convs) true when a BatchNorm consumes this conv's output

Fixtures: mini_resnet (basic blocks, a bottleneck, strided 1x1-conv+BN downsample shortcuts,
max-pool, adaptive avg-pool, flatten, fc), mini_mobilenet_v2 (inverted residuals, depthwise convs,
ReLU6, residual add, dropout + linear), mini_inception (concatenated branches: 1x1, factorized 1x7 /
7x1, 3x3 avg-pool with count_include_pad=True as torchvision's Inception3 uses it (exported as
Pad + AveragePool) and with count_include_pad=False (AveragePool with pads), 3x3 max-pool, a
dilated conv, a grouped conv). Variants of mini_resnet:
  -bn      the same weights as mini_resnet, exported with TrainingMode.PRESERVE on the eval-mode
           model: inference-mode BatchNormalization nodes kept, not folded
  -static  fixed batch 1, flattens with x.view(x.size(0), -1); with the batch fixed torch
           constant-folds the size into the Reshape's shape
  -view    the same flatten on a dynamic batch: a Shape -> Gather -> Unsqueeze -> Concat ->
           Reshape subgraph on the symbolic batch
  -init    default BatchNorm init (gamma 1, beta 0, mean 0, var 1) like torchvision's weights=None
           models: every folded conv bias is zero, and torch deduplicates equal initializers,
           so convs read shared bias tensors through Identity nodes
"""
import collections
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "torch"))


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
        self.branch_pool_exclusive = conv_bn(32, 8, 1)
        self.branch_max = conv_bn(32, 8, 1)
        self.branch_dilated = conv_bn(32, 16, 3, dilation=2)
        self.branch_grouped = conv_bn(32, 16, 3, groups=4)
        self.mix = conv_bn(96, 48, 1)
        self.fc = nn.Linear(48, 10)

    def forward(self, x):
        x = self.stem(x)
        pooled = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)  # as torchvision's Inception3
        pooled_exclusive = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        maxed = F.max_pool2d(x, 3, stride=1, padding=1)
        y = torch.cat(
            [self.branch1x1(x), self.branch7x7(x), self.branch_pool(pooled), self.branch_pool_exclusive(pooled_exclusive), self.branch_max(maxed), self.branch_dilated(x), self.branch_grouped(x)],
            1,
        )
        y = F.adaptive_avg_pool2d(self.mix(y), 1)
        return self.fc(torch.flatten(y, 1))


def counts(model, shape):
    """PyTorch's own counts: forward hooks on Conv2d, Linear and BatchNorm2d at batch 1."""
    layers = []
    names = {m: n for n, m in model.named_modules()}
    conv_of_output = {}  # id(conv output tensor) -> (tensor, layer record); the tensor is kept alive
    bn_after_conv = set()
    folded_bn = {}  # conv module -> the BatchNorm folded into it

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
            layer["foldsBatchNorm"] = False
            conv_of_output[id(output)] = (output, layer, module)
        layers.append(layer)

    def bn_hook(module, inputs):
        # A BatchNorm whose input is a conv's output: an eval-mode export folds it into that conv.
        found = conv_of_output.get(id(inputs[0]))
        if found is not None and found[0] is inputs[0]:
            found[1]["foldsBatchNorm"] = True
            folded_bn[found[2]] = module
            bn_after_conv.add(module)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    handles += [m.register_forward_pre_hook(bn_hook) for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        model(torch.zeros(*shape))
    for h in handles:
        h.remove()

    params = sum(p.numel() for p in model.parameters())
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    bn_params = sum(p.numel() for m in bns for p in m.parameters())
    folded_channels = sum(m.num_features for m in bn_after_conv)
    # What an eval-mode export holds: every conv and linear weight and bias, one bias per output
    # channel for a bias-free conv that gains one from folding, and any BN left unfolded.
    file_params = 0
    for _, layer, module in conv_of_output.values():
        file_params += module.weight.numel()
        if module.bias is not None or layer["foldsBatchNorm"]:
            file_params += module.out_channels
    file_params += sum(p.numel() for m in model.modules() if isinstance(m, nn.Linear) for p in m.parameters())
    file_params += sum(p.numel() for m in bns if m not in bn_after_conv for p in m.parameters())
    # The same tensors counted once each: torch's exporter stores initializers equal in value once
    # (the copies become Identity nodes). Folded conv biases, beta - gamma * mean / sqrt(var + eps),
    # are the tensors that can coincide (all zero under default BN init); weights are random.
    distinct_params = file_params
    seen_biases = set()
    for _, layer, module in conv_of_output.values():
        bn = folded_bn.get(module)
        if bn is None:
            continue
        with torch.no_grad():
            bias = bn.bias - bn.weight * bn.running_mean / torch.sqrt(bn.running_var + bn.eps)
        key = bias.numpy().tobytes()
        if key in seen_biases:
            distinct_params -= module.out_channels
        seen_biases.add(key)
    assert len(conv_of_output) == sum(1 for m in model.modules() if isinstance(m, nn.Conv2d)), "each conv runs once"
    return {
        "input": list(shape),
        "macs": sum(l["macs"] for l in layers),
        "params": int(params),
        "bnParams": int(bn_params),
        "bnFoldedChannels": int(folded_channels),
        "fileParams": int(file_params),
        "fileDistinctParams": int(distinct_params),
        "layers": layers,
    }


def randomize_bn(model, generator):
    """Non-trivial BN statistics, so folding really changes the weights (and every folded bias differs)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=generator) * 0.1)


def export(model, name, shape, dynamic=True, fold=True):
    """fold=False keeps the BatchNormalization nodes: torch folds BN into Conv in every export in
    TrainingMode.EVAL (the default for an eval-mode model), whatever do_constant_folding says;
    TrainingMode.PRESERVE on an eval-mode model skips that fold and writes inference-mode BNs
    (one output, running statistics as initializers)."""
    assert not model.training
    path = os.path.join(OUT, f"{name}.onnx")
    kwargs = {} if fold else {"training": torch.onnx.TrainingMode.PRESERVE}
    if dynamic:
        kwargs["dynamic_axes"] = {"input": {0: "N"}, "logits": {0: "N"}}
    torch.onnx.export(
        model, torch.zeros(*shape), path, opset_version=13, input_names=["input"], output_names=["logits"], **kwargs,
    )
    with open(os.path.join(OUT, f"{name}.expected.json"), "w") as f:
        json.dump({**counts(model, shape), "bnFolded": fold}, f, indent=1)
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes): {describe(path)}")


def describe(path):
    """Operator census of the written file (a sanity check of the export form, not a count)."""
    try:
        import onnx  # Debian: python3-onnx; optional
    except ImportError:
        return "install python3-onnx for an operator census"
    ops = collections.Counter(n.op_type for n in onnx.load(path).graph.node)
    return ", ".join(f"{op} {n}" for op, n in sorted(ops.items()))


def main():
    os.makedirs(OUT, exist_ok=True)
    shape = (1, 3, 32, 32)
    g = torch.Generator().manual_seed(0)
    for name, make in [("mini_resnet", MiniResNet), ("mini_mobilenet_v2", MiniMobileNetV2), ("mini_inception", MiniInception)]:
        torch.manual_seed(0)
        model = make().eval()
        randomize_bn(model, g)
        export(model, name, shape)
        if name == "mini_resnet":
            # The same weights with BatchNormalization nodes kept: computes what mini_resnet.onnx computes.
            export(model, "mini_resnet-bn", shape, fold=False)
    for name, dynamic in [("mini_resnet-static", False), ("mini_resnet-view", True)]:
        torch.manual_seed(0)
        model = MiniResNet(view_flatten=True).eval()
        randomize_bn(model, g)
        export(model, name, shape, dynamic=dynamic)
    # Default BN init (weight 1, bias 0, mean 0, var 1), as torchvision's weights=None models: every
    # folded bias is zero and torch deduplicates equal initializers behind Identity nodes.
    torch.manual_seed(0)
    export(MiniResNet().eval(), "mini_resnet-init", shape)

if __name__ == "__main__":
    sys.exit(main())
