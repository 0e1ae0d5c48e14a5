/**
 * The network as TF.js users mostly run it: a tfjs-converter GraphModel. The IR is written as the
 * model.json graph (a GraphDef as JSON, with its weights in a weightsManifest) that the converter
 * emits for the same Keras network: BatchNormalization folded into the convolution before it and
 * bias + ReLU/ReLU6 fused into it (`_FusedConv2D`, `FusedDepthwiseConv2dNative` with fused_ops
 * [BiasAdd, Relu|Relu6]), Dense as `_FusedMatMul` [BiasAdd], GlobalAveragePooling2D as `Mean`,
 * residual adds as `AddV2`, Keras's ZeroPadding2D as `Pad` before a VALID op. A grouped Conv2D
 * has no form tfjs-converter can execute (TF.js convolutions take no groups), so it is what a
 * user's custom layer converts to: `Split`, one `_FusedConv2D` per group, `ConcatV2`.
 * Loaded with tf.loadGraphModel(tf.io.fromMemory(…)) and run by the converter's own executor.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import { getFloat, getInt, getInts, getString, inferShapes, topologicalOrder, type Graph, type Node } from '../ir/index.js';
import { windowOf } from '../ir/ops/index.js';
import { foldConvUnit, planConvUnits, type ConvUnit } from './tfjs-fold.js';
import { depthwiseFilter, hwioFilter } from './tfjs-ops.js';

/** A value as the GraphDef holds it: NHWC, N×C, or a pooled N×C×1×1 as N×C. */
type Form = 'nhwc' | 'flat' | 'pooled';

interface Value {
  /** The GraphDef tensor name ('node' or 'node:k'). */
  ref: string;
  form: Form;
  /** Known ≥ 0 (after a ReLU): zero padding then equals ONNX's −∞ padding of a max pool. */
  nonNegative: boolean;
}

/** An AttrValue of GraphDef's JSON form (int64 as strings, bytes as base64). */
type AttrValue = Record<string, unknown>;

interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

/** A GraphModel's artifacts built from an IR graph, and what it is made of. */
export interface GraphModelBuild {
  artifacts: TF.io.ModelArtifacts;
  /** The GraphDef tensor to fetch. */
  outputName: string;
  /** Whether the output is NHWC (4-D): the caller converts it to the IR's NCHW order. */
  outputNhwc: boolean;
  /** The GraphDef ops, in order of first use ('_FusedConv2D[BiasAdd,Relu]' with its fused ops). */
  ops: string[];
}

class NoGraphModelForm extends UserError {}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const A = {
  float: { type: 'DT_FLOAT' },
  int32: { type: 'DT_INT32' },
  ints: (v: number[]): AttrValue => ({ list: { i: v.map(String) } }),
  int: (v: number): AttrValue => ({ i: String(v) }),
  str: (v: string): AttrValue => ({ s: b64(v) }),
  strs: (v: string[]): AttrValue => ({ list: { s: v.map(b64) } }),
  f: (v: number): AttrValue => ({ f: v }),
  b: (v: boolean): AttrValue => ({ b: v }),
};

/** [top, left, bottom, right] that TF's 'same' padding adds for this window. */
function samePads(spatial: number[], kernel: number[], strides: number[], dilations: number[]): number[] {
  const pads = [0, 0, 0, 0];
  for (let i = 0; i < 2; i++) {
    const out = Math.ceil(spatial[i]! / strides[i]!);
    const total = Math.max(0, (out - 1) * strides[i]! + dilations[i]! * (kernel[i]! - 1) + 1 - spatial[i]!);
    pads[i] = Math.floor(total / 2);
    pads[i + 2] = total - pads[i]!;
  }
  return pads;
}

