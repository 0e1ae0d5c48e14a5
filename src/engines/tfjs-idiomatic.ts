/**
 * The network as a TF.js user would run it: a `tf.LayersModel` built with tfjs-layers' functional
 * API (Conv2D, DepthwiseConv2D, BatchNormalization, ReLU, Add, MaxPooling2D, Dense, …) and
 * executed by its own executor (`predict()`), with the weights set by `setWeights` from the IR's
 * initializers, laid out by the same conversions the interpreter uses (tfjs-ops.ts). Padding is
 * written the Keras way: `padding: 'same'` where ONNX's pads are TF's 'same' pads, otherwise a
 * ZeroPadding2D before a 'valid' layer (as keras.applications' ResNet50 and MobileNetV2 do).
 * Grouped convolution has no layer in tfjs-layers 4.22 (Conv2D takes no `groups`), so it is the
 * custom layer a user would write: split the channels, one conv2d per group, concat.
 */
import type * as TFL from '@tensorflow/tfjs-layers';
import type * as TF from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import { getFloat, getInt, getInts, getString, inferShapes, topologicalOrder, type ConstTensor, type Graph, type Node } from '../ir/index.js';
import { windowOf } from '../ir/ops/index.js';
import { depthwiseFilter, hwioFilter, type Tf } from './tfjs-ops.js';

export type Tfl = typeof import('@tensorflow/tfjs-layers');
type Sym = TFL.SymbolicTensor;

/**
 * How a value of the IR is held in the Keras model: `nhwc` for 4-D values (N×C×H×W in the IR),
 * `flat` for 2-D ones, `pooled` for an IR N×C×1×1 value held as Keras's N×C (what
 * GlobalAveragePooling2D gives; the same elements in the same order).
 */
type Form = 'nhwc' | 'flat' | 'pooled';

interface Value {
  t: Sym;
  form: Form;
  /** Known ≥ 0 (after a ReLU): zero padding then equals ONNX's −∞ padding of a max pool. */
  nonNegative: boolean;
}

/** A layers model built from an IR graph, and what it is made of. */
export interface LayersModelBuild {
  model: TFL.LayersModel;
  /** Whether the model's output is NHWC (4-D): the caller converts it to the IR's NCHW order. */
  outputNhwc: boolean;
  /** The layer classes the model uses, in order of first use. */
  layerClasses: string[];
}

/** A node's rejection, naming the operator and the node. */
class NoIdiomaticForm extends UserError {}

interface LayerCtx {
  tf: Tf;
  tfl: Tfl;
  node: Node;
  /** The computed value feeding input i (an initializer there is a rejection). */
  input(i: number): Value;
  /** The initializer feeding input i, if it is one. */
  constant(i: number): ConstTensor | undefined;
  /** The IR (logical) static shape of input i. */
  shape(i: number): number[];
  /** The IR (logical) static shape of the first output. */
  outShape(): number[];
  /** Applies a layer and sets its weights (converted tensors, disposed once set). */
  apply(layer: TFL.layers.Layer, x: Sym | Sym[], weights?: TF.Tensor[]): Sym;
  /** A unique, valid layer name from the node's name and `suffix`. */
  name(suffix?: string): string;
  fail(reason: string): never;
}

type LayerBuilder = (ctx: LayerCtx) => Value;

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

/**
 * The Keras padding for ONNX `pads`: 'valid' without pads, 'same' where they are `same` (TF's
 * 'same' pads, when the layer's 'same' stands for them), otherwise a ZeroPadding2D applied first
 * and 'valid'.
 */
function padded(ctx: LayerCtx, x: Sym, pads: number[], same?: number[]): { x: Sym; padding: 'valid' | 'same' } {
  if (pads.every((p) => p === 0)) return { x, padding: 'valid' };
  if (same && pads.every((p, i) => p === same[i])) return { x, padding: 'same' };
  const [t, l, b, r] = pads as [number, number, number, number];
  return { x: ctx.apply(ctx.tfl.layers.zeroPadding2d({ padding: [[t, b], [l, r]], name: ctx.name('pad') }), x), padding: 'valid' };
}

function nhwcInput(ctx: LayerCtx, i = 0): Value {
  const v = ctx.input(i);
  if (v.form !== 'nhwc') ctx.fail(`input ${i} must be a 4-D (N×C×H×W) value`);
  return v;
}

