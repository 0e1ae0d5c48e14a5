import { attr, ConstTensor, getInt, getInts, normAxis, type Node, type TensorType } from '../ir/index.js';

/**
 * The ONNX operators the importer reads, one entry per operator. An entry rewrites what older
 * (and newer) opsets wrote into the IR's opset-17 form; an operator without an entry is
 * unsupported. Adding an operator the IR already knows is one line here.
 */
export interface ConvertContext {
  /** Version of the model's default-domain opset. */
  opset: number;
  /** Adds a constant under a name derived from `name` (made unique); returns the name used. */
  addConstant(name: string, tensor: ConstTensor): string;
  /** Throws the importer's "unsupported operator" error for this node, with a reason. */
  fail(reason: string): never;
}

/** What a typed rewrite sees: the types and constant values of the values computed before it. */
export interface TypedContext extends ConvertContext {
  type(value: string): TensorType | undefined;
  constant(value: string): ConstTensor | undefined;
}

export interface OpImporter {
  /** Rewrites that need no shapes, applied as the node is read (attribute forms of old opsets). */
  convert?(node: Node, ctx: ConvertContext): void;
  /** Rewrites that need input types or constant inputs, applied in topological order. */
  typed?(node: Node, ctx: TypedContext): void;
  /** The IR has no such operator: it must be folded to a constant (shape arithmetic). */
  foldOnly?: true;
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** Moves an ints attribute to an int64 input at `index` (Split, Squeeze, Unsqueeze, Slice, Pad, Reshape). */
function attrToInput(node: Node, ctx: ConvertContext, name: string, index: number, from = name): void {
  const values = getInts(node.attrs, from);
  delete node.attrs[from];
  if (values === undefined) return;
  while (node.inputs.length <= index) node.inputs.push('');
  node.inputs[index] = ctx.addConstant(`${node.name}.${name}`, ConstTensor.fromInt64([values.length], values));
}

function dropAttrs(...names: string[]): (node: Node) => void {
  return (node) => {
    for (const n of names) delete node.attrs[n];
  };
}

/** An operator the IR takes as ONNX opset 17 writes it; opset < 6 `consumed_inputs` is dropped. */
const keep: OpImporter = { convert: dropAttrs('consumed_inputs') };
const foldOnly: OpImporter = { foldOnly: true };

/**
 * Before opset 7, Add/Sub/Mul/Div broadcast B against A starting at `axis` (with broadcast=1);
 * numpy broadcasting aligns trailing axes, so a constant B gets trailing 1s (same bytes).
 */
const legacyBinary: OpImporter = {
  convert: dropAttrs('consumed_inputs'),
  typed(node, ctx) {
    const broadcast = getInt(node.attrs, 'broadcast', 0);
    const axisAttr = node.attrs['axis'];
    delete node.attrs['broadcast'];
    delete node.attrs['axis'];
    if (ctx.opset >= 7 || broadcast !== 1 || !axisAttr || axisAttr.type !== 'int') return;
    const a = ctx.type(node.inputs[0]!);
    const b = ctx.type(node.inputs[1]!);
    if (!a || !b) return;
    const axis = normAxis(axisAttr.value, a.shape.length);
    const trailing = a.shape.length - axis - b.shape.length;
    if (trailing === 0) return;
    const c = ctx.constant(node.inputs[1]!);
    if (!c || trailing < 0) return ctx.fail(`opset-${ctx.opset} broadcasting along axis ${axisAttr.value} needs a constant second input`);
    const dims = [...c.dims, ...new Array<number>(trailing).fill(1)];
    node.inputs[1] = ctx.addConstant(`${node.name}.b`, new ConstTensor(c.dtype, dims, c.bytes()));
  },
};

/** ONNX TensorProto.DataType codes by the names Cast-1 used in its string `to` attribute. */
const CAST_NAMES: Record<string, number> = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 };

