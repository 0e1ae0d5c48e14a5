import { attr, ConstTensor, getInts, type Node } from '../ir/index.js';

/**
 * Rewrites of older (and newer) opset forms into the IR's opset-17 form, one entry per
 * operator. Each receives the node and the model's opset and may add constants.
 */
export interface NormalizeContext {
  opset: number;
  addConstant(name: string, tensor: ConstTensor): string;
}

type Normalizer = (node: Node, ctx: NormalizeContext) => void;

const FLOAT32_MAX = 3.4028234663852886e38;

/** Moves an ints attribute to an int64 input at `index` (Split, Squeeze, Unsqueeze, Slice, Pad). */
function attrToInput(node: Node, ctx: NormalizeContext, name: string, index: number): void {
  const values = getInts(node.attrs, name);
  delete node.attrs[name];
  if (values === undefined) return;
  while (node.inputs.length < index) node.inputs.push('');
  node.inputs[index] = ctx.addConstant(`${node.name}.${name}`, ConstTensor.fromInt64([values.length], values));
}

function dropAttrs(...names: string[]): Normalizer {
  return (node) => {
    for (const n of names) delete node.attrs[n];
  };
}

export const NORMALIZERS: Record<string, Normalizer> = {
  Clip(node, ctx) {
    if (ctx.opset >= 11) return;
    const bound = (key: string, fallback: number) => {
      const a = node.attrs[key];
      delete node.attrs[key];
      const v = a && (a.type === 'float' || a.type === 'int') ? a.value : fallback;
      return ctx.addConstant(`${node.name}.${key}`, ConstTensor.fromFloat32([], Float32Array.of(v)));
    };
    node.inputs = [node.inputs[0]!, bound('min', -FLOAT32_MAX), bound('max', FLOAT32_MAX)];
  },
  Split(node, ctx) {
    delete node.attrs['num_outputs'];
    if (ctx.opset < 13) attrToInput(node, ctx, 'split', 1);
  },
  Squeeze(node, ctx) {
    if (ctx.opset < 13) attrToInput(node, ctx, 'axes', 1);
  },
  Unsqueeze(node, ctx) {
    if (ctx.opset < 13) attrToInput(node, ctx, 'axes', 1);
  },
  Slice(node, ctx) {
    if (ctx.opset >= 10) return;
    attrToInput(node, ctx, 'starts', 1);
    attrToInput(node, ctx, 'ends', 2);
    attrToInput(node, ctx, 'axes', 3);
  },
  Pad(node, ctx) {
    if (ctx.opset >= 11) return;
    const value = node.attrs['value'];
    delete node.attrs['value'];
    attrToInput(node, ctx, 'pads', 1);
    if (value && value.type === 'float' && value.value !== 0) {
      node.inputs[2] = ctx.addConstant(`${node.name}.value`, ConstTensor.fromFloat32([], Float32Array.of(value.value)));
    }
  },
  ReduceMean(node) {
    // Opset 18 moved axes to an input; the IR keeps the attribute form (the importer resolves the constant).
    delete node.attrs['noop_with_empty_axes'];
  },
  BatchNormalization(node) {
    for (const k of ['spatial', 'consumed_inputs', 'is_test']) delete node.attrs[k];
    // Training-mode outputs (running statistics) are dropped when nobody reads them (see the importer).
  },
  Dropout: dropAttrs('ratio', 'is_test'),
  Softmax(node, ctx) {
    // Before opset 13 the default axis was 1 (coerced to 2-D); keep that intent explicit.
    if (ctx.opset < 13 && !node.attrs['axis']) node.attrs['axis'] = attr.int(1);
  },
  Gemm: dropAttrs('broadcast'),
  Add: dropAttrs('broadcast', 'axis', 'consumed_inputs'),
  Sub: dropAttrs('broadcast', 'axis', 'consumed_inputs'),
  Mul: dropAttrs('broadcast', 'axis', 'consumed_inputs'),
  Div: dropAttrs('broadcast', 'axis', 'consumed_inputs'),
  Relu: dropAttrs('consumed_inputs'),
  LeakyRelu: dropAttrs('consumed_inputs'),
  Sigmoid: dropAttrs('consumed_inputs'),
  HardSigmoid: dropAttrs('consumed_inputs'),
};

export function normalizeNode(node: Node, ctx: NormalizeContext): void {
  NORMALIZERS[node.op]?.(node, ctx);
}