function buildConv(ctx: LayerCtx): Value {
  const { tf, tfl, node } = ctx;
  const x = nhwcInput(ctx);
  const w = ctx.constant(1) ?? ctx.fail('the weight must be a constant');
  if (node.inputs[2] && !ctx.constant(2)) ctx.fail('the bias must be a constant');
  const biasConst = ctx.constant(2);
  const [O, Ig, kh, kw] = w.dims as [number, number, number, number];
  const [, C, H, W] = ctx.shape(0) as [number, number, number, number];
  const g = getInt(node.attrs, 'group', 1);
  const win = windowOf(node, [H, W], [kh, kw]);
  if (win.strides.some((s) => s > 1) && win.dilations.some((d) => d > 1)) ctx.fail('TF.js convolutions take strides > 1 or dilations > 1, not both');
  const kernelSize: [number, number] = [kh, kw];
  const strides = win.strides as [number, number];
  const dilationRate = win.dilations as [number, number];
  const { x: xp, padding } = padded(ctx, x.t, win.pads, samePads([H, W], kernelSize, strides, dilationRate));
  const bias = biasConst ? [tf.tensor1d(Float32Array.from(biasConst.float32()))] : [];
  const useBias = bias.length > 0;
  const name = ctx.name();
  let y: Sym;
  if (g === 1) {
    const layer = tfl.layers.conv2d({ filters: O, kernelSize, strides, dilationRate, padding, useBias, name });
    y = ctx.apply(layer, xp, [tf.tensor4d(hwioFilter(w, 0, O), [kh, kw, Ig, O]), ...bias]);
  } else if (Ig === 1 && g === C) {
    // tfjs-layers' DepthwiseConv2D passes no dilation to its kernel.
    if (dilationRate.some((d) => d > 1)) ctx.fail('dilated depthwise convolution: tfjs-layers DepthwiseConv2D ignores dilationRate');
    const layer = tfl.layers.depthwiseConv2d({ kernelSize, depthMultiplier: O / C, strides, padding, useBias, name });
    y = ctx.apply(layer, xp, [tf.tensor4d(depthwiseFilter(w, C), [kh, kw, C, O / C]), ...bias]);
  } else {
    const Og = O / g;
    const [, , outH, outW] = ctx.outShape();
    const GroupedConv2D = groupedConv2dClass(tf, tfl);
    const layer = new GroupedConv2D({ name, groups: g, kernelSize, filters: O, strides, dilationRate, padding, useBias, outputSpatial: [outH!, outW!] });
    const filters = Array.from({ length: g }, (_, k) => tf.tensor4d(hwioFilter(w, k * Og, Og), [kh, kw, Ig, Og]));
    y = ctx.apply(layer, xp, [...filters, ...bias]);
  }
  return { t: y, form: 'nhwc', nonNegative: false };
}

function buildBatchNorm(ctx: LayerCtx): Value {
  const { tf, tfl, node } = ctx;
  const x = ctx.input(0);
  if (x.form === 'pooled') ctx.fail('BatchNormalization of a pooled N×C×1×1 value');
  const params = [1, 2, 3, 4].map((i) => ctx.constant(i) ?? ctx.fail(`parameter input ${i} must be a constant`));
  const epsilon = getFloat(node.attrs, 'epsilon', 1e-5);
  const layer = tfl.layers.batchNormalization({ axis: -1, epsilon, name: ctx.name() });
  // Keras's weight order: gamma, beta, moving mean, moving variance (the IR's order too).
  const y = ctx.apply(layer, x.t, params.map((p) => tf.tensor1d(Float32Array.from(p.float32()))));
  return { t: y, form: x.form, nonNegative: false };
}

function scalarOf(ctx: LayerCtx, i: number, fallback: number): number {
  if (!ctx.node.inputs[i]) return fallback;
  const c = ctx.constant(i) ?? ctx.fail(`input ${i} must be a constant`);
  if (c.elementCount !== 1) ctx.fail(`input ${i} must be a scalar`);
  return c.float32()[0]!;
}

