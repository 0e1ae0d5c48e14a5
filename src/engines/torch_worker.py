"""formbench's PyTorch worker: builds a network from formbench's graph IR and runs it eagerly.

One process serves one loaded session. It reads framed requests on stdin and answers each with
one framed reply on stdout (the real stdout is kept private; fd 1 is pointed at stderr so that
stray prints cannot corrupt the protocol).

Frame (both directions): u32 little-endian header length, the header as UTF-8 JSON, then the raw
bytes of every blob the header lists in "blobs" (a list of byte lengths), back to back.

Requests (header "cmd"):
  load   {graph: {inputs, outputs, nodes, initializers: [{name, dtype, dims}]}, threads, layout,
          mode, precision}; blobs = initializer bytes in order -> {ok, torch, ops}
          precision: fp32 | bf16 (weights and activations bfloat16) | bf16-autocast (CPU autocast)
  run    {dims, idiomatic?}; blobs = [float32 input]       -> {ok, dims}; blobs = [float32 output]
  timed  {dims, repeat, idiomatic?}; blobs = [input] unless repeat -> {ok, ns}  (forward pass only)
  idiomatic {}                                              -> {ok, description}
          builds the fidelity check's reference: the same network and weights as a PyTorch user's
          module (torch_idiomatic.py); run/timed with idiomatic: true then run it instead
  profile {dims, repeat, runs}; blobs as for timed         -> {ok, steps: [{name, op, ns: [per run]}], runNs}
          (eager only: each node timed in `runs` runs after 1 unrecorded)
  exit                                                      -> process ends
Any failure answers {ok: false, error}; the TS side turns it into a rejected promise.
"""

import contextlib
import json
import math
import os
import struct
import sys
import time
import traceback

_out = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)
sys.stdout = sys.stderr
_in = sys.stdin.buffer

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_flush_denormal(False)

DTYPES = {
    "float32": torch.float32,
    "float16": torch.float16,
    "float64": torch.float64,
    "int8": torch.int8,
    "uint8": torch.uint8,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
}


def read_exact(n):
    chunks = []
    while n > 0:
        b = _in.read(n)
        if not b:
            raise EOFError("stdin closed")
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def read_frame():
    (size,) = struct.unpack("<I", read_exact(4))
    header = json.loads(read_exact(size).decode("utf-8"))
    blobs = [read_exact(n) if n else b"" for n in header.get("blobs", [])]
    return header, blobs


def write_frame(header, blobs=()):
    header = dict(header)
    header["blobs"] = [len(b) for b in blobs]
    data = json.dumps(header).encode("utf-8")
    _out.write(struct.pack("<I", len(data)))
    _out.write(data)
    for b in blobs:
        _out.write(b)
    _out.flush()


class UnsupportedOp(Exception):
    pass


def attr(node, name, default=None):
    a = node["attrs"].get(name)
    return default if a is None else a["value"]


# ---------------------------------------------------------------- operators
# Each builder receives (node, consts) — consts maps initializer names to Python lists of their
# values, for inputs ONNX requires to be constant (shapes, pads, slice bounds, clip bounds) — and
# returns a function of the node's input tensors (None for '' inputs) giving its output tensors.


def window(node, rank):
    k = attr(node, "kernel_shape")
    strides = attr(node, "strides", [1] * rank)
    dil = attr(node, "dilations", [1] * rank)
    pads = attr(node, "pads", [0] * (2 * rank))
    auto = attr(node, "auto_pad", "NOTSET")
    if auto not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise UnsupportedOp("auto_pad %s" % auto)
    if auto == "VALID":
        pads = [0] * (2 * rank)
    return k, list(strides), list(dil), list(pads), auto


