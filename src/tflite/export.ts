import {
  ConstTensor,
  consumers,
  getFloat,
  getInt,
  getInts,
  getString,
  GraphError,
  inferShapes,
  leadingDimBindings,
  producers,
  topologicalOrder,
  type Graph,
  type Node,
  type TensorType,
} from '../ir/index.js';
import type { OptionField, TfliteModel, TfliteOperator } from './model.js';
import { Activation, F, Op, OptionsType, Padding, SCHEMA_VERSION, TensorTypeCode } from './schema.js';
import { writeTflite } from './write.js';
import { IMPORTED_OPS, type ExportContext, type Layout } from './export-ops.js';

/**
 * IR → `.tflite` (FP32). Layout: LiteRT's convolutions are NHWC and the IR is NCHW, so the file
 * keeps the IR's NCHW input and output (as ai-edge-torch writes PyTorch models) and transposes
 * once after the input; every 4-d activation inside is NHWC, weights are transposed to LiteRT's
 * layouts (Conv OHWI, depthwise 1HWO). BatchNorm after a convolution is folded into it, and a
 * ReLU/ReLU6 after a convolution, fully-connected layer or Add becomes its fused activation, as
 * LiteRT's converter does. What the IR pads differently from SAME/VALID gets an explicit PAD.
 */
export interface TfliteExportOptions {
  /** The batch the file is written for (LiteRT's shapes are static). */
  batch?: number;
  description?: string;
}

export function toTfliteBytes(graph: Graph, options: TfliteExportOptions = {}): Uint8Array {
  return writeTflite(toTfliteModel(graph, options));
}

/** The FP32 file as data, before it is written: what the INT8 rewrite (quantize/tflite-int8.ts) starts from. */
export function toTfliteModel(graph: Graph, options: TfliteExportOptions = {}): TfliteModel {
  return new Exporter(graph, options.batch ?? 1, options.description ?? `formbench ${graph.name}`).run();
}

interface Emitted {
  tensor: number;
  layout: Layout;
}

/** NCHW axis → NHWC axis of the same dimension. */
const NHWC_AXIS = [0, 3, 1, 2];

class Exporter implements ExportContext {
  private readonly model: TfliteModel;
  private readonly types: Map<string, TensorType>;
  private readonly values = new Map<string, Emitted>();
  /** Transposed copies of values already made (value → the other layout). */
  private readonly relaid = new Map<string, number>();
  private readonly producers: Map<string, Node>;
  private readonly consumers: Map<string, Node[]>;
  private readonly graphOutputs: Set<string>;
  /** Conv node → the BatchNorm folded into it. */
  private readonly foldedBn = new Map<string, Node>();
  /** Node → the activation fused into it. */
  private readonly fusedAct = new Map<string, { code: number; node: Node }>();
  /** Node → the value its (folded, fused) output stands for. */
  private readonly finalOutput = new Map<string, string>();
  private readonly skipped = new Set<string>();

  constructor(
    readonly graph: Graph,
    batch: number,
    description: string,
  ) {
    this.types = inferShapes(graph, leadingDimBindings(graph, batch));
    this.producers = producers(graph);
    this.consumers = consumers(graph);
    this.graphOutputs = new Set(graph.outputs.map((o) => o.name));
    this.model = { version: SCHEMA_VERSION, description, tensors: [], buffers: [new Uint8Array(0)], operators: [], inputs: [], outputs: [], subgraphCount: 1 };
  }

  run(): TfliteModel {
    this.planFusion();
    for (const input of this.graph.inputs) {
      const t = this.activation(input.name, this.shapeOf(input.name));
      this.model.inputs.push(t);
      this.values.set(input.name, { tensor: t, layout: 'plain' });
    }
    for (const node of topologicalOrder(this.graph)) {
      if (this.skipped.has(node.name)) continue;
      this.emitNode(node);
    }
    for (const output of this.graph.outputs) this.model.outputs.push(this.asPlain(output.name));
    return this.model;
  }

  // ---- planning: BatchNorm folding and activation fusion -------------------------------------

  private soleReader(value: string): boolean {
    return (this.consumers.get(value)?.length ?? 0) === 1 && !this.graphOutputs.has(value);
  }