function buildClip(ctx: LayerCtx): Value {
  const { tfl } = ctx;
  const x = ctx.input(0);
  const lo = scalarOf(ctx, 1, -Infinity);
  const hi = scalarOf(ctx, 2, Infinity);
  if (lo !== 0) ctx.fail(`Clip to [${lo}, ${hi}]: only ReLU-like clips (lower bound 0) have a layer`);
  // ReLU6 as keras.applications' MobileNetV2 writes it, ReLU(max_value=6) (relu, then clip):
  // tfjs-layers' activation 'relu6' is minimum(6, relu(x)), whose broadcast minimum took 8× the
  // clip on the wasm backend (depthwise-bottleneck/d10/w64: 243 ms of 760 against 30 ms).
  const layer = tfl.layers.reLU({ ...(Number.isFinite(hi) ? { maxValue: hi } : {}), name: ctx.name() });
  return { t: ctx.apply(layer, x.t), form: x.form, nonNegative: true };
}

function activation(kind: 'sigmoid' | 'tanh', nonNegative: boolean): LayerBuilder {
  return (ctx) => {
    const x = ctx.input(0);
    return { t: ctx.apply(ctx.tfl.layers.activation({ activation: kind, name: ctx.name() }), x.t), form: x.form, nonNegative };
  };
}

function buildAdd(ctx: LayerCtx): Value {
  if (ctx.node.inputs.length !== 2) ctx.fail('Add takes two inputs');
  const [a, b] = [ctx.input(0), ctx.input(1)];
  const [sa, sb] = [ctx.shape(0), ctx.shape(1)];
  if (a.form !== b.form || sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) ctx.fail('Add of values of different shapes (broadcasting has no Add layer)');
  return { t: ctx.apply(ctx.tfl.layers.add({ name: ctx.name() }), [a.t, b.t]), form: a.form, nonNegative: a.nonNegative && b.nonNegative };
}

function poolWindow(ctx: LayerCtx): { x: Value; win: ReturnType<typeof windowOf>; spatial: number[] } {
  const x = nhwcInput(ctx);
  const { node } = ctx;
  if (getInt(node.attrs, 'ceil_mode', 0) === 1) ctx.fail('ceil_mode=1: Keras pooling has no ceil mode');
  if (node.outputs.length > 1 && node.outputs[1]) ctx.fail('the indices output has no layer');
  const [, , H, W] = ctx.shape(0);
  const kernel = getInts(node.attrs, 'kernel_shape') ?? ctx.fail('no kernel_shape');
  const win = windowOf(node, [H!, W!], kernel);
  if (win.dilations.some((d) => d !== 1)) ctx.fail('dilated pooling has no layer');
  return { x, win, spatial: [H!, W!] };
}

function buildMaxPool(ctx: LayerCtx): Value {
  const { x, win, spatial } = poolWindow(ctx);
  const same = samePads(spatial, win.kernel, win.strides, win.dilations);
  const exact = win.pads.every((p) => p === 0) || win.pads.every((p, i) => p === same[i]);
  if (!exact && !x.nonNegative) ctx.fail('max pooling with pads other than \'same\' needs a non-negative input (a ReLU before it) for ZeroPadding2D to equal ONNX\'s −∞ padding');
  const { x: xp, padding } = padded(ctx, x.t, win.pads, same);
  const layer = ctx.tfl.layers.maxPooling2d({ poolSize: win.kernel as [number, number], strides: win.strides as [number, number], padding, name: ctx.name() });
  return { t: ctx.apply(layer, xp), form: 'nhwc', nonNegative: x.nonNegative };
}

function buildAveragePool(ctx: LayerCtx): Value {
  const { x, win, spatial } = poolWindow(ctx);
  const includePad = getInt(ctx.node.attrs, 'count_include_pad', 0) === 1;
  const same = samePads(spatial, win.kernel, win.strides, win.dilations);
  const padless = win.pads.every((p) => p === 0);
  // Keras's 'same' average excludes the padding (count_include_pad=0); ZeroPadding2D includes it.
  if (!padless && !includePad && !win.pads.every((p, i) => p === same[i])) ctx.fail('average pooling over pads other than \'same\' that excludes them (count_include_pad=0) has no layer');
  const { x: xp, padding } = padded(ctx, x.t, win.pads, includePad ? undefined : same);
  const layer = ctx.tfl.layers.averagePooling2d({ poolSize: win.kernel as [number, number], strides: win.strides as [number, number], padding, name: ctx.name() });
  return { t: ctx.apply(layer, xp), form: 'nhwc', nonNegative: x.nonNegative };
}