export const OP_IMPORTERS: Record<string, OpImporter> = {
  // Convolution, normalisation, pooling, dense layers.
  Conv: keep,
  BatchNormalization: {
    convert(node, ctx) {
      const spatial = node.attrs['spatial'];
      if (spatial && spatial.type === 'int' && spatial.value === 0) ctx.fail('per-activation (spatial=0) batch normalisation is not supported');
      dropAttrs('spatial', 'consumed_inputs', 'is_test')(node);
    },
    // Training-mode exports list running statistics as extra outputs; inference reads only the first.
    typed(node) {
      if (node.outputs.length > 1) node.outputs = [node.outputs[0]!];
    },
  },
  MaxPool: keep,
  AveragePool: {
    convert(node, ctx) {
      // Opset 19 added dilations to AveragePool; the IR's AveragePool has none.
      const d = getInts(node.attrs, 'dilations');
      if (d && d.some((v) => v !== 1)) ctx.fail('dilated average pooling is not supported');
      delete node.attrs['dilations'];
    },
  },
  GlobalAveragePool: keep,
  GlobalMaxPool: keep,
  Gemm: { convert: dropAttrs('broadcast') },
  MatMul: keep,
  ReduceMean: {
    typed(node, ctx) {
      // Opset 18 moved axes from an attribute to an input; the IR keeps the attribute.
      if (node.inputs[1]) {
        const axes = ctx.constant(node.inputs[1]);
        if (!axes) return ctx.fail('its axes input must be a constant');
        node.attrs['axes'] = attr.ints(axes.integers());
      }
      node.inputs = [node.inputs[0]!];
      const noop = getInt(node.attrs, 'noop_with_empty_axes', 0);
      delete node.attrs['noop_with_empty_axes'];
      if (noop === 1 && (getInts(node.attrs, 'axes') ?? []).length === 0) {
        node.op = 'Identity';
        node.attrs = {};
      }
    },
  },

  // Activations.
  Relu: keep,
  Sigmoid: keep,
  Tanh: keep,
  HardSwish: keep,
  LeakyRelu: keep,
  HardSigmoid: keep,
  Elu: keep,
  Sqrt: keep,
  Exp: keep,
  Neg: keep,
  Abs: keep,
  Clip: {
    convert(node, ctx) {
      if (ctx.opset >= 11) return;
      // Before opset 11 the bounds were float attributes.
      const bound = (key: string, fallback: number) => {
        const a = node.attrs[key];
        delete node.attrs[key];
        const v = a && (a.type === 'float' || a.type === 'int') ? a.value : fallback;
        return ctx.addConstant(`${node.name}.${key}`, ConstTensor.fromFloat32([], Float32Array.of(v)));
      };
      dropAttrs('consumed_inputs')(node);
      node.inputs = [node.inputs[0]!, bound('min', -FLOAT32_MAX), bound('max', FLOAT32_MAX)];
    },
  },
  Softmax: {
    typed(node, ctx) {
      if (ctx.opset >= 13) return;
      // Before opset 13 Softmax flattened the input to 2-D at `axis` (default 1): the same as
      // opset 13's per-axis softmax when `axis` is the last axis of size > 1.
      const x = ctx.type(node.inputs[0]!);
      if (!x) return;
      const rank = x.shape.length;
      const axis = normAxis(getInt(node.attrs, 'axis', 1), rank);
      if (x.shape.slice(axis + 1).some((d) => d !== 1)) {
        ctx.fail(`opset-${ctx.opset} Softmax over the flattened axes ${axis}..${rank - 1} of [${x.shape.join(', ')}] is not supported`);
      }
      node.attrs['axis'] = attr.int(axis);
    },
  },
  Dropout: { convert: dropAttrs('ratio', 'is_test', 'consumed_inputs') },
  Identity: keep,

  // Elementwise arithmetic and logic.
  Add: legacyBinary,
  Sub: legacyBinary,
  Mul: legacyBinary,
  Div: legacyBinary,
  Max: keep,
  Min: keep,
  Pow: keep,
  PRelu: keep,
  Floor: keep,
  Mod: keep,
  Equal: keep,
  Less: keep,
  Greater: keep,
  And: keep,
  Or: keep,
  Not: keep,
  Cast: {
    convert(node) {
      const to = node.attrs['to'];
      if (to && to.type === 'string') node.attrs['to'] = attr.int(CAST_NAMES[to.value.toUpperCase()] ?? 0);
    },
  },

  // Shape manipulation.
  Flatten: keep,
  Reshape: {
    convert(node, ctx) {
      // Reshape-1 held the target shape in an attribute.
      if (ctx.opset < 5) attrToInput(node, ctx, 'shape', 1);
      dropAttrs('consumed_inputs')(node);
    },
  },
  Transpose: keep,
  Squeeze: {
    convert(node, ctx) {
      if (ctx.opset < 13) attrToInput(node, ctx, 'axes', 1);
    },
  },
  Unsqueeze: {
    convert(node, ctx) {
      if (ctx.opset < 13) attrToInput(node, ctx, 'axes', 1);
    },
  },
  Slice: {
    convert(node, ctx) {
      if (ctx.opset >= 10) return;
      attrToInput(node, ctx, 'starts', 1);
      attrToInput(node, ctx, 'ends', 2);
      attrToInput(node, ctx, 'axes', 3);
    },
  },
  Concat: {
    convert(node, ctx) {
      // Concat-1 made axis optional with a default of 1.
      if (ctx.opset < 4 && !node.attrs['axis']) node.attrs['axis'] = attr.int(1);
    },
  },
  Split: {
    convert(node, ctx) {
      // Opset 18's num_outputs splits into ceil-sized parts, which is the IR's rule without sizes.
      delete node.attrs['num_outputs'];
      if (ctx.opset < 13) attrToInput(node, ctx, 'split', 1);
    },
  },
  Pad: {
    convert(node, ctx) {
      if (ctx.opset >= 11) return;
      // Pad-1 called the attribute `paddings`, Pad-2 `pads`; both moved to inputs in opset 11.
      const value = node.attrs['value'];
      delete node.attrs['value'];
      attrToInput(node, ctx, 'pads', 1, node.attrs['paddings'] ? 'paddings' : 'pads');
      if (value && (value.type === 'float' || value.type === 'int') && value.value !== 0) {
        node.inputs[2] = ctx.addConstant(`${node.name}.value`, ConstTensor.fromFloat32([], Float32Array.of(value.value)));
      }
    },
  },

  ReduceSum: {
    convert(node, ctx) {
      // Opset 13 moved axes from an attribute to an input, as the IR has them.
      if (ctx.opset < 13) attrToInput(node, ctx, 'axes', 1);
    },
  },
  Resize: {
    convert(node, ctx) {
      // Opset 10's Resize (X, scales) had one coordinate mapping; formbench reads opset 11's.
      if (ctx.opset < 11) ctx.fail(`opset-${ctx.opset} Resize is not supported; re-export with opset 11 or later`);
    },
  },

  // Indices: post-processing that picks and reads (keypoints, detections).
  ArgMax: keep,
  TopK: {
    convert(node, ctx) {
      // TopK-1 held k in an int attribute; opset 10 made it a 1-element input.
      if (ctx.opset >= 10) return;
      const k = getInt(node.attrs, 'k', 0);
      delete node.attrs['k'];
      node.inputs[1] = ctx.addConstant(`${node.name}.k`, ConstTensor.fromInt64([1], [k]));
    },
  },
  // Folded when its inputs are constants (shape arithmetic), a node otherwise.
  Gather: keep,
  GatherND: keep,

  // Constants and shape arithmetic, folded by the importer.
  Constant: foldOnly,
  Shape: foldOnly,
  Size: foldOnly,
  ConstantOfShape: foldOnly,
  Range: foldOnly,
  Where: foldOnly,
  Expand: foldOnly,
};

export function importableOps(): string[] {
  return Object.keys(OP_IMPORTERS).sort();
}