/** Writes the GraphDef: nodes, and the weights of its Const nodes in one buffer. */
class GraphWriter {
  readonly nodes: GraphNode[] = [];
  readonly specs: TF.io.WeightsManifestEntry[] = [];
  private readonly chunks: Uint8Array[] = [];
  private readonly names = new Set<string>();
  readonly ops: string[] = [];

  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./-]/g, '_').replace(/^[^A-Za-z0-9.]/, 'n$&');
    let name = clean;
    for (let k = 2; this.names.has(name); k++) name = `${clean}_${k}`;
    this.names.add(name);
    return name;
  }

  node(name: string, op: string, input: string[], attr: Record<string, AttrValue> = {}, label = op): string {
    const n = this.unique(name);
    this.nodes.push({ name: n, op, input, attr });
    if (!this.ops.includes(label)) this.ops.push(label);
    return n;
  }

  constant(name: string, shape: number[], values: Float32Array | Int32Array): string {
    const n = this.unique(name);
    const dtype = values instanceof Float32Array ? 'float32' : 'int32';
    const dt = dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32';
    this.nodes.push({
      name: n,
      op: 'Const',
      attr: { value: { tensor: { dtype: dt, tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } }, dtype: { type: dt } },
    });
    this.specs.push({ name: n, shape, dtype });
    this.chunks.push(new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)));
    return n;
  }

  weightData(): ArrayBuffer {
    const total = this.chunks.reduce((a, c) => a + c.byteLength, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out.buffer;
  }
}

interface BuildCtx {
  g: GraphWriter;
  graph: Graph;
  node: Node;
  input(i: number): Value;
  shape(i: number): number[];
  outShape(): number[];
  fail(reason: string): never;
}

type NodeWriter = (ctx: BuildCtx) => Value;

function nhwcInput(ctx: BuildCtx, i = 0): Value {
  const v = ctx.input(i);
  if (v.form !== 'nhwc') ctx.fail(`input ${i} must be a 4-D (N×C×H×W) value`);
  return v;
}

/** TF padding for ONNX `pads`: VALID, SAME where they are TF's 'same' pads, otherwise a Pad (ZeroPadding2D) first. */
function padded(ctx: BuildCtx, x: string, pads: number[], same: number[] | undefined): { x: string; padding: 'VALID' | 'SAME' } {
  if (pads.every((p) => p === 0)) return { x, padding: 'VALID' };
  if (same && pads.every((p, i) => p === same[i])) return { x, padding: 'SAME' };
  const [t, l, b, r] = pads as [number, number, number, number];
  const paddings = ctx.g.constant(`${ctx.node.name}/pad/paddings`, [4, 2], Int32Array.from([0, 0, t, b, l, r, 0, 0]));
  return { x: ctx.g.node(`${ctx.node.name}/pad`, 'Pad', [x, paddings], { T: A.float, Tpaddings: A.int32 }), padding: 'VALID' };
}