function buildGlobalPool(kind: 'mean' | 'max'): LayerBuilder {
  return (ctx) => {
    const x = nhwcInput(ctx);
    const layers = ctx.tfl.layers;
    const layer = kind === 'mean' ? layers.globalAveragePooling2d({ name: ctx.name() }) : layers.globalMaxPooling2d({ name: ctx.name() });
    return { t: ctx.apply(layer, x.t), form: 'pooled', nonNegative: x.nonNegative };
  };
}

function buildFlatten(ctx: LayerCtx): Value {
  const x = ctx.input(0);
  if (getInt(ctx.node.attrs, 'axis', 1) !== 1) ctx.fail('Flatten with axis other than 1 has no layer');
  if (x.form !== 'nhwc') return { ...x, form: 'flat' };
  const [, C, H, W] = ctx.shape(0);
  // Flatten in the IR's NCHW order: channels first, as PyTorch-trained weights expect.
  const t = H! * W! > 1 && C! > 1 ? ctx.apply(ctx.tfl.layers.permute({ dims: [3, 1, 2], name: ctx.name('permute') }), x.t) : x.t;
  return { t: ctx.apply(ctx.tfl.layers.flatten({ name: ctx.name() }), t), form: 'flat', nonNegative: x.nonNegative };
}

function buildGemm(ctx: LayerCtx): Value {
  const { tf, tfl, node } = ctx;
  const x = ctx.input(0);
  if (x.form !== 'flat') ctx.fail('Gemm of a value that is not 2-D');
  if (getInt(node.attrs, 'transA', 0) === 1) ctx.fail('transA=1 has no Dense layer');
  const alpha = getFloat(node.attrs, 'alpha', 1);
  const beta = getFloat(node.attrs, 'beta', 1);
  const w = ctx.constant(1) ?? ctx.fail('the weight must be a constant');
  if (node.inputs[2] && !ctx.constant(2)) ctx.fail('the bias must be a constant');
  const c = ctx.constant(2);
  const transB = getInt(node.attrs, 'transB', 0) === 1;
  const [rows, cols] = w.dims as [number, number];
  const [inF, units] = transB ? [cols, rows] : [rows, cols];
  if (c && c.elementCount !== units) ctx.fail(`a bias of ${c.elementCount} values for ${units} units (broadcasting has no Dense layer)`);
  const wv = w.float32();
  // Dense's kernel is [in, units].
  const kernel = new Float32Array(inF * units);
  for (let i = 0; i < inF; i++) for (let o = 0; o < units; o++) kernel[i * units + o] = alpha * wv[transB ? o * inF + i : i * units + o]!;
  const bias = c ? [tf.tensor1d(Float32Array.from(c.float32(), (v) => v * beta))] : [];
  const layer = tfl.layers.dense({ units, useBias: bias.length > 0, name: ctx.name() });
  return { t: ctx.apply(layer, x.t, [tf.tensor2d(kernel, [inF, units]), ...bias]), form: 'flat', nonNegative: false };
}

function buildConcat(ctx: LayerCtx): Value {
  const xs = ctx.node.inputs.map((_, i) => ctx.input(i));
  const form = xs[0]!.form;
  const rank = ctx.shape(0).length;
  const axis = getInt(ctx.node.attrs, 'axis', 0);
  if ((axis !== 1 && axis !== -rank + 1) || xs.some((x) => x.form !== form) || form === 'pooled') ctx.fail(`Concat along axis ${axis}: only channel concatenation has a layer here`);
  const t = ctx.apply(ctx.tfl.layers.concatenate({ axis: -1, name: ctx.name() }), xs.map((x) => x.t));
  return { t, form, nonNegative: xs.every((x) => x.nonNegative) };
}

function buildPad(ctx: LayerCtx): Value {
  const x = nhwcInput(ctx);
  const p = ctx.constant(1)?.integers() ?? ctx.fail('pads must be a constant');
  const value = ctx.node.inputs[2] ? (ctx.constant(2) ?? ctx.fail('constant_value must be a constant')).float32()[0] ?? 0 : 0;
  if (getString(ctx.node.attrs, 'mode', 'constant') !== 'constant' || value !== 0) ctx.fail('only zero padding has a layer (ZeroPadding2D)');
  if (p[0] || p[1] || p[4] || p[5] || p.some((v) => v < 0)) ctx.fail('padding other than spatial zero padding has no layer');
  const layer = ctx.tfl.layers.zeroPadding2d({ padding: [[p[2]!, p[6]!], [p[3]!, p[7]!]], name: ctx.name() });
  return { t: ctx.apply(layer, x.t), form: 'nhwc', nonNegative: x.nonNegative };
}