  private planFusion(): void {
    for (const node of this.graph.nodes) {
      if (node.op !== 'BatchNormalization') continue;
      const x = node.inputs[0]!;
      const conv = this.producers.get(x);
      if (conv?.op === 'Conv' && this.soleReader(x) && !this.foldedBn.has(conv.name)) {
        this.foldedBn.set(conv.name, node);
        this.skipped.add(node.name);
        this.finalOutput.set(conv.name, node.outputs[0]!);
      }
    }
    const ownerOf = new Map<string, Node>();
    for (const node of this.graph.nodes) if (!this.skipped.has(node.name)) ownerOf.set(this.finalOutput.get(node.name) ?? node.outputs[0]!, node);
    for (const node of this.graph.nodes) {
      const code = this.activationCode(node);
      if (code === undefined) continue;
      const x = node.inputs[0]!;
      const owner = ownerOf.get(x);
      if (!owner || !['Conv', 'Gemm', 'Add'].includes(owner.op) || this.fusedAct.has(owner.name) || !this.soleReader(x)) continue;
      this.fusedAct.set(owner.name, { code, node });
      this.skipped.add(node.name);
      this.finalOutput.set(owner.name, node.outputs[0]!);
    }
  }

  /** RELU or RELU6 for a Relu or a Clip(0, 6) node; undefined otherwise. */
  private activationCode(node: Node): number | undefined {
    if (node.op === 'Relu') return Activation.RELU;
    if (node.op !== 'Clip') return undefined;
    const [lo, hi] = this.clipBounds(node);
    if (lo === 0 && hi === 6) return Activation.RELU6;
    if (lo === 0 && hi === Infinity) return Activation.RELU;
    return undefined;
  }

  private clipBounds(node: Node): [number, number] {
    const bound = (i: number, fallback: number) => {
      const v = node.inputs[i];
      if (!v) return fallback;
      const c = this.graph.initializers.get(v);
      if (!c) throw new GraphError(`node '${node.name}' (Clip): its bounds must be constants to export it to .tflite`);
      return c.integers()[0]!;
    };
    return [bound(1, -Infinity), bound(2, Infinity)];
  }

  // ---- tensors -------------------------------------------------------------------------------

  shapeOf(value: string): number[] {
    const t = this.types.get(value);
    if (!t) throw new Error(`no type for '${value}'`);
    return t.shape.map((d) => {
      if (typeof d !== 'number') throw new GraphError(`value '${value}' has the symbolic dimension '${d}'; .tflite shapes are static`, 'give the batch (--batch) and fixed input sizes');
      return d;
    });
  }

  activation(name: string, shape: number[]): number {
    return this.model.tensors.push({ name, shape, type: TensorTypeCode.FLOAT32, buffer: 0 }) - 1;
  }

  tensorShape(tensor: number): number[] {
    return this.model.tensors[tensor]!.shape;
  }

  layoutOf(value: string): Layout | undefined {
    return this.values.get(value)?.layout;
  }

  emitted(value: string): { tensor: number; layout: Layout } | undefined {
    return this.values.get(value);
  }

  bind(value: string, tensor: number, layout: Layout): void {
    this.values.set(value, { tensor, layout });
  }

  private constantTensor(name: string, shape: number[], type: number, bytes: Uint8Array): number {
    const buffer = this.model.buffers.push(bytes) - 1;
    return this.model.tensors.push({ name, shape, type, buffer }) - 1;
  }