function writeConvUnit(ctx: BuildCtx, unit: ConvUnit): Value {
  const { g, node } = ctx;
  const x = nhwcInput(ctx);
  const folded = foldConvUnit(ctx.graph, unit);
  const w = folded.weight;
  const [O, Ig, kh, kw] = w.dims as [number, number, number, number];
  const [, C, H, W] = ctx.shape(0) as [number, number, number, number];
  const groups = getInt(node.attrs, 'group', 1);
  const win = windowOf(node, [H, W], [kh, kw]);
  if (win.strides.some((s) => s > 1) && win.dilations.some((d) => d > 1)) ctx.fail('TF.js convolutions take strides > 1 or dilations > 1, not both');
  const { x: xp, padding } = padded(ctx, x.ref, win.pads, samePads([H, W], [kh, kw], win.strides, win.dilations));
  const act = { linear: undefined, relu: 'Relu', relu6: 'Relu6' }[unit.fusedActivation];
  const base = {
    T: A.float,
    strides: A.ints([1, ...win.strides, 1]),
    padding: A.str(padding),
    data_format: A.str('NHWC'),
    dilations: A.ints([1, ...win.dilations, 1]),
  };
  const nonNegative = unit.fusedActivation !== 'linear';
  /** One convolution: fused with its bias (and activation) when it has one, as the converter fuses BiasAdd. */
  const conv = (name: string, input: string, op: 'Conv2D' | 'DepthwiseConv2dNative', filter: string, bias: string | undefined): string => {
    let y: string;
    if (bias) {
      const fusedOps = ['BiasAdd', ...(act ? [act] : [])];
      const fusedOp = op === 'Conv2D' ? '_FusedConv2D' : 'FusedDepthwiseConv2dNative';
      const attrs = { ...base, fused_ops: A.strs(fusedOps), num_args: A.int(1), epsilon: A.f(0), ...(op === 'Conv2D' ? { explicit_paddings: A.ints([]), use_cudnn_on_gpu: A.b(true) } : {}) };
      return g.node(name, fusedOp, [input, filter, bias], attrs, `${fusedOp}[${fusedOps.join(',')}]`);
    }
    y = g.node(name, op, [input, filter], base);
    // No bias to fuse with: the converter keeps Conv2D and the activation apart.
    return act ? g.node(`${name}/${act}`, act, [y], { T: A.float }) : y;
  };
  const biasConst = (name: string, first: number, count: number) => (folded.bias ? g.constant(name, [count], folded.bias.slice(first, first + count)) : undefined);
  if (groups === 1) {
    const filter = g.constant(`${node.name}/kernel`, [kh, kw, Ig, O], hwioFilter(w, 0, O));
    return { ref: conv(node.name, xp, 'Conv2D', filter, biasConst(`${node.name}/bias`, 0, O)), form: 'nhwc', nonNegative };
  }
  if (Ig === 1 && groups === C) {
    const filter = g.constant(`${node.name}/depthwise_kernel`, [kh, kw, C, O / C], depthwiseFilter(w, C));
    return { ref: conv(node.name, xp, 'DepthwiseConv2dNative', filter, biasConst(`${node.name}/bias`, 0, O)), form: 'nhwc', nonNegative };
  }
  const Og = O / groups;
  const axis = g.constant(`${node.name}/split/split_dim`, [], Int32Array.from([3]));
  const split = g.node(`${node.name}/split`, 'Split', [axis, xp], { T: A.float, num_split: A.int(groups) });
  const parts = Array.from({ length: groups }, (_, k) => {
    const filter = g.constant(`${node.name}/kernel${k}`, [kh, kw, Ig, Og], hwioFilter(w, k * Og, Og));
    return conv(`${node.name}/group${k}`, k === 0 ? split : `${split}:${k}`, 'Conv2D', filter, biasConst(`${node.name}/bias${k}`, k * Og, Og));
  });
  const concatAxis = g.constant(`${node.name}/concat/axis`, [], Int32Array.from([3]));
  return { ref: g.node(`${node.name}/concat`, 'ConcatV2', [...parts, concatAxis], { T: A.float, N: A.int(groups), Tidx: A.int32 }), form: 'nhwc', nonNegative };
}

function writeBatchNorm(ctx: BuildCtx): Value {
  // A BatchNormalization with no convolution before it: the converter's constant folding leaves x·scale + offset.
  const x = ctx.input(0);
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => {
    const c = ctx.node.inputs[i] ? ctx.graph.initializers.get(ctx.node.inputs[i]!) : undefined;
    return (c ?? ctx.fail(`parameter input ${i} must be a constant`)).float32();
  });
  const eps = Math.fround(getFloat(ctx.node.attrs, 'epsilon', 1e-5));
  const scale = Float32Array.from(gamma!, (s, i) => s / Math.sqrt(variance![i]! + eps));
  const offset = Float32Array.from(beta!, (b, i) => b - mean![i]! * scale[i]!);
  const n = ctx.node.name;
  const mul = ctx.g.node(`${n}/mul`, 'Mul', [x.ref, ctx.g.constant(`${n}/scale`, [scale.length], scale)], { T: A.float });
  return { ref: ctx.g.node(`${n}/add`, 'AddV2', [mul, ctx.g.constant(`${n}/offset`, [offset.length], offset)], { T: A.float }), form: x.form, nonNegative: false };
}

function scalarOf(ctx: BuildCtx, i: number, fallback: number): number {
  if (!ctx.node.inputs[i]) return fallback;
  const c = ctx.graph.initializers.get(ctx.node.inputs[i]!) ?? ctx.fail(`input ${i} must be a constant`);
  if (c.elementCount !== 1) ctx.fail(`input ${i} must be a scalar`);
  return c.float32()[0]!;
}

function unaryOp(op: string, nonNegative: boolean): NodeWriter {
  return (ctx) => {
    const x = ctx.input(0);
    return { ref: ctx.g.node(ctx.node.name, op, [x.ref], { T: A.float }), form: x.form, nonNegative };
  };
}

function writeClip(ctx: BuildCtx): Value {
  const lo = scalarOf(ctx, 1, -Infinity);
  const hi = scalarOf(ctx, 2, Infinity);
  if (lo !== 0 || (hi !== 6 && hi !== Infinity)) ctx.fail(`Clip to [${lo}, ${hi}]: only ReLU (Clip at 0) and ReLU6 (Clip to [0, 6]) have an op`);
  return unaryOp(hi === 6 ? 'Relu6' : 'Relu', true)(ctx);
}