/** Every operator the builder gives a layer; any other is rejected by name. */
export const LAYER_BUILDERS: Record<string, LayerBuilder> = {
  Conv: buildConv,
  BatchNormalization: buildBatchNorm,
  Relu: (ctx) => {
    const x = ctx.input(0);
    return { t: ctx.apply(ctx.tfl.layers.reLU({ name: ctx.name() }), x.t), form: x.form, nonNegative: true };
  },
  Clip: buildClip,
  Sigmoid: activation('sigmoid', true),
  Tanh: activation('tanh', false),
  Add: buildAdd,
  MaxPool: buildMaxPool,
  AveragePool: buildAveragePool,
  GlobalAveragePool: buildGlobalPool('mean'),
  GlobalMaxPool: buildGlobalPool('max'),
  Flatten: buildFlatten,
  Gemm: buildGemm,
  Concat: buildConcat,
  Pad: buildPad,
  // Inference-time no-ops: Keras models carry no layer for them either.
  Identity: (ctx) => ctx.input(0),
  Dropout: (ctx) => ctx.input(0),
};

/**
 * Builds `graph` as a tf.LayersModel on the current backend; throws a UserError naming the
 * first node it has no layer for. Its weights are copies: the caller disposes the model.
 */
export function buildLayersModel(tf: Tf, tfl: Tfl, graph: Graph, engine: string): LayersModelBuild {
  for (const node of graph.nodes) {
    if (!LAYER_BUILDERS[node.op]) {
      throw new NoIdiomaticForm(
        `${engine}: no tf.LayersModel form for operator '${node.op}' (node '${node.name}')`,
        `the idiomatic builder takes: ${Object.keys(LAYER_BUILDERS).sort().join(', ')}`,
      );
    }
  }
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1) throw new NoIdiomaticForm(`${engine}: the idiomatic builder takes one input and one output`);
  const input = graph.inputs[0]!;
  const [, C, H, W] = input.type.shape;
  if (input.type.shape.length !== 4 || ![C, H, W].every((d) => typeof d === 'number')) {
    throw new NoIdiomaticForm(`${engine}: the idiomatic builder takes an N×C×H×W input with static C, H and W`);
  }
  const bindings = Object.fromEntries(input.type.shape.filter((d): d is string => typeof d === 'string').map((d) => [d, 1]));
  const types = inferShapes(graph, bindings);
  const staticShape = (name: string): number[] => types.get(name)!.shape.map((d) => (typeof d === 'number' ? d : 1));

  const x = tfl.input({ shape: [H as number, W as number, C as number], name: 'input' });
  const values = new Map<string, Value>([[input.name, { t: x, form: 'nhwc', nonNegative: false }]]);
  const layerClasses: string[] = [];
  const usedNames = new Set<string>();
  const built: TFL.layers.Layer[] = [];
  try {
    for (const node of topologicalOrder(graph)) {
      const fail = (reason: string): never => {
        throw new NoIdiomaticForm(`${engine}: no tf.LayersModel form for node '${node.name}' (${node.op}): ${reason}`);
      };
      const ctx: LayerCtx = {
        tf,
        tfl,
        node,
        input: (i) => values.get(node.inputs[i]!) ?? fail(`input ${i} ('${node.inputs[i]}') is not a computed value`),
        constant: (i) => (node.inputs[i] ? graph.initializers.get(node.inputs[i]!) : undefined),
        shape: (i) => staticShape(node.inputs[i]!),
        outShape: () => staticShape(node.outputs[0]!),
        apply(layer, t, weights = []) {
          built.push(layer);
          const y = layer.apply(t) as Sym;
          try {
            if (weights.length) layer.setWeights(weights);
          } finally {
            for (const w of weights) w.dispose();
          }
          const cls = layerLabel(layer);
          if (!layerClasses.includes(cls)) layerClasses.push(cls);
          return y;
        },
        name(suffix) {
          const base = node.name.replace(/[^A-Za-z0-9._/-]/g, '_').replace(/^[^A-Za-z0-9]/, 'n$&') + (suffix ? `.${suffix}` : '');
          let name = base;
          for (let k = 2; usedNames.has(name); k++) name = `${base}_${k}`;
          usedNames.add(name);
          return name;
        },
        fail,
      };
      let y: Value;
      try {
        y = LAYER_BUILDERS[node.op]!(ctx);
      } catch (e) {
        if (e instanceof UserError) throw e;
        fail((e as Error).message);
      }
      values.set(node.outputs[0]!, y!);
    }
    const out = values.get(graph.outputs[0]!.name) ?? (() => {
      throw new NoIdiomaticForm(`${engine}: the graph output '${graph.outputs[0]!.name}' is not computed by a layer`);
    })();
    return { model: tfl.model({ inputs: x, outputs: out.t, name: 'idiomatic' }), outputNhwc: out.form === 'nhwc', layerClasses };
  } catch (e) {
    // Layers built before the rejection hold weights: free them.
    for (const layer of built) layer.dispose();
    throw e;
  }
}