def same_pads(spatial, k, strides, dil, auto):
    n = len(k)
    pads = [0] * (2 * n)
    for i in range(n):
        out = -(-spatial[i] // strides[i])
        total = max(0, (out - 1) * strides[i] + dil[i] * (k[i] - 1) + 1 - spatial[i])
        small = total // 2
        pads[i] = small if auto == "SAME_UPPER" else total - small
        pads[i + n] = total - pads[i]
    return pads


def torch_pad(pads):
    """ONNX spatial pads [b0, b1, …, e0, e1, …] as F.pad's (last dim first) tuple."""
    n = len(pads) // 2
    out = []
    for i in reversed(range(n)):
        out += [pads[i], pads[i + n]]
    return out


def symmetric(pads):
    n = len(pads) // 2
    return all(pads[i] == pads[i + n] for i in range(n))


CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
MAXPOOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
AVGPOOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def op_conv(node, consts):
    group = attr(node, "group", 1)
    auto = attr(node, "auto_pad", "NOTSET")
    w_dims = consts.dims.get(node["inputs"][1])
    if w_dims is None or auto in ("SAME_UPPER", "SAME_LOWER"):
        return conv_per_call(node, group, auto)
    # Everything but the tensors is known at load: resolve it once, as nn.Conv2d does in __init__.
    rank = len(w_dims) - 2
    k = attr(node, "kernel_shape", list(w_dims[2:]))
    strides = list(attr(node, "strides", [1] * rank))
    dil = list(attr(node, "dilations", [1] * rank))
    pads = [0] * (2 * rank) if auto == "VALID" else list(attr(node, "pads", [0] * (2 * rank)))
    conv = CONV[rank]
    if symmetric(pads):
        padding = pads[:rank]
        return lambda x, w, b=None: conv(x, w, b, strides, padding, dil, group)
    explicit = torch_pad(pads)
    zeros = [0] * rank
    return lambda x, w, b=None: conv(F.pad(x, explicit), w, b, strides, zeros, dil, group)


def conv_per_call(node, group, auto):
    """SAME padding depends on the input's size, and a computed weight on its shape: resolved per call."""

    def run(x, w, b=None):
        rank = w.dim() - 2
        k = attr(node, "kernel_shape", list(w.shape[2:]))
        strides = attr(node, "strides", [1] * rank)
        dil = attr(node, "dilations", [1] * rank)
        pads = attr(node, "pads", [0] * (2 * rank))
        if auto == "VALID":
            pads = [0] * (2 * rank)
        elif auto in ("SAME_UPPER", "SAME_LOWER"):
            pads = same_pads(list(x.shape[2:]), k, strides, dil, auto)
        if symmetric(pads):
            padding = pads[:rank]
        else:
            x = F.pad(x, torch_pad(pads))
            padding = [0] * rank
        return CONV[rank](x, w, b, strides, padding, dil, group)

    return run


def pool_geometry(node, x):
    rank = x.dim() - 2
    k, strides, dil, pads, auto = window(node, rank)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = same_pads(list(x.shape[2:]), k, strides, dil, auto)
    return rank, k, strides, dil, pads


def op_maxpool(node, consts):
    if len([o for o in node["outputs"] if o]) > 1:
        raise UnsupportedOp("MaxPool with an Indices output")
    ceil = bool(attr(node, "ceil_mode", 0))
    k = attr(node, "kernel_shape")
    if k is not None and attr(node, "auto_pad", "NOTSET") in ("NOTSET", "VALID"):
        # Resolved once at load, as nn.MaxPool2d does in __init__.
        rank, k, strides, dil, pads = (len(k),) + window(node, len(k))[:4]
        pool = MAXPOOL[rank]
        if symmetric(pads) and all(p <= kk // 2 for p, kk in zip(pads, k)):
            padding = pads[:rank]
            return lambda x: pool(x, k, strides, padding, dil, ceil)
        explicit = torch_pad(pads)
        return lambda x: pool(F.pad(x, explicit, value=-math.inf), k, strides, 0, dil, ceil)

    def run(x):
        rank, k, strides, dil, pads = pool_geometry(node, x)
        if symmetric(pads) and all(p <= kk // 2 for p, kk in zip(pads, k)):
            return MAXPOOL[rank](x, k, strides, pads[:rank], dil, ceil)
        x = F.pad(x, torch_pad(pads), value=-math.inf)
        return MAXPOOL[rank](x, k, strides, 0, dil, ceil)

    return run


def op_avgpool(node, consts):
    ceil = bool(attr(node, "ceil_mode", 0))
    include = bool(attr(node, "count_include_pad", 0))

    def run(x):
        rank, k, strides, dil, pads = pool_geometry(node, x)
        if any(d != 1 for d in dil):
            raise UnsupportedOp("AveragePool with dilations")
        if symmetric(pads) and all(p <= kk // 2 for p, kk in zip(pads, k)):
            return AVGPOOL[rank](x, k, strides, pads[:rank], ceil, include)
        if include:
            return AVGPOOL[rank](F.pad(x, torch_pad(pads)), k, strides, 0, ceil, True)
        # Asymmetric pads that must not count: average of x over the average of a ones-mask.
        ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype)
        num = AVGPOOL[rank](F.pad(x, torch_pad(pads)), k, strides, 0, ceil, True)
        den = AVGPOOL[rank](F.pad(ones, torch_pad(pads)), k, strides, 0, ceil, True)
        return num / den

    return run


def op_global_avg(node, consts):
    def run(x):
        if x.dim() == 4:
            return F.adaptive_avg_pool2d(x, 1)
        return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)

    return run


def op_global_max(node, consts):
    return lambda x: x.amax(dim=tuple(range(2, x.dim())), keepdim=True)


def op_batchnorm(node, consts):
    if attr(node, "training_mode", 0):
        raise UnsupportedOp("BatchNormalization in training mode")
    eps = float(attr(node, "epsilon", 1e-5))
    return lambda x, scale, bias, mean, var: F.batch_norm(x, mean, var, scale, bias, False, 0.0, eps)


def op_gemm(node, consts):
    alpha = float(attr(node, "alpha", 1.0))
    beta = float(attr(node, "beta", 1.0))
    ta = attr(node, "transA", 0)
    tb = attr(node, "transB", 0)

    def run(a, b, c=None):
        if not ta and tb and alpha == 1.0 and (c is None or beta == 1.0):
            return F.linear(a, b, c)
        if ta:
            a = a.t()
        if tb:
            b = b.t()
        y = torch.matmul(a, b)
        if alpha != 1.0:
            y = y * alpha
        if c is not None:
            y = y + (c * beta if beta != 1.0 else c)
        return y

    return run


def scalar_const(node, consts, index):
    names = node["inputs"]
    if index >= len(names) or not names[index]:
        return None
    name = names[index]
    if name not in consts:
        return name  # a computed bound: used as a tensor
    v = consts[name]
    return float(v[0])


def op_clip(node, consts):
    lo = scalar_const(node, consts, 1)
    hi = scalar_const(node, consts, 2)
    tensor_bounds = isinstance(lo, str) or isinstance(hi, str)

    def run(x, lo_t=None, hi_t=None):
        if tensor_bounds:
            return torch.clamp(x, lo_t, hi_t)
        if lo == 0.0 and hi == 6.0:
            return F.relu6(x)
        if lo is not None and hi is not None:
            return F.hardtanh(x, lo, hi)
        return torch.clamp(x, lo, hi)

    return run


def op_hardsigmoid(node, consts):
    alpha = float(attr(node, "alpha", 0.2))
    beta = float(attr(node, "beta", 0.5))
    if abs(alpha - 1.0 / 6.0) < 1e-7 and beta == 0.5:
        return F.hardsigmoid
    return lambda x: torch.clamp(x * alpha + beta, 0.0, 1.0)


def op_softmax(node, consts):
    axis = attr(node, "axis", -1)
    return lambda x: torch.softmax(x, axis)


def op_flatten(node, consts):
    axis = attr(node, "axis", 1)

    def run(x):
        a = axis + x.dim() if axis < 0 else axis
        if a == 0:
            return x.reshape(1, -1)
        if a == 1:
            return torch.flatten(x, 1)
        lead = 1
        for d in x.shape[:a]:
            lead *= int(d)
        return x.reshape(lead, -1)

    return run


def const_input(node, consts, index, what):
    names = node["inputs"]
    if index >= len(names) or not names[index]:
        return None
    if names[index] not in consts:
        raise UnsupportedOp("%s from a computed tensor ('%s'); only constant %s are supported" % (what, names[index], what))
    return [int(v) for v in consts[names[index]]]


def op_reshape(node, consts):
    shape = const_input(node, consts, 1, "shape")
    allowzero = attr(node, "allowzero", 0)

    def run(x, _shape=None):
        target = [int(x.shape[i]) if (d == 0 and not allowzero) else d for i, d in enumerate(shape)]
        return x.reshape(target)

    return run


def op_transpose(node, consts):
    perm = attr(node, "perm")

    def run(x):
        p = perm if perm is not None else list(reversed(range(x.dim())))
        return x.permute(p)

    return run


def op_slice(node, consts):
    starts = const_input(node, consts, 1, "starts")
    ends = const_input(node, consts, 2, "ends")
    axes = const_input(node, consts, 3, "axes")
    steps = const_input(node, consts, 4, "steps")
    if steps and any(s <= 0 for s in steps):
        raise UnsupportedOp("Slice with non-positive steps")

    def run(x, *_rest):
        index = [slice(None)] * x.dim()
        for i, s in enumerate(starts):
            axis = axes[i] if axes else i
            if axis < 0:
                axis += x.dim()
            index[axis] = slice(s, ends[i], steps[i] if steps else 1)
        return x[tuple(index)]

    return run


def op_pad(node, consts):
    pads = const_input(node, consts, 1, "pads")
    mode = attr(node, "mode", "constant")
    value = scalar_const(node, consts, 2)
    if isinstance(value, str):
        raise UnsupportedOp("Pad with a computed constant_value")

    def run(x, *_rest):
        rank = x.dim()
        if mode == "constant":
            return F.pad(x, torch_pad(pads), value=value or 0.0)
        if any(pads[i] or pads[i + rank] for i in (0, 1)):
            raise UnsupportedOp("Pad mode %s over the batch or channel axis" % mode)
        spatial = pads[2:rank] + pads[rank + 2 :]
        return F.pad(x, torch_pad(spatial), mode={"reflect": "reflect", "edge": "replicate"}[mode])

    return run


def op_concat(node, consts):
    axis = attr(node, "axis")
    return lambda *xs: torch.cat(xs, axis)


def op_split(node, consts):
    axis = attr(node, "axis", 0)
    sizes = const_input(node, consts, 1, "split")
    n = len(node["outputs"])

    def run(x, *_rest):
        size = int(x.shape[axis])
        parts = sizes
        if parts is None:
            each = -(-size // n)
            parts = [max(0, min(each, size - i * each)) for i in range(n)]
        ys = tuple(torch.split(x, parts, axis))
        return ys if n > 1 else ys[0]  # one output is stored as a tensor, not a 1-tuple

    return run


def op_squeeze(node, consts):
    axes = const_input(node, consts, 1, "axes")

    def run(x, *_rest):
        if axes is None:
            return torch.squeeze(x)
        for a in sorted([a + x.dim() if a < 0 else a for a in axes], reverse=True):
            x = x.squeeze(a)
        return x

    return run


def op_unsqueeze(node, consts):
    axes = const_input(node, consts, 1, "axes")

    def run(x, *_rest):
        rank = x.dim() + len(axes)
        for a in sorted(a + rank if a < 0 else a for a in axes):
            x = x.unsqueeze(a)
        return x

    return run


def op_reduce_mean(node, consts):
    axes = attr(node, "axes")
    keep = bool(attr(node, "keepdims", 1))

    def run(x):
        dims = tuple(axes) if axes is not None else tuple(range(x.dim()))
        return x.mean(dim=dims, keepdim=keep)

    return run


# ONNX TensorProto.DataType codes Cast accepts.
CAST_TO = {1: torch.float32, 2: torch.uint8, 3: torch.int8, 6: torch.int32, 7: torch.int64, 9: torch.bool, 10: torch.float16, 11: torch.float64}


def op_cast(node, consts):
    to = CAST_TO.get(attr(node, "to", 0))
    if to is None:
        raise UnsupportedOp("Cast to element type %s" % attr(node, "to", 0))
    # float -> int truncates toward zero in ONNX and in torch's .to alike.
    return lambda x: x.to(to)


def op_div(node, consts):
    # ONNX's integer Div truncates toward zero; torch.div would promote integers to float.
    def run(a, b):
        if a.is_floating_point() or b.is_floating_point():
            return torch.div(a, b)
        return torch.div(a, b, rounding_mode="trunc")

    return run


def op_mod(node, consts):
    # fmod = 0: the remainder takes the divisor's sign (Python's %, torch.remainder); fmod = 1: C's fmod.
    return simple(torch.fmod if attr(node, "fmod", 0) else torch.remainder)(node, consts)


def variadic(fn):
    def build(node, consts):
        def run(*xs):
            y = xs[0]
            for x in xs[1:]:
                y = fn(y, x)
            return y

        return run

    return build


def op_reduce_sum(node, consts):
    axes = const_input(node, consts, 1, "axes")
    keep = bool(attr(node, "keepdims", 1))
    noop = bool(attr(node, "noop_with_empty_axes", 0))

    def run(x, *_rest):
        if not axes:
            if noop:
                return x
            return x.sum(dim=tuple(range(x.dim())), keepdim=keep) if keep else x.sum()
        return x.sum(dim=tuple(axes), keepdim=keep)

    return run


def op_argmax(node, consts):
    axis = attr(node, "axis", 0)
    keep = bool(attr(node, "keepdims", 1))
    last = bool(attr(node, "select_last_index", 0))

    def run(x):
        if not last:
            return torch.argmax(x, axis, keep)
        # The last maximum: the first one of the flipped axis, counted back.
        a = axis + x.dim() if axis < 0 else axis
        return x.shape[a] - 1 - torch.argmax(torch.flip(x, (a,)), a, keep)

    return run


def op_topk(node, consts):
    k = const_input(node, consts, 1, "k")
    axis = attr(node, "axis", -1)
    largest = bool(attr(node, "largest", 1))
    if k is None:
        raise UnsupportedOp("TopK without a constant k")

    def run(x, *_rest):
        # torch.topk breaks ties by no documented rule; ONNX wants the lower index first. A stable
        # sort gives exactly that.
        values, indices = torch.sort(x, dim=axis, descending=largest, stable=True)
        return values.narrow(axis, 0, k[0]), indices.narrow(axis, 0, k[0])

    return run


def op_gather(node, consts):
    axis = attr(node, "axis", 0)

    def run(x, indices):
        a = axis + x.dim() if axis < 0 else axis
        i = torch.where(indices < 0, indices + x.shape[a], indices).long()
        y = torch.index_select(x, a, i.reshape(-1))
        return y.reshape(tuple(x.shape[:a]) + tuple(indices.shape) + tuple(x.shape[a + 1 :]))

    return run


def op_gather_nd(node, consts):
    if attr(node, "batch_dims", 0):
        raise UnsupportedOp("GatherND with batch_dims")

    def run(x, indices):
        depth = indices.shape[-1]
        sizes = torch.tensor(x.shape[:depth], dtype=torch.int64)
        i = indices.long()
        i = torch.where(i < 0, i + sizes, i)
        # The index tuples as offsets into x flattened over its first `depth` axes.
        strides = torch.ones(depth, dtype=torch.int64)
        for j in range(depth - 2, -1, -1):
            strides[j] = strides[j + 1] * x.shape[j + 1]
        flat = (i * strides).sum(-1).reshape(-1)
        y = x.reshape((-1,) + tuple(x.shape[depth:]))[flat]
        return y.reshape(tuple(indices.shape[:-1]) + tuple(x.shape[depth:]))

    return run


def resize_source(mode, coords, out_size, in_size, scale):
    """ONNX Resize's source coordinate of every output position along one axis (float64)."""
    x = torch.arange(out_size, dtype=torch.float64)
    if coords == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if coords == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if out_size > 1 else torch.zeros(out_size, dtype=torch.float64)
    if coords == "align_corners":
        return x * ((in_size - 1) / (out_size - 1)) if out_size > 1 else torch.zeros(out_size, dtype=torch.float64)
    if coords == "asymmetric":
        return x / scale
    if coords == "tf_half_pixel_for_nn":
        return (x + 0.5) / scale
    raise UnsupportedOp("Resize with coordinate_transformation_mode %s" % coords)


def nearest_index(src, nearest, in_size):
    if nearest == "floor":
        i = torch.floor(src)
    elif nearest == "ceil":
        i = torch.ceil(src)
    elif nearest == "round_prefer_ceil":
        i = torch.floor(src + 0.5)
    elif nearest == "round_prefer_floor":
        i = torch.ceil(src - 0.5)
    else:
        raise UnsupportedOp("Resize with nearest_mode %s" % nearest)
    return i.clamp(0, in_size - 1).long()


def op_resize(node, consts):
    """ONNX Resize (opset 13+: X, roi, scales, sizes) over any axes, modes nearest and linear.

    Each resized axis is an index map computed once per input shape from ONNX's formulas: nearest
    picks one source row, linear blends two (source clamped to [0, size-1], as onnxruntime does).
    """
    mode = attr(node, "mode", "nearest")
    coords = attr(node, "coordinate_transformation_mode", "half_pixel")
    nearest = attr(node, "nearest_mode", "round_prefer_floor")
    if mode not in ("nearest", "linear"):
        raise UnsupportedOp("Resize with mode %s" % mode)
    if coords == "tf_crop_and_resize":
        raise UnsupportedOp("Resize with coordinate_transformation_mode tf_crop_and_resize")
    cache = {}

    def plan(shape, scales, sizes):
        axes = []
        for a, n in enumerate(shape):
            if sizes is not None:
                out = int(sizes[a])
                scale = out / n
            else:
                scale = float(scales[a])
                out = int(math.floor(n * scale))
            if out == n and scale == 1.0:
                continue
            src = resize_source(mode, coords, out, n, scale)
            if mode == "nearest":
                axes.append((a, nearest_index(src, nearest, n), None, None))
            else:
                src = src.clamp(0, n - 1)
                lo = torch.floor(src)
                w = (src - lo).to(torch.float32)
                lo = lo.long()
                hi = torch.clamp(lo + 1, max=n - 1)
                axes.append((a, lo, hi, w))
        return axes

    def run(x, roi=None, scales=None, sizes=None):
        key = tuple(x.shape)
        axes = cache.get(key)
        if axes is None:
            axes = plan(list(x.shape), scales.tolist() if scales is not None and scales.numel() else None, sizes.tolist() if sizes is not None and sizes.numel() else None)
            cache[key] = axes
        for a, lo, hi, w in axes:
            if hi is None:
                x = torch.index_select(x, a, lo)
                continue
            view = [1] * x.dim()
            view[a] = w.numel()
            wv = w.to(x.dtype).reshape(view)
            x0 = torch.index_select(x, a, lo)
            x1 = torch.index_select(x, a, hi)
            x = x0 + (x1 - x0) * wv
        return x

    return run


def op_prelu(node, consts):
    """ONNX PRelu. A per-channel slope ([C, 1, ...] or [C] against N x C x ...) is F.prelu's [C]
    weight: one kernel. torch.where(x > 0, x, x * slope) is three, and its where is ~20x slower
    than F.prelu on a 32x96x96 activation (torch 1.13, one thread)."""
    dims = consts.dims.get(node["inputs"][1])

    def general(x, slope):
        return torch.where(x > 0, x, x * slope)

    if dims is None:
        return general

    def per_channel(x):
        # The slope right-aligned against x (numpy broadcasting) varies along axis 1 at most.
        if x.dim() < 2 or len(dims) > x.dim():
            return False
        padded = [1] * (x.dim() - len(dims)) + list(dims)
        return all(d == 1 for i, d in enumerate(padded) if i != 1) and padded[1] in (1, x.shape[1])

    # Decided once per input rank and channel count, not on every run (the timed loop calls run).
    decided = {}

    def run(x, slope):
        key = (x.dim(), x.shape[1] if x.dim() > 1 else 0)
        flat = decided.get(key)
        if flat is None:
            flat = decided[key] = slope.reshape(-1) if per_channel(x) else False
        if flat is not False:
            return F.prelu(x, flat)
        return general(x, slope)

    return run


def simple(fn):
    return lambda node, consts: fn


OPS = {
    "Conv": op_conv,
    "BatchNormalization": op_batchnorm,
    "MaxPool": op_maxpool,
    "AveragePool": op_avgpool,
    "GlobalAveragePool": op_global_avg,
    "GlobalMaxPool": op_global_max,
    "Gemm": op_gemm,
    "MatMul": simple(torch.matmul),
    "Relu": simple(F.relu),
    "Clip": op_clip,
    "Sigmoid": simple(torch.sigmoid),
    "Tanh": simple(torch.tanh),
    "HardSigmoid": op_hardsigmoid,
    "HardSwish": simple(F.hardswish),
    "LeakyRelu": lambda node, consts: (lambda x, a=float(attr(node, "alpha", 0.01)): F.leaky_relu(x, a)),
    "Elu": lambda node, consts: (lambda x, a=float(attr(node, "alpha", 1.0)): F.elu(x, a)),
    "Softmax": op_softmax,
    "Sqrt": simple(torch.sqrt),
    "Exp": simple(torch.exp),
    "Neg": simple(torch.neg),
    "Abs": simple(torch.abs),
    "Floor": simple(torch.floor),
    "PRelu": op_prelu,
    "Add": simple(torch.add),
    "Sub": simple(torch.sub),
    "Mul": simple(torch.mul),
    "Div": op_div,
    "Mod": op_mod,
    "Max": variadic(torch.maximum),
    "Min": variadic(torch.minimum),
    "Pow": simple(torch.pow),
    "Equal": simple(torch.eq),
    "Less": simple(torch.lt),
    "Greater": simple(torch.gt),
    "Cast": op_cast,
    "ArgMax": op_argmax,
    "TopK": op_topk,
    "Gather": op_gather,
    "GatherND": op_gather_nd,
    "Resize": op_resize,
    "ReduceSum": op_reduce_sum,
    "Identity": simple(lambda x: x),
    "Dropout": simple(lambda x, *_rest: x),
    "Flatten": op_flatten,
    "Reshape": op_reshape,
    "Transpose": op_transpose,
    "Slice": op_slice,
    "Pad": op_pad,
    "Concat": op_concat,
    "Split": op_split,
    "Squeeze": op_squeeze,
    "Unsqueeze": op_unsqueeze,
    "ReduceMean": op_reduce_mean,
}

# Inputs that are read at build time as constants and never passed as tensors.
CONST_INPUTS = {"Reshape": {1}, "Slice": {1, 2, 3, 4}, "Pad": {1, 2}, "Split": {1}, "Squeeze": {1}, "Unsqueeze": {1}, "ReduceSum": {1}, "TopK": {1}}

# Operators whose outputs may share storage with their first input (views): a tensor and its views
# live and die together, so none of them may be overwritten while another is still to be read.
VIEW_OPS = {"Identity", "Dropout", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Slice", "Split"}


def add_in_place(a, b):
    # Like ResNet's `out += identity`; a broadcasting or type-promoting add needs a new tensor.
    if a.shape == b.shape and a.dtype == b.dtype:
        return a.add_(b)
    return torch.add(a, b)


def inplace_clip(node, consts):
    lo = scalar_const(node, consts, 1)
    hi = scalar_const(node, consts, 2)
    if isinstance(lo, str) or isinstance(hi, str):
        return None
    if lo == 0.0 and hi == 6.0:
        return lambda x, *_bounds: F.hardtanh_(x, 0.0, 6.0)  # nn.ReLU6(inplace=True)
    return lambda x, *_bounds: torch.clamp_(x, lo, hi)


# In-place forms, used where the input dies at this node (torchvision's ReLU(inplace=True),
# ReLU6(inplace=True), Hardswish(inplace=True) and `out += identity`): no new activation is allocated.
INPLACE = {
    "Relu": lambda node, consts: torch.relu_,
    "Clip": inplace_clip,
    "LeakyRelu": lambda node, consts: (lambda x, a=float(attr(node, "alpha", 0.01)): F.leaky_relu_(x, a)),
    "HardSwish": lambda node, consts: (lambda x: F.hardswish(x, inplace=True)),
    "Sigmoid": lambda node, consts: torch.sigmoid_,
    "Add": lambda node, consts: add_in_place,
}


class Consts(dict):
    """Initializer values small enough to read at load (shapes, bounds), and every initializer's dims."""

    def __init__(self, values, dims):
        super().__init__(values)
        self.dims = dims


class IRModule(torch.nn.Module):
    """The IR graph as a module: initializers are buffers; forward runs a plan made once at load.

    The plan holds, per node, its function with every attribute resolved, the slots of its
    inputs and outputs, and the slots that die after it. forward keeps tensors in a list and drops
    each one after its last use, as an nn.Sequential's locals do; keeping them all to the end of the
    pass made every activation a fresh allocation (3x slower, ~50k page faults per inference).
    """

    def __init__(self, graph, tensors, channels_last):
        super().__init__()
        consts = {}
        dims = {}
        self.const_names = []
        for i, (name, t) in enumerate(tensors.items()):
            dims[name] = list(t.shape)
            if t.dtype != torch.float32 and t.dim() <= 1 and t.numel() <= 64:
                consts[name] = t.tolist()
            elif t.dtype == torch.float32 and t.numel() == 1:
                consts[name] = t.reshape(-1).tolist()
            if channels_last and t.dim() == 4:
                t = t.contiguous(memory_format=torch.channels_last)
            self.register_buffer("w%d" % i, t)
            self.const_names.append(name)
        consts = Consts(consts, dims)
        unsupported = [n for n in graph["nodes"] if n["op"] not in OPS]
        if unsupported:
            n = unsupported[0]
            ops = sorted({m["op"] for m in unsupported})
            raise UnsupportedOp(
                "torch engine: unsupported operator '%s' (node '%s'); unsupported here: %s"
                % (n["op"], n["name"], ", ".join(ops))
            )

        # Slot 0 is always None (an omitted input); then the constants, the graph input, the rest.
        slot = {}
        for name in self.const_names:
            slot[name] = len(slot) + 1
        self.input_name = graph["inputs"][0]
        self.output_name = graph["outputs"][0]
        slot[self.input_name] = len(slot) + 1
        fixed = set(slot.values())  # constants and the input: never freed, never overwritten
        for node in graph["nodes"]:
            for o in node["outputs"]:
                if o and o not in slot:
                    slot[o] = len(slot) + 1
        self.n_slots = len(slot) + 1
        self.input_slot = slot[self.input_name]
        self.output_slot = slot[self.output_name]

        steps = []
        for node in graph["nodes"]:
            try:
                fn = OPS[node["op"]](node, consts)
            except UnsupportedOp as e:
                raise UnsupportedOp("torch engine: node '%s' (%s): unsupported %s" % (node["name"], node["op"], e))
            skip = CONST_INPUTS.get(node["op"], set())
            ins = [0 if (i in skip or not name) else slot[name] for i, name in enumerate(node["inputs"])]
            while ins and ins[-1] == 0:  # trailing omitted inputs are dropped so that defaults apply
                ins.pop()
            outs = [slot[o] if o else 0 for o in node["outputs"]]
            steps.append((node, fn, ins, outs))

        # Liveness: the last step that reads each slot, per alias group (a tensor and its views).
        group = list(range(self.n_slots))

        def find(a):
            while group[a] != a:
                group[a] = group[group[a]]
                a = group[a]
            return a

        for node, _, ins, outs in steps:
            if node["op"] in VIEW_OPS and ins:
                for o in outs:
                    if o:
                        group[find(o)] = find(ins[0])
        last_use = [-1] * self.n_slots
        for k, (_, _, ins, outs) in enumerate(steps):
            for i in outs:
                last_use[i] = max(last_use[i], k)
            for i in ins:
                last_use[i] = k
        last_use[self.output_slot] = len(steps)
        group_last = {}
        pinned = {find(i) for i in fixed} | {find(self.output_slot)}
        for i in range(1, self.n_slots):
            g = find(i)
            group_last[g] = max(group_last.get(g, -1), last_use[i])

        self.plan = []
        self.names = []
        self.inplace_steps = 0
        for k, (node, fn, ins, outs) in enumerate(steps):
            first = ins[0] if ins else 0
            others = {find(i) for i in ins[1:] if i}
            if (
                node["op"] in INPLACE
                and first
                and find(first) not in pinned
                and group_last[find(first)] == k
                and find(first) not in others
            ):
                inplace = INPLACE[node["op"]](node, consts)
                if inplace is not None:
                    fn = inplace
                    self.inplace_steps += 1
            dead = sorted({i for i in set(ins) | set(outs) if i and i not in fixed and i != self.output_slot and last_use[i] <= k})
            self.plan.append((fn, ins, outs[0] if len(outs) == 1 else None, outs, dead))
            self.names.append((node["name"], node["op"]))
        self._slots_template = None

    def _apply(self, fn, *args, **kwargs):
        # .to(dtype) and friends replace the buffers: the slot template must be rebuilt.
        self._slots_template = None
        return super()._apply(fn, *args, **kwargs)

    def fresh_slots(self, x):
        if self._slots_template is None:
            self._slots_template = [None] + [getattr(self, "w%d" % i) for i in range(len(self.const_names))] + [None] * (self.n_slots - 1 - len(self.const_names))
        env = list(self._slots_template)
        env[self.input_slot] = x
        return env

    def forward(self, x):
        env = self.fresh_slots(x)
        for fn, ins, out, outs, dead in self.plan:
            y = fn(*[env[i] for i in ins])
            if out is not None:
                env[out] = y
            else:
                for o, t in zip(outs, y):
                    if o:
                        env[o] = t
            for i in dead:
                env[i] = None
        return env[self.output_slot]

    def forward_profiled(self, x, step_ns):
        """forward with each node's call timed into step_ns, with the same memory behaviour. Eager
        CPU operators return only when their result is computed (intra-op threads are joined), so
        no extra synchronisation."""
        env = self.fresh_slots(x)
        clock = time.perf_counter_ns
        for k, (fn, ins, out, outs, dead) in enumerate(self.plan):
            args = [env[i] for i in ins]
            t0 = clock()
            y = fn(*args)
            step_ns[k] = clock() - t0
            if out is not None:
                env[out] = y
            else:
                for o, t in zip(outs, y):
                    if o:
                        env[o] = t
            del args
            for i in dead:
                env[i] = None
        return env[self.output_slot]


class Runner:
    """One module run as the session's options say: mode (eager or frozen TorchScript), layout and
    precision. The engine's IR module and the fidelity check's idiomatic module each get one, so
    the two differ only in how the network is written."""

    def __init__(self, module, mode, precision, channels_last):
        self.mode = mode
        self.precision = precision
        if channels_last:
            module = module.to(memory_format=torch.channels_last)
        if precision == "bf16":
            # Every float buffer and parameter (weights, BN statistics) becomes bfloat16 once, at load.
            module = module.to(torch.bfloat16)
        self.module = module.eval()
        self.traced = {}

    def forward_fn(self, x):
        if self.mode == "eager":
            return self.module
        key = tuple(x.shape)
        fn = self.traced.get(key)
        if fn is None:
            with torch.no_grad():
                traced = torch.jit.trace(self.module, (self.cast_in(x),), check_trace=False)
                frozen = torch.jit.freeze(traced)
                fn = torch.jit.optimize_for_inference(frozen)
                # The profiling executor specialises on the first runs: do them here, untimed.
                for _ in range(3):
                    fn(self.cast_in(x))
            self.traced[key] = fn
        return fn

    def cast_in(self, x):
        return x.to(torch.bfloat16) if self.precision == "bf16" else x

    def precision_context(self):
        if self.precision == "bf16-autocast":
            return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def grad_context(self):
        return torch.inference_mode() if self.mode == "eager" else torch.no_grad()

    def call(self, fn, x):
        """One forward pass in the session's precision, float32 in and out: the casts at the
        boundary are part of the inference, as the Casts of an FP16 ONNX model are."""
        with self.precision_context():
            return fn(self.cast_in(x)).float()

    def forward(self, x):
        fn = self.forward_fn(x)
        with self.grad_context():
            return self.call(fn, x)

    def timed(self, x):
        fn = self.forward_fn(x)
        with self.grad_context():
            t0 = time.perf_counter_ns()
            y = self.call(fn, x)
            t1 = time.perf_counter_ns()
        del y
        return t1 - t0


class Session:
    def __init__(self, header, blobs):
        threads = int(header["threads"])
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
        torch.set_flush_denormal(False)
        self.channels_last = header["layout"] == "channels_last"
        self.mode = header["mode"]
        self.precision = header.get("precision", "fp32")
        if self.precision == "bf16-autocast" and self.mode != "eager":
            raise UnsupportedOp("torch engine: precision=bf16-autocast needs mode=eager (autocast decides per call, which tracing would freeze)")
        self.spec = header.get("spec", "")
        self.graph = header["graph"]
        if len(self.graph["inputs"]) != 1:
            raise UnsupportedOp("torch engine: graphs with %d inputs are not supported (one input)" % len(self.graph["inputs"]))
        self.tensors = {}
        for meta, blob in zip(self.graph["initializers"], blobs):
            dtype = DTYPES[meta["dtype"]]
            dims = meta["dims"]
            if len(blob) == 0:
                t = torch.zeros(dims, dtype=dtype)
            else:
                t = torch.frombuffer(bytearray(blob), dtype=dtype).reshape(dims)
            self.tensors[meta["name"]] = t
        self.ir = IRModule(self.graph, self.tensors, self.channels_last)
        self.runner = Runner(self.ir, self.mode, self.precision, False)
        self.idiomatic = None
        self.last = None  # (dims, tensor) of the last input received

    def load_idiomatic(self):
        import torch_idiomatic

        try:
            module, described = torch_idiomatic.build(self.spec, self.graph, self.tensors)
        except torch_idiomatic.Unsupported as e:
            raise UnsupportedOp("torch fidelity: no idiomatic PyTorch module for %s: %s" % (self.spec, e))
        self.idiomatic = Runner(module, self.mode, self.precision, self.channels_last)
        return described

    def runner_for(self, header):
        if header.get("idiomatic"):
            if self.idiomatic is None:
                raise RuntimeError("idiomatic module not loaded")
            return self.idiomatic
        return self.runner

    def take_input(self, header, blobs):
        dims = tuple(header["dims"])
        if header.get("repeat"):
            if self.last is None or self.last[0] != dims:
                raise RuntimeError("repeat without a cached input of dims %s" % (dims,))
            return self.last[1]
        x = torch.frombuffer(bytearray(blobs[0]), dtype=torch.float32).reshape(dims)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        self.last = (dims, x)
        return x

    def profile(self, x, runs):
        if self.mode != "eager":
            raise UnsupportedOp("torch engine: per-layer profiles need mode=eager (a frozen TorchScript graph runs fused, without per-node clocks)")
        steps = self.ir.names
        per_step = [[] for _ in steps]
        run_ns = []
        runner = self.runner
        with torch.inference_mode(), runner.precision_context():
            for r in range(runs + 1):
                step_ns = [0] * len(steps)
                t0 = time.perf_counter_ns()
                y = runner.module.forward_profiled(runner.cast_in(x), step_ns).float()
                t1 = time.perf_counter_ns()
                del y
                if r == 0:
                    continue  # the first run allocates: unrecorded
                run_ns.append(t1 - t0)
                for k, ns in enumerate(step_ns):
                    per_step[k].append(ns)
        return [{"name": s[0], "op": s[1], "ns": ns} for s, ns in zip(steps, per_step)], run_ns


def main():
    session = None
    while True:
        try:
            header, blobs = read_frame()
        except EOFError:
            return
        cmd = header.get("cmd")
        try:
            if cmd == "exit":
                return
            if cmd == "load":
                session = Session(header, blobs)
                write_frame({"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads(), "inPlace": session.ir.inplace_steps})
            elif cmd == "idiomatic":
                write_frame({"ok": True, "description": session.load_idiomatic()})
            elif cmd == "run":
                y = session.runner_for(header).forward(session.take_input(header, blobs))
                y = y.contiguous().float()
                write_frame({"ok": True, "dims": list(y.shape)}, [y.numpy().tobytes()])
                # formbench counters' marker: under callgrind, counts are written out after each
                # getppid() call, so a simulated run is cut at inference boundaries (callgrind.ts).
                os.getppid()
            elif cmd == "profile":
                steps, run_ns = session.profile(session.take_input(header, blobs), int(header["runs"]))
                write_frame({"ok": True, "steps": steps, "runNs": run_ns})
            elif cmd == "timed":
                ns = session.runner_for(header).timed(session.take_input(header, blobs))
                write_frame({"ok": True, "ns": ns})
            else:
                write_frame({"ok": False, "error": "unknown command %r" % cmd})
        except UnsupportedOp as e:
            write_frame({"ok": False, "error": str(e)})
        except Exception as e:  # noqa: BLE001 - every failure goes back to the caller
            traceback.print_exc(file=sys.stderr)
            write_frame({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})


if __name__ == "__main__":
    main()