function writeAdd(ctx: BuildCtx): Value {
  if (ctx.node.inputs.length !== 2) ctx.fail('Add takes two inputs');
  const [a, b] = [ctx.input(0), ctx.input(1)];
  const [sa, sb] = [ctx.shape(0), ctx.shape(1)];
  if (a.form !== b.form || sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) ctx.fail('Add of values of different shapes (broadcasting has no Add layer)');
  return { ref: ctx.g.node(ctx.node.name, 'AddV2', [a.ref, b.ref], { T: A.float }), form: a.form, nonNegative: a.nonNegative && b.nonNegative };
}

function writePool(op: 'MaxPool' | 'AvgPool'): NodeWriter {
  return (ctx) => {
    const x = nhwcInput(ctx);
    const { node } = ctx;
    if (getInt(node.attrs, 'ceil_mode', 0) === 1) ctx.fail('ceil_mode=1: TF pooling has no ceil mode');
    if (node.outputs.length > 1 && node.outputs[1]) ctx.fail('the indices output has no op');
    const [, , H, W] = ctx.shape(0);
    const kernel = getInts(node.attrs, 'kernel_shape') ?? ctx.fail('no kernel_shape');
    const win = windowOf(node, [H!, W!], kernel);
    if (win.dilations.some((d) => d !== 1)) ctx.fail('dilated pooling has no op');
    const same = samePads([H!, W!], win.kernel, win.strides, win.dilations);
    const padless = win.pads.every((p) => p === 0);
    const isSame = win.pads.every((p, i) => p === same[i]);
    if (op === 'MaxPool' && !padless && !isSame && !x.nonNegative) ctx.fail('max pooling with pads other than \'same\' needs a non-negative input (a ReLU before it) for a zero Pad to equal ONNX\'s −∞ padding');
    const includePad = getInt(node.attrs, 'count_include_pad', 0) === 1;
    if (op === 'AvgPool' && !padless && !includePad && !isSame) ctx.fail('average pooling over pads other than \'same\' that excludes them (count_include_pad=0) has no op');
    const { x: xp, padding } = padded(ctx, x.ref, win.pads, op === 'AvgPool' && includePad ? undefined : same);
    const attrs = { T: A.float, ksize: A.ints([1, ...win.kernel, 1]), strides: A.ints([1, ...win.strides, 1]), padding: A.str(padding), data_format: A.str('NHWC') };
    return { ref: ctx.g.node(node.name, op, [xp], attrs), form: 'nhwc', nonNegative: x.nonNegative };
  };
}

function writeGlobalPool(op: 'Mean' | 'Max'): NodeWriter {
  return (ctx) => {
    const x = nhwcInput(ctx);
    const axes = ctx.g.constant(`${ctx.node.name}/reduction_indices`, [2], Int32Array.from([1, 2]));
    return { ref: ctx.g.node(ctx.node.name, op, [x.ref, axes], { T: A.float, Tidx: A.int32, keep_dims: A.b(false) }), form: 'pooled', nonNegative: x.nonNegative };
  };
}

function writeFlatten(ctx: BuildCtx): Value {
  const x = ctx.input(0);
  if (getInt(ctx.node.attrs, 'axis', 1) !== 1) ctx.fail('Flatten with axis other than 1 has no form here');
  if (x.form !== 'nhwc') return { ...x, form: 'flat' };
  const [, C, H, W] = ctx.shape(0);
  const { g, node } = ctx;
  // Flatten in the IR's NCHW order: channels first, as PyTorch-trained weights expect.
  const t = H! * W! > 1 && C! > 1 ? g.node(`${node.name}/permute`, 'Transpose', [x.ref, g.constant(`${node.name}/perm`, [4], Int32Array.from([0, 3, 1, 2]))], { T: A.float, Tperm: A.int32 }) : x.ref;
  const shape = g.constant(`${node.name}/shape`, [2], Int32Array.from([-1, C! * H! * W!]));
  return { ref: g.node(node.name, 'Reshape', [t, shape], { T: A.float, Tshape: A.int32 }), form: 'flat', nonNegative: x.nonNegative };
}