/** A layer class as a description names it: Activation with its function, the custom layer marked. */
function layerLabel(layer: TFL.layers.Layer): string {
  const cls = layer.getClassName();
  if (cls === 'Activation') return `Activation(${String(layer.getConfig()['activation'])})`;
  if (cls === 'GroupedConv2D') return 'GroupedConv2D (custom layer: split, conv2d per group, concat)';
  return cls;
}

interface GroupedConvArgs {
  name: string;
  groups: number;
  filters: number;
  kernelSize: [number, number];
  strides: [number, number];
  dilationRate: [number, number];
  padding: 'valid' | 'same';
  useBias: boolean;
  /** Output height and width (known from the IR: the input is static). */
  outputSpatial: [number, number];
}

type GroupedConvCtor = new (args: GroupedConvArgs) => TFL.layers.Layer;
let groupedConv: GroupedConvCtor | undefined;

/**
 * The custom layer a TF.js user writes for a grouped convolution (tfjs-layers' Conv2D has no
 * `groups`): one kernel per group, split → conv2d per group → concat → bias. Defined on first use
 * because tfjs-layers is loaded lazily.
 */
function groupedConv2dClass(tf: Tf, tfl: Tfl): GroupedConvCtor {
  if (groupedConv) return groupedConv;
  class GroupedConv2D extends tfl.layers.Layer {
    static className = 'GroupedConv2D';
    private readonly kernels: TFL.LayerVariable[] = [];
    private bias: TFL.LayerVariable | undefined;
    constructor(private readonly args: GroupedConvArgs) {
      super({ name: args.name });
    }
    override build(inputShape: TFL.Shape | TFL.Shape[]): void {
      const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as TFL.Shape;
      const inPerGroup = shape[3]! / this.args.groups;
      const [kh, kw] = this.args.kernelSize;
      const outPerGroup = this.args.filters / this.args.groups;
      for (let k = 0; k < this.args.groups; k++) {
        this.kernels.push(this.addWeight(`kernel${k}`, [kh, kw, inPerGroup, outPerGroup], 'float32', tfl.initializers.zeros()));
      }
      if (this.args.useBias) this.bias = this.addWeight('bias', [this.args.filters], 'float32', tfl.initializers.zeros());
      this.built = true;
    }
    override computeOutputShape(inputShape: TFL.Shape | TFL.Shape[]): TFL.Shape {
      const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as TFL.Shape;
      return [shape[0]!, ...this.args.outputSpatial, this.args.filters];
    }
    override call(inputs: TF.Tensor | TF.Tensor[]): TF.Tensor {
      const { groups, strides, padding, dilationRate } = this.args;
      return tf.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as TF.Tensor4D;
        const parts = tf.split(x, groups, 3);
        const ys = parts.map((p, k) => tf.conv2d(p as TF.Tensor4D, this.kernels[k]!.read() as TF.Tensor4D, strides, padding, 'NHWC', dilationRate));
        const y = tf.concat(ys, 3);
        return this.bias ? tf.add(y, this.bias.read()) : y;
      });
    }
    override getConfig(): TF.serialization.ConfigDict {
      const { name: _, ...args } = this.args;
      return { ...super.getConfig(), ...args };
    }
  }
  groupedConv = GroupedConv2D;
  return GroupedConv2D;
}
