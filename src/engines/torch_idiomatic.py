"""The fidelity check's reference: the network as a PyTorch user would write it, with the IR's weights.

- torchvision's own classes for the reference networks it has (resnet*, resnext*, mobilenet_v2,
  inception_v3), and the DARTS network written in its authors' style (torch_darts.py);
- for everything else that is a chain of layers with residual additions (the six design patterns):
  an nn.Sequential of nn.Conv2d / nn.BatchNorm2d / nn.ReLU(inplace=True) / ..., a residual block
  being a small module whose forward is `out = self.body(x); out += x`, as torchvision's ResNet does.

Weights are copied from the IR in the order the module executes its layers (found with forward
hooks), checked kind by kind and shape by shape; the caller also compares outputs with the engine's.
"""

import torch
from torch import nn

TORCHVISION = {
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnext50_32x4d", "resnext101_32x8d", "mobilenet_v2", "inception_v3",
}


class Unsupported(Exception):
    pass


def attr(node, name, default=None):
    a = node["attrs"].get(name)
    return default if a is None else a["value"]


def network_name(spec):
    """'resnet50/r160/seed=3' -> 'resnet50'."""
    return spec.split("/")[0]


def build(spec, graph, tensors):
    """(module in eval mode, one line saying what it is). Raises Unsupported with the reason."""
    name = network_name(spec)
    if name in TORCHVISION:
        module = torchvision_model(name)
        described = "torchvision.models.%s (torchvision %s)" % (name, torchvision_version())
    elif name == "darts":
        from torch_darts import darts_imagenet

        module = darts_imagenet(1000)
        described = "DARTS_V2 NetworkImageNet written as its authors' nn.Module classes (torch_darts.py)"
    else:
        module = sequential_from_ir(graph, tensors)
        described = "nn.Sequential of nn.Conv2d, nn.BatchNorm2d, nn.ReLU(inplace=True), ... built from the IR; residual blocks as `out = body(x); out += x`"
        return module.eval(), described
    load_weights_in_execution_order(module, graph, tensors)
    return module.eval(), described


def torchvision_version():
    import torchvision

    return torchvision.__version__


def torchvision_model(name):
    try:
        import torchvision.models as models
    except ImportError as e:
        raise Unsupported("torchvision is not installed (apt-get install python3-torchvision): %s" % e)
    if name == "inception_v3":
        return models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    return getattr(models, name)(weights=None)


def weighted_nodes(graph):
    return [n for n in graph["nodes"] if n["op"] in ("Conv", "BatchNormalization", "Gemm")]


def execution_order(module, dims):
    """The Conv2d / BatchNorm2d / Linear modules in the order forward calls them."""
    order = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: order.append(m))
        for m in module.modules()
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))
    ]
    try:
        with torch.inference_mode():
            module.eval()(torch.zeros([1] + list(dims[1:])))
    finally:
        for h in hooks:
            h.remove()
    return order


def load_weights_in_execution_order(module, graph, tensors):
    dims = graph["input_dims"]
    layers = execution_order(module, dims)
    nodes = weighted_nodes(graph)
    if len(layers) != len(nodes):
        raise Unsupported("the idiomatic module runs %d Conv/BatchNorm/Linear layers, the IR has %d" % (len(layers), len(nodes)))
    with torch.no_grad():
        for m, node in zip(layers, nodes):
            copy_layer(m, node, tensors)


def tensor_of(node, i, tensors):
    names = node["inputs"]
    if i >= len(names) or not names[i]:
        return None
    if names[i] not in tensors:
        raise Unsupported("node '%s' reads a computed %s" % (node["name"], "weight" if i == 1 else "parameter"))
    return tensors[names[i]]


def copy_into(param, value, what):
    if tuple(param.shape) != tuple(value.shape):
        raise Unsupported("%s: the module's shape %s is not the IR's %s" % (what, tuple(param.shape), tuple(value.shape)))
    param.copy_(value)


def copy_layer(m, node, tensors):
    where = "layer %s (%s)" % (node["name"], node["op"])
    if isinstance(m, nn.Conv2d) and node["op"] == "Conv":
        copy_into(m.weight, tensor_of(node, 1, tensors), where)
        b = tensor_of(node, 2, tensors)
        if (b is None) != (m.bias is None):
            raise Unsupported("%s: bias present in one of the module and the IR only" % where)
        if b is not None:
            copy_into(m.bias, b, where)
    elif isinstance(m, nn.BatchNorm2d) and node["op"] == "BatchNormalization":
        for i, p in ((1, m.weight), (2, m.bias), (3, m.running_mean), (4, m.running_var)):
            copy_into(p, tensor_of(node, i, tensors), where)
        m.eps = float(attr(node, "epsilon", 1e-5))
    elif isinstance(m, nn.Linear) and node["op"] == "Gemm":
        w = tensor_of(node, 1, tensors)
        copy_into(m.weight, w if attr(node, "transB", 0) else w.t(), where)
        b = tensor_of(node, 2, tensors)
        if b is not None:
            copy_into(m.bias, b.reshape(-1), where)
    else:
        raise Unsupported("%s meets the module's %s: the two run different layers" % (where, type(m).__name__))