function writeGemm(ctx: BuildCtx): Value {
  const { g, node, graph } = ctx;
  const x = ctx.input(0);
  if (x.form !== 'flat') ctx.fail('Gemm of a value that is not 2-D');
  if (getInt(node.attrs, 'transA', 0) === 1) ctx.fail('transA=1 has no Dense form');
  const alpha = getFloat(node.attrs, 'alpha', 1);
  const beta = getFloat(node.attrs, 'beta', 1);
  const w = graph.initializers.get(node.inputs[1]!) ?? ctx.fail('the weight must be a constant');
  const c = node.inputs[2] ? (graph.initializers.get(node.inputs[2]) ?? ctx.fail('the bias must be a constant')) : undefined;
  const transB = getInt(node.attrs, 'transB', 0) === 1;
  const [rows, cols] = w.dims as [number, number];
  const [inF, units] = transB ? [cols, rows] : [rows, cols];
  if (c && c.elementCount !== units) ctx.fail(`a bias of ${c.elementCount} values for ${units} units`);
  const wv = w.float32();
  const kernel = new Float32Array(inF * units);
  for (let i = 0; i < inF; i++) for (let o = 0; o < units; o++) kernel[i * units + o] = alpha * wv[transB ? o * inF + i : i * units + o]!;
  const k = g.constant(`${node.name}/kernel`, [inF, units], kernel);
  const mm = { T: A.float, transpose_a: A.b(false), transpose_b: A.b(false) };
  if (!c) return { ref: g.node(node.name, 'MatMul', [x.ref, k], mm), form: 'flat', nonNegative: false };
  const bias = g.constant(`${node.name}/bias`, [units], Float32Array.from(c.float32(), (v) => v * beta));
  const attrs = { ...mm, fused_ops: A.strs(['BiasAdd']), num_args: A.int(1), epsilon: A.f(0) };
  return { ref: g.node(node.name, '_FusedMatMul', [x.ref, k, bias], attrs, '_FusedMatMul[BiasAdd]'), form: 'flat', nonNegative: false };
}

function writeConcat(ctx: BuildCtx): Value {
  const xs = ctx.node.inputs.map((_, i) => ctx.input(i));
  const form = xs[0]!.form;
  const rank = ctx.shape(0).length;
  const axis = getInt(ctx.node.attrs, 'axis', 0);
  if ((axis !== 1 && axis !== -rank + 1) || xs.some((x) => x.form !== form) || form === 'pooled') ctx.fail(`Concat along axis ${axis}: only channel concatenation has a form here`);
  const a = ctx.g.constant(`${ctx.node.name}/axis`, [], Int32Array.from([form === 'nhwc' ? 3 : 1]));
  const ref = ctx.g.node(ctx.node.name, 'ConcatV2', [...xs.map((x) => x.ref), a], { T: A.float, N: A.int(xs.length), Tidx: A.int32 });
  return { ref, form, nonNegative: xs.every((x) => x.nonNegative) };
}

function writePad(ctx: BuildCtx): Value {
  const x = nhwcInput(ctx);
  const p = (ctx.node.inputs[1] ? ctx.graph.initializers.get(ctx.node.inputs[1]) : undefined)?.integers() ?? ctx.fail('pads must be a constant');
  const value = ctx.node.inputs[2] ? scalarOf(ctx, 2, 0) : 0;
  if (getString(ctx.node.attrs, 'mode', 'constant') !== 'constant' || value !== 0) ctx.fail('only zero padding has a form (ZeroPadding2D)');
  if (p[0] || p[1] || p[4] || p[5] || p.some((v) => v < 0)) ctx.fail('padding other than spatial zero padding has no form');
  const paddings = ctx.g.constant(`${ctx.node.name}/paddings`, [4, 2], Int32Array.from([0, 0, p[2]!, p[6]!, p[3]!, p[7]!, 0, 0]));
  return { ref: ctx.g.node(ctx.node.name, 'Pad', [x.ref, paddings], { T: A.float, Tpaddings: A.int32 }), form: 'nhwc', nonNegative: x.nonNegative };
}