  floatConstant(name: string, shape: number[], values: Float32Array): number {
    return this.constantTensor(name, shape, TensorTypeCode.FLOAT32, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }

  intConstant(name: string, values: number[], shape: number[] = [values.length]): number {
    const a = Int32Array.from(values);
    return this.constantTensor(name, shape, TensorTypeCode.INT32, new Uint8Array(a.buffer));
  }

  op(builtin: number, inputs: number[], outputs: number[], type?: number, fields: OptionField[] = []): void {
    const op: TfliteOperator = { builtin, inputs, outputs };
    if (type !== undefined) op.options = { type, fields };
    this.model.operators.push(op);
  }

  /** The tensor of an IR value in NHWC (4-d activations), transposing a plain one once. */
  asNhwc(value: string): number {
    const e = this.values.get(value);
    if (!e) return this.constantInLayout(value, 'nhwc');
    if (e.layout === 'nhwc' || this.shapeOf(value).length !== 4) return e.tensor;
    return this.transposed(value, e.tensor, [0, 2, 3, 1], 'nhwc');
  }

  /** The tensor of an IR value in the IR's own layout. */
  asPlain(value: string): number {
    const e = this.values.get(value);
    if (!e) return this.constantInLayout(value, 'plain');
    if (e.layout === 'plain') return e.tensor;
    return this.transposed(value, e.tensor, [0, 3, 1, 2], 'plain');
  }

  private transposed(value: string, tensor: number, perm: number[], to: Layout): number {
    const key = `${value}@${to}`;
    const made = this.relaid.get(key);
    if (made !== undefined) return made;
    const [n, a, b, c] = this.model.tensors[tensor]!.shape as [number, number, number, number];
    const from = [n, a, b, c];
    const out = this.activation(`${value}.${to}`, perm.map((p) => from[p]!));
    this.op(Op.TRANSPOSE, [tensor, this.intConstant(`${value}.${to}.perm`, perm)], [out], OptionsType.TransposeOptions);
    this.relaid.set(key, out);
    return out;
  }

  /** An initializer read as an operand: NHWC-ordered when it meets NHWC activations. */
  private constantInLayout(value: string, layout: Layout): number {
    const c = this.graph.initializers.get(value);
    if (!c) throw new Error(`value '${value}' was not emitted`);
    if (c.dtype !== 'float32') throw new GraphError(`constant '${value}' is ${c.dtype}; the .tflite export writes float32 operands only`);
    const dims = [...c.dims];
    if (layout === 'nhwc' && dims.length === 4) {
      const [n, ch, h, w] = dims as [number, number, number, number];
      return this.floatConstant(value, [n, h, w, ch], toNhwc(c.float32(), n, ch, h, w));
    }
    if (layout === 'nhwc' && dims.length === 3) {
      const [ch, h, w] = dims as [number, number, number];
      return this.floatConstant(value, [h, w, ch], toNhwc(c.float32(), 1, ch, h, w));
    }
    if (layout === 'nhwc' && dims.length > 0 && c.elementCount > 1) {
      throw new GraphError(`constant '${value}' [${dims.join(', ')}] broadcasts along a trailing NCHW axis, which has no NHWC equivalent in this exporter`);
    }
    return this.floatConstant(value, dims, c.float32());
  }

  setOutput(node: Node, tensor: number, layout: Layout): void {
    this.values.set(this.finalOutput.get(node.name) ?? node.outputs[0]!, { tensor, layout });
  }

  outputTensor(node: Node, layout: Layout): number {
    const value = this.finalOutput.get(node.name) ?? node.outputs[0]!;
    const shape = this.shapeOf(value);
    return this.activation(value, layout === 'nhwc' && shape.length === 4 ? [shape[0]!, shape[2]!, shape[3]!, shape[1]!] : shape);
  }

  private fused(node: Node): number {
    return this.fusedAct.get(node.name)?.code ?? Activation.NONE;
  }

  // ---- operators -----------------------------------------------------------------------------

  private emitNode(node: Node): void {
    const handler = HANDLERS[node.op];
    if (!handler) {
      throw new GraphError(
        `node '${node.name}': operator ${node.op} has no .tflite export`,
        `the .tflite export writes ${Object.keys(HANDLERS).sort().join(', ')}`,
      );
    }
    handler.call(this, node);
  }

  conv(node: Node): void {
    const weight = this.graph.initializers.get(node.inputs[1]!);
    if (!weight) throw new GraphError(`node '${node.name}' (Conv): its weight is not a constant; the .tflite export needs constant weights`);
    if (weight.dims.length !== 4) throw new GraphError(`node '${node.name}' (Conv): only 2-d convolutions export to .tflite`);
    const [cout, cinPerGroup, kh, kw] = weight.dims as [number, number, number, number];
    const group = getInt(node.attrs, 'group', 1);
    const cin = cinPerGroup * group;
    const { weights, bias } = this.foldedWeights(node, weight, cout);
    const strides = getInts(node.attrs, 'strides') ?? [1, 1];
    const dilations = getInts(node.attrs, 'dilations') ?? [1, 1];
    let x = this.asNhwc(node.inputs[0]!);
    const padding = this.padFor(node, x, [kh, kw], strides, dilations, 0);
    x = padding.input;
    const out = this.outputTensor(node, 'nhwc');
    const b = this.floatConstant(`${node.name}.bias`, [cout], bias);
    if (group === cin && group > 1) {
      // Depthwise: filter [1, kh, kw, cout]; cout = cin · depth multiplier.
      const w = this.floatConstant(`${node.name}.weight`, [1, kh, kw, cout], depthwiseLayout(weights, cout, kh, kw));
      const D = F.DepthwiseConv2DOptions;
      this.op(Op.DEPTHWISE_CONV_2D, [x, w, b], [out], OptionsType.DepthwiseConv2DOptions, [
        { slot: D.padding, kind: 'int8', value: padding.code },
        { slot: D.stride_w, kind: 'int32', value: strides[1]! },
        { slot: D.stride_h, kind: 'int32', value: strides[0]! },
        { slot: D.depth_multiplier, kind: 'int32', value: cout / cin },
        { slot: D.fused_activation_function, kind: 'int8', value: this.fused(node) },
        { slot: D.dilation_w_factor, kind: 'int32', value: dilations[1]! },
        { slot: D.dilation_h_factor, kind: 'int32', value: dilations[0]! },
      ]);
    } else {
      // Ordinary and grouped: filter [cout, kh, kw, cin/group]; LiteRT reads the group count
      // from the input's channels over the filter's.
      const w = this.floatConstant(`${node.name}.weight`, [cout, kh, kw, cinPerGroup], toNhwc(weights, cout, cinPerGroup, kh, kw));
      const C = F.Conv2DOptions;
      this.op(Op.CONV_2D, [x, w, b], [out], OptionsType.Conv2DOptions, [
        { slot: C.padding, kind: 'int8', value: padding.code },
        { slot: C.stride_w, kind: 'int32', value: strides[1]! },
        { slot: C.stride_h, kind: 'int32', value: strides[0]! },
        { slot: C.fused_activation_function, kind: 'int8', value: this.fused(node) },
        { slot: C.dilation_w_factor, kind: 'int32', value: dilations[1]! },
        { slot: C.dilation_h_factor, kind: 'int32', value: dilations[0]! },
      ]);
    }
    this.setOutput(node, out, 'nhwc');
  }

  /** The convolution's weights and bias with a following BatchNorm folded in. */
  private foldedWeights(node: Node, weight: ConstTensor, cout: number): { weights: Float32Array; bias: Float32Array } {
    const w = Float32Array.from(weight.float32());
    const biasName = node.inputs[2];
    const bias = biasName ? Float32Array.from(this.graph.initializers.get(biasName)!.float32()) : new Float32Array(cout);
    const bn = this.foldedBn.get(node.name);
    if (!bn) return { weights: w, bias };
    const param = (i: number) => {
      const t = this.graph.initializers.get(bn.inputs[i]!);
      if (!t) throw new GraphError(`node '${bn.name}' (BatchNormalization): its parameters must be constants to fold it`);
      return t.float32();
    };
    const [gamma, beta, mean, variance] = [param(1), param(2), param(3), param(4)];
    const eps = getFloat(bn.attrs, 'epsilon', 1e-5);
    const perOut = w.length / cout;
    for (let o = 0; o < cout; o++) {
      const s = gamma[o]! / Math.sqrt(variance[o]! + eps);
      for (let i = 0; i < perOut; i++) w[o * perOut + i]! *= s;
      bias[o] = (bias[o]! - mean[o]!) * s + beta[o]!;
    }
    return { weights: w, bias };
  }

  /**
   * SAME or VALID where the IR's pads are LiteRT's, else an explicit PAD (PADV2 with `fill`
   * for max pooling) before a VALID window.
   */
  private padFor(node: Node, x: number, kernel: number[], strides: number[], dilations: number[], fill: number): { input: number; code: number } {
    const pads = getInts(node.attrs, 'pads') ?? [0, 0, 0, 0];
    const autoPad = getString(node.attrs, 'auto_pad', 'NOTSET');
    const [, h, w] = this.model.tensors[x]!.shape as [number, number, number, number];
    const same = [0, 1].map((i) => samePads([h, w][i]!, kernel[i]!, strides[i]!, dilations[i]!));
    if (autoPad === 'SAME_UPPER') return { input: x, code: Padding.SAME };
    if (autoPad === 'VALID' || pads.every((p) => p === 0)) return { input: x, code: Padding.VALID };
    const [t, l, b, r] = pads as [number, number, number, number];
    if (same[0]![0] === t && same[0]![1] === b && same[1]![0] === l && same[1]![1] === r) return { input: x, code: Padding.SAME };
    return { input: this.explicitPad(node.name, x, [t, b, l, r], fill), code: Padding.VALID };
  }

  private explicitPad(name: string, x: number, [t, b, l, r]: number[], fill: number): number {
    const [n, h, w, c] = this.model.tensors[x]!.shape as [number, number, number, number];
    const out = this.activation(`${name}.padded`, [n, h + t! + b!, w + l! + r!, c]);
    const paddings = this.intConstant(`${name}.paddings`, [0, 0, t!, b!, l!, r!, 0, 0], [4, 2]);
    if (fill === 0) this.op(Op.PAD, [x, paddings], [out], OptionsType.PadOptions);
    else this.op(Op.PADV2, [x, paddings, this.floatConstant(`${name}.fill`, [], Float32Array.of(fill))], [out], OptionsType.PadV2Options);
    return out;
  }

  pool(node: Node): void {
    const kernel = getInts(node.attrs, 'kernel_shape')!;
    const strides = getInts(node.attrs, 'strides') ?? [1, 1];
    if (kernel.length !== 2) throw new GraphError(`node '${node.name}' (${node.op}): only 2-d pooling exports to .tflite`);
    if (getInt(node.attrs, 'ceil_mode', 0) === 1) throw new GraphError(`node '${node.name}' (${node.op}): ceil_mode has no .tflite equivalent`);
    const max = node.op === 'MaxPool';
    const includePad = getInt(node.attrs, 'count_include_pad', 0) === 1;
    let x = this.asNhwc(node.inputs[0]!);
    let padding = this.padFor(node, x, kernel, strides, [1, 1], max ? -3.4028234663852886e38 : 0);
    if (!max && padding.code === Padding.SAME && includePad) {
      // LiteRT's SAME average excludes the padding; the IR's includes it: pad with zeros instead.
      const pads = getInts(node.attrs, 'pads')!;
      padding = { input: this.explicitPad(node.name, x, [pads[0]!, pads[2]!, pads[1]!, pads[3]!], 0), code: Padding.VALID };
    } else if (!max && padding.input !== x && !includePad) {
      throw new GraphError(`node '${node.name}' (AveragePool): pads [${getInts(node.attrs, 'pads')}] that exclude the padding from the average and are not SAME have no .tflite equivalent`);
    }
    x = padding.input;
    const out = this.outputTensor(node, 'nhwc');
    const P = F.Pool2DOptions;
    this.op(max ? Op.MAX_POOL_2D : Op.AVERAGE_POOL_2D, [x], [out], OptionsType.Pool2DOptions, [
      { slot: P.padding, kind: 'int8', value: padding.code },
      { slot: P.stride_w, kind: 'int32', value: strides[1]! },
      { slot: P.stride_h, kind: 'int32', value: strides[0]! },
      { slot: P.filter_width, kind: 'int32', value: kernel[1]! },
      { slot: P.filter_height, kind: 'int32', value: kernel[0]! },
    ]);
    this.setOutput(node, out, 'nhwc');
  }

  mean(node: Node, axes: number[], keep: boolean, builtin: number = Op.MEAN): void {
    const rank = this.shapeOf(node.inputs[0]!).length;
    const nhwc = rank === 4;
    const x = nhwc ? this.asNhwc(node.inputs[0]!) : this.asPlain(node.inputs[0]!);
    const fileAxes = axes.map((a) => (a < 0 ? a + rank : a)).map((a) => (nhwc ? NHWC_AXIS[a]! : a));
    const layout: Layout = nhwc && keep ? 'nhwc' : 'plain';
    if (nhwc && !keep && !fileAxes.every((a) => a === 1 || a === 2)) {
      throw new GraphError(`node '${node.name}' (${node.op}): a reduction without keepdims over the channels has no layout-free .tflite form here`);
    }
    const out = this.outputTensor(node, layout);
    this.op(builtin, [x, this.intConstant(`${node.name}.axes`, fileAxes)], [out], OptionsType.ReducerOptions, [
      { slot: F.ReducerOptions.keep_dims, kind: 'bool', value: keep ? 1 : 0 },
    ]);
    this.setOutput(node, out, layout);
  }

  reshapeTo(node: Node, shape: number[]): void {
    const inShape = this.shapeOf(node.inputs[0]!);
    const e = this.values.get(node.inputs[0]!);
    // [N, C, 1, 1] and [N, 1, 1, C] hold their elements in the same order: no transpose needed.
    const trivial = inShape.length === 4 && inShape[2] === 1 && inShape[3] === 1;
    const x = e?.layout === 'nhwc' && trivial ? e.tensor : this.asPlain(node.inputs[0]!);
    const out = this.outputTensor(node, 'plain');
    this.op(Op.RESHAPE, [x, this.intConstant(`${node.name}.shape`, shape)], [out], OptionsType.ReshapeOptions, [
      { slot: F.ReshapeOptions.new_shape, kind: 'int32s', value: shape },
    ]);
    this.setOutput(node, out, 'plain');
  }

  gemm(node: Node): void {
    if (getFloat(node.attrs, 'alpha', 1) !== 1 || getFloat(node.attrs, 'beta', 1) !== 1 || getInt(node.attrs, 'transA', 0) !== 0) {
      throw new GraphError(`node '${node.name}' (Gemm): only alpha = beta = 1 without transA exports to .tflite`);
    }
    const weight = this.graph.initializers.get(node.inputs[1]!);
    if (!weight) throw new GraphError(`node '${node.name}' (Gemm): its weight is not a constant`);
    const transB = getInt(node.attrs, 'transB', 0) === 1;
    const [r, c] = weight.dims as [number, number];
    const [outF, inF] = transB ? [r, c] : [c, r];
    // FULLY_CONNECTED's filter is [out, in]: Gemm's B transposed.
    const w = transB ? weight.float32() : transpose2d(weight.float32(), r, c);
    const biasName = node.inputs[2];
    const bias = biasName ? this.graph.initializers.get(biasName)?.float32() : new Float32Array(outF);
    if (!bias || bias.length !== outF) throw new GraphError(`node '${node.name}' (Gemm): its bias must be a constant of ${outF} values`);
    const x = this.asPlain(node.inputs[0]!);
    const out = this.outputTensor(node, 'plain');
    this.op(
      Op.FULLY_CONNECTED,
      [x, this.floatConstant(`${node.name}.weight`, [outF, inF], w), this.floatConstant(`${node.name}.bias`, [outF], Float32Array.from(bias))],
      [out],
      OptionsType.FullyConnectedOptions,
      [{ slot: F.FullyConnectedOptions.fused_activation_function, kind: 'int8', value: this.fused(node) }],
    );
    this.setOutput(node, out, 'plain');
  }

  /** `arithmetic`: the options carry a fused activation (ADD, SUB, MUL, DIV); MAXIMUM, POW and the like have none. */
  binary(node: Node, builtin: number, optionsType: number, arithmetic = true): void {
    const [a, b] = node.inputs as [string, string];
    const nhwc = [a, b].some((v) => this.values.get(v)?.layout === 'nhwc') && this.shapeOf(node.outputs[0]!).length === 4;
    const read = (v: string) => (nhwc ? this.asNhwc(v) : this.asPlain(v));
    const layout: Layout = nhwc ? 'nhwc' : 'plain';
    const ta = read(a);
    const tb = read(b);
    const out = this.outputTensor(node, layout);
    this.op(builtin, [ta, tb], [out], optionsType, arithmetic ? [{ slot: F.ArithmeticOptions.fused_activation_function, kind: 'int8', value: this.fused(node) }] : []);
    this.setOutput(node, out, layout);
  }

  unaryActivation(node: Node): void {
    const code = this.activationCode(node);
    const nhwc = this.values.get(node.inputs[0]!)?.layout === 'nhwc';
    const x = nhwc ? this.asNhwc(node.inputs[0]!) : this.asPlain(node.inputs[0]!);
    const layout: Layout = nhwc ? 'nhwc' : 'plain';
    const out = this.outputTensor(node, layout);
    if (code === Activation.RELU) this.op(Op.RELU, [x], [out]);
    else if (code === Activation.RELU6) this.op(Op.RELU6, [x], [out]);
    else {
      const [lo, hi] = this.clipBounds(node);
      let t = x;
      if (lo !== -Infinity) {
        const m = hi === Infinity ? out : this.activation(`${node.name}.lower`, this.model.tensors[x]!.shape);
        this.op(Op.MAXIMUM, [t, this.floatConstant(`${node.name}.min`, [], Float32Array.of(lo))], [m], OptionsType.MaximumMinimumOptions);
        t = m;
      }
      if (hi !== Infinity) this.op(Op.MINIMUM, [t, this.floatConstant(`${node.name}.max`, [], Float32Array.of(hi))], [out], OptionsType.MaximumMinimumOptions);
    }
    this.setOutput(node, out, layout);
  }

  batchNorm(node: Node): void {
    // A BatchNorm no convolution absorbed: a per-channel scale and shift (MUL, ADD).
    const param = (i: number) => this.graph.initializers.get(node.inputs[i]!)!.float32();
    const [gamma, beta, mean, variance] = [param(1), param(2), param(3), param(4)];
    const eps = getFloat(node.attrs, 'epsilon', 1e-5);
    const c = gamma.length;
    const scale = new Float32Array(c);
    const shift = new Float32Array(c);
    for (let i = 0; i < c; i++) {
      scale[i] = gamma[i]! / Math.sqrt(variance[i]! + eps);
      shift[i] = beta[i]! - mean[i]! * scale[i]!;
    }
    if (this.shapeOf(node.inputs[0]!).length !== 4) throw new GraphError(`node '${node.name}' (BatchNormalization): only 4-d inputs export to .tflite`);
    const x = this.asNhwc(node.inputs[0]!);
    const scaled = this.activation(`${node.name}.scaled`, this.model.tensors[x]!.shape);
    this.op(Op.MUL, [x, this.floatConstant(`${node.name}.scale`, [c], scale)], [scaled], OptionsType.MulOptions);
    const out = this.outputTensor(node, 'nhwc');
    this.op(Op.ADD, [scaled, this.floatConstant(`${node.name}.shift`, [c], shift)], [out], OptionsType.AddOptions);
    this.setOutput(node, out, 'nhwc');
  }

  concat(node: Node): void {
    const rank = this.shapeOf(node.outputs[0]!).length;
    const axis = getInt(node.attrs, 'axis', 0);
    const a = axis < 0 ? axis + rank : axis;
    const nhwc = rank === 4;
    const inputs = node.inputs.map((v) => (nhwc ? this.asNhwc(v) : this.asPlain(v)));
    const out = this.outputTensor(node, nhwc ? 'nhwc' : 'plain');
    this.op(Op.CONCATENATION, inputs, [out], OptionsType.ConcatenationOptions, [{ slot: F.ConcatenationOptions.axis, kind: 'int32', value: nhwc ? NHWC_AXIS[a]! : a }]);
    this.setOutput(node, out, nhwc ? 'nhwc' : 'plain');
  }

  pad(node: Node): void {
    if (getString(node.attrs, 'mode', 'constant') !== 'constant') throw new GraphError(`node '${node.name}' (Pad): only constant padding exports to .tflite`);
    const pads = this.graph.initializers.get(node.inputs[1]!)?.integers();
    const fill = node.inputs[2] ? this.graph.initializers.get(node.inputs[2])?.float32()[0] : 0;
    if (!pads || fill === undefined) throw new GraphError(`node '${node.name}' (Pad): its pads and value must be constants to export it to .tflite`);
    const rank = pads.length / 2;
    // Any axis pads (imported models pad channels, as BlazeFace's channel_padding does): the rows
    // of PAD's [rank, 2] paddings follow the file's axis order.
    const nhwc = rank === 4;
    const x = nhwc ? this.asNhwc(node.inputs[0]!) : this.asPlain(node.inputs[0]!);
    const order = nhwc ? [0, 2, 3, 1] : [...Array(rank).keys()];
    const out = this.outputTensor(node, nhwc ? 'nhwc' : 'plain');
    const paddings = this.intConstant(`${node.name}.paddings`, order.flatMap((a) => [pads[a]!, pads[a + rank]!]), [rank, 2]);
    if (fill === 0) this.op(Op.PAD, [x, paddings], [out], OptionsType.PadOptions);
    else this.op(Op.PADV2, [x, paddings, this.floatConstant(`${node.name}.fill`, [], Float32Array.of(fill))], [out], OptionsType.PadV2Options);
    this.setOutput(node, out, nhwc ? 'nhwc' : 'plain');
  }

  slice(node: Node): void {
    const inShape = this.shapeOf(node.inputs[0]!);
    const outShape = this.shapeOf(node.outputs[0]!);
    const rank = inShape.length;
    const starts = this.graph.initializers.get(node.inputs[1]!)?.integers();
    const axes = node.inputs[3] ? this.graph.initializers.get(node.inputs[3])?.integers() : inShape.map((_, i) => i);
    const steps = node.inputs[4] ? this.graph.initializers.get(node.inputs[4])?.integers() : undefined;
    if (!starts || !axes || (steps && steps.some((s) => s !== 1))) throw new GraphError(`node '${node.name}' (Slice): only constant unit-step slices export to .tflite`);
    const begin = new Array<number>(rank).fill(0);
    axes.forEach((ax, i) => {
      const a = ax < 0 ? ax + rank : ax;
      const s = starts[i]!;
      begin[a] = Math.min(Math.max(s < 0 ? s + inShape[a]! : s, 0), inShape[a]!);
    });
    const nhwc = rank === 4;
    const x = nhwc ? this.asNhwc(node.inputs[0]!) : this.asPlain(node.inputs[0]!);
    const order = nhwc ? [0, 2, 3, 1] : inShape.map((_, i) => i);
    const out = this.outputTensor(node, nhwc ? 'nhwc' : 'plain');
    this.op(
      Op.SLICE,
      [x, this.intConstant(`${node.name}.begin`, order.map((i) => begin[i]!)), this.intConstant(`${node.name}.size`, order.map((i) => outShape[i]!))],
      [out],
      OptionsType.SliceOptions,
    );
    this.setOutput(node, out, nhwc ? 'nhwc' : 'plain');
  }

  softmax(node: Node): void {
    const rank = this.shapeOf(node.inputs[0]!).length;
    const axis = getInt(node.attrs, 'axis', -1);
    if ((axis < 0 ? axis + rank : axis) !== rank - 1) throw new GraphError(`node '${node.name}' (Softmax): only a softmax over the last axis exports to .tflite`);
    const x = this.asPlain(node.inputs[0]!);
    const out = this.outputTensor(node, 'plain');
    this.op(Op.SOFTMAX, [x], [out], OptionsType.SoftmaxOptions, [{ slot: F.SoftmaxOptions.beta, kind: 'float32', value: 1 }]);
    this.setOutput(node, out, 'plain');
  }
}

type Handler = (this: Exporter, node: Node) => void;

/** IR operator → its export: one entry per operator. */
const HANDLERS: Record<string, Handler> = {
  Conv: Exporter.prototype.conv,
  MaxPool: Exporter.prototype.pool,
  AveragePool: Exporter.prototype.pool,
  GlobalAveragePool(node) {
    this.mean(node, [2, 3], true);
  },
  ReduceMean(node) {
    this.mean(node, reduceAxes(this, node), getInt(node.attrs, 'keepdims', 1) === 1);
  },
  ReduceSum(node) {
    this.mean(node, reduceAxes(this, node), getInt(node.attrs, 'keepdims', 1) === 1, Op.SUM);
  },
  Squeeze(node) {
    this.reshapeTo(node, this.shapeOf(node.outputs[0]!));
  },
  Unsqueeze(node) {
    this.reshapeTo(node, this.shapeOf(node.outputs[0]!));
  },
  Max(node) {
    this.binary(node, Op.MAXIMUM, OptionsType.MaximumMinimumOptions, false);
  },
  Min(node) {
    this.binary(node, Op.MINIMUM, OptionsType.MaximumMinimumOptions, false);
  },
  Pow(node) {
    this.binary(node, Op.POW, OptionsType.PowOptions, false);
  },
  Flatten(node) {
    this.reshapeTo(node, this.shapeOf(node.outputs[0]!));
  },
  Reshape(node) {
    this.reshapeTo(node, this.shapeOf(node.outputs[0]!));
  },
  Gemm: Exporter.prototype.gemm,
  Add(node) {
    this.binary(node, Op.ADD, OptionsType.AddOptions);
  },
  Sub(node) {
    this.binary(node, Op.SUB, OptionsType.SubOptions);
  },
  Mul(node) {
    this.binary(node, Op.MUL, OptionsType.MulOptions);
  },
  Div(node) {
    this.binary(node, Op.DIV, OptionsType.DivOptions);
  },
  Relu: Exporter.prototype.unaryActivation,
  Clip: Exporter.prototype.unaryActivation,
  BatchNormalization: Exporter.prototype.batchNorm,
  Concat: Exporter.prototype.concat,
  Pad: Exporter.prototype.pad,
  Slice: Exporter.prototype.slice,
  Softmax: Exporter.prototype.softmax,
  ...Object.fromEntries(
    Object.entries(IMPORTED_OPS).map(([op, write]): [string, Handler] => [
      op,
      function (this: Exporter, node: Node) {
        write(this, node);
      },
    ]),
  ),
};

/** A reduction's axes: the attribute (opsets before 18) or the constant second input; all axes when neither. */
function reduceAxes(x: Exporter, node: Node): number[] {
  const fromAttr = getInts(node.attrs, 'axes');
  if (fromAttr) return fromAttr;
  if (node.inputs[1]) {
    const c = x.graph.initializers.get(node.inputs[1]);
    if (!c) throw new GraphError(`node '${node.name}' (${node.op}): its axes must be a constant to export it to .tflite`);
    return c.integers();
  }
  return [...Array(x.shapeOf(node.inputs[0]!).length).keys()];
}

/** TensorFlow's SAME padding [before, after] for one spatial axis. */
export function samePads(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max(0, (out - 1) * stride + dilation * (kernel - 1) + 1 - size);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** [n, c, h, w] → [n, h, w, c]. */
export function toNhwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++) out[((i * h + y) * w + xx) * c + ch] = x[((i * c + ch) * h + y) * w + xx]!;
  return out;
}

/** Depthwise weights [cout, 1, kh, kw] → [1, kh, kw, cout]. */
function depthwiseLayout(w: Float32Array, cout: number, kh: number, kw: number): Float32Array {
  return toNhwc(w, 1, cout, kh, kw);
}

function transpose2d(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
  return out;
}