class Residual(nn.Module):
    """A block with a skip connection, as torchvision's ResNet writes it: out = body(x); out += x."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        out = self.body(x)
        out += x
        return out


def symmetric_padding(node, rank):
    if attr(node, "auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise Unsupported("node '%s' uses auto_pad SAME" % node["name"])
    pads = [0] * (2 * rank) if attr(node, "auto_pad", "NOTSET") == "VALID" else list(attr(node, "pads", [0] * (2 * rank)))
    if pads[:rank] != pads[rank:]:
        raise Unsupported("node '%s' has asymmetric pads %s" % (node["name"], pads))
    return tuple(pads[:rank])


def layer_module(node, tensors):
    op = node["op"]
    if op == "Conv":
        w = tensor_of(node, 1, tensors)
        if w.dim() != 4:
            raise Unsupported("node '%s': a %dD convolution" % (node["name"], w.dim() - 2))
        b = tensor_of(node, 2, tensors)
        groups = attr(node, "group", 1)
        m = nn.Conv2d(
            w.shape[1] * groups, w.shape[0], tuple(w.shape[2:]),
            stride=tuple(attr(node, "strides", [1, 1])), padding=symmetric_padding(node, 2),
            dilation=tuple(attr(node, "dilations", [1, 1])), groups=groups, bias=b is not None,
        )
        copy_layer(m, node, tensors)
        return m
    if op == "BatchNormalization":
        m = nn.BatchNorm2d(tensor_of(node, 1, tensors).shape[0])
        copy_layer(m, node, tensors)
        return m
    if op == "Relu":
        return nn.ReLU(inplace=True)
    if op == "Clip":
        lo, hi = tensor_of(node, 1, tensors), tensor_of(node, 2, tensors)
        if lo is not None and hi is not None and float(lo) == 0.0 and float(hi) == 6.0:
            return nn.ReLU6(inplace=True)
        raise Unsupported("node '%s': Clip other than ReLU6" % node["name"])
    if op == "MaxPool":
        k = attr(node, "kernel_shape")
        return nn.MaxPool2d(
            tuple(k), stride=tuple(attr(node, "strides", [1, 1])), padding=symmetric_padding(node, 2),
            dilation=tuple(attr(node, "dilations", [1, 1])), ceil_mode=bool(attr(node, "ceil_mode", 0)),
        )
    if op == "GlobalAveragePool":
        return nn.AdaptiveAvgPool2d(1)
    if op == "Flatten" and attr(node, "axis", 1) == 1:
        return nn.Flatten(1)
    if op == "Gemm" and attr(node, "alpha", 1.0) == 1.0 and attr(node, "beta", 1.0) == 1.0 and not attr(node, "transA", 0):
        w = tensor_of(node, 1, tensors)
        out_features, in_features = (w.shape[0], w.shape[1]) if attr(node, "transB", 0) else (w.shape[1], w.shape[0])
        m = nn.Linear(in_features, out_features, bias=tensor_of(node, 2, tensors) is not None)
        copy_layer(m, node, tensors)
        return m
    raise Unsupported("node '%s' (%s) has no nn layer here" % (node["name"], op))


def sequential_from_ir(graph, tensors):
    """A chain of layers, each reading the previous one's output, and Adds that close a residual."""
    current = graph["inputs"][0]
    layers = []
    at = {current: 0}  # tensor -> how many layers precede it in `layers`
    with torch.no_grad():
        for node in graph["nodes"]:
            data = [i for i in node["inputs"] if i and i not in tensors]
            if node["op"] == "Add" and len(data) == 2 and current in data:
                skip = data[0] if data[1] == current else data[1]
                if skip not in at:
                    raise Unsupported("node '%s' adds a tensor that is not an earlier layer's output" % node["name"])
                k = at[skip]
                layers[k:] = [Residual(nn.Sequential(*layers[k:]))]
                at = {t: n for t, n in at.items() if n <= k}
            elif data == [current]:
                layers.append(layer_module(node, tensors))
            else:
                raise Unsupported("node '%s' (%s) does not read the previous layer's output: the network is not a chain of layers with residual additions" % (node["name"], node["op"]))
            current = node["outputs"][0]
            at[current] = len(layers)
    if current != graph["outputs"][0]:
        raise Unsupported("the chain does not end at the graph's output")
    return nn.Sequential(*layers)