/** Every operator the builder writes (a Conv with what is folded into it); any other is rejected by name. */
export const GRAPH_WRITERS: Record<string, NodeWriter> = {
  BatchNormalization: writeBatchNorm,
  Relu: unaryOp('Relu', true),
  Clip: writeClip,
  Sigmoid: unaryOp('Sigmoid', true),
  Tanh: unaryOp('Tanh', false),
  Add: writeAdd,
  MaxPool: writePool('MaxPool'),
  AveragePool: writePool('AvgPool'),
  GlobalAveragePool: writeGlobalPool('Mean'),
  GlobalMaxPool: writeGlobalPool('Max'),
  Flatten: writeFlatten,
  Gemm: writeGemm,
  Concat: writeConcat,
  Pad: writePad,
  Identity: (ctx) => ctx.input(0),
  Dropout: (ctx) => ctx.input(0),
};

/**
 * Builds `graph` as the artifacts of a converted GraphModel; throws a UserError naming the first
 * node it has no form for.
 */
export function buildGraphModel(graph: Graph, engine: string): GraphModelBuild {
  for (const node of graph.nodes) {
    if (node.op !== 'Conv' && !GRAPH_WRITERS[node.op]) {
      throw new NoGraphModelForm(
        `${engine}: no tfjs-converter GraphModel form for operator '${node.op}' (node '${node.name}')`,
        `the GraphModel builder takes: ${['Conv', ...Object.keys(GRAPH_WRITERS)].sort().join(', ')}`,
      );
    }
  }
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1) throw new NoGraphModelForm(`${engine}: the GraphModel builder takes one input and one output`);
  const input = graph.inputs[0]!;
  const [, C, H, W] = input.type.shape;
  if (input.type.shape.length !== 4 || ![C, H, W].every((d) => typeof d === 'number')) {
    throw new NoGraphModelForm(`${engine}: the GraphModel builder takes an N×C×H×W input with static C, H and W`);
  }
  const bindings = Object.fromEntries(input.type.shape.filter((d): d is string => typeof d === 'string').map((d) => [d, 1]));
  const types = inferShapes(graph, bindings);
  const staticShape = (name: string): number[] => types.get(name)!.shape.map((d) => (typeof d === 'number' ? d : 1));

  const g = new GraphWriter();
  const x = g.node('input', 'Placeholder', [], { dtype: A.float, shape: { shape: { dim: [-1, H, W, C].map((d) => ({ size: String(d) })) } } });
  const values = new Map<string, Value>([[input.name, { ref: x, form: 'nhwc', nonNegative: false }]]);
  const units = planConvUnits(graph);
  const absorbed = new Set([...units.values()].flatMap((u) => u.nodes.slice(1).map((n) => n.name)));
  for (const node of topologicalOrder(graph)) {
    if (absorbed.has(node.name)) continue;
    const fail = (reason: string): never => {
      throw new NoGraphModelForm(`${engine}: no tfjs-converter GraphModel form for node '${node.name}' (${node.op}): ${reason}`);
    };
    const ctx: BuildCtx = {
      g,
      graph,
      node,
      input: (i) => values.get(node.inputs[i]!) ?? fail(`input ${i} ('${node.inputs[i]}') is not a computed value`),
      shape: (i) => staticShape(node.inputs[i]!),
      outShape: () => staticShape(node.outputs[0]!),
      fail,
    };
    const unit = units.get(node.name);
    let y: Value;
    try {
      if (node.op === 'Conv') {
        y = writeConvUnit(ctx, unit ?? fail('the weight and bias must be constants'));
      } else {
        y = GRAPH_WRITERS[node.op]!(ctx);
      }
    } catch (e) {
      if (e instanceof UserError) throw e;
      fail((e as Error).message);
    }
    values.set(unit ? unit.output : node.outputs[0]!, y!);
  }
  const out = values.get(graph.outputs[0]!.name) ?? (() => {
    throw new NoGraphModelForm(`${engine}: the graph output '${graph.outputs[0]!.name}' is not computed by the GraphModel`);
  })();
  const artifacts: TF.io.ModelArtifacts = {
    format: 'graph-model',
    generatedBy: 'formbench (the IR as tfjs-converter writes a Keras network)',
    convertedBy: 'formbench',
    modelTopology: { node: g.nodes, library: {}, versions: { producer: 1482 } },
    weightSpecs: g.specs,
    weightData: g.weightData(),
  };
  return { artifacts, outputName: out.ref, outputNhwc: out.form === 'nhwc', ops: g.ops };
}
