import { basename } from 'node:path';
import { MAX_MODEL_FILE_BYTES, readInputFile, type InputFileKind } from '../input/files.js';
import { attr, ConstTensor, foldPadsIntoWindows, GraphError, validateGraph, type Attrs, type Graph, type Node } from '../ir/index.js';
import { samePads } from './export.js';
import type { OptionReader, TfliteModel, TfliteOperator, TfliteTensor } from './model.js';
import { readTflite } from './read.js';
import { Activation, F, Op, opName, Padding, TensorTypeCode } from './schema.js';

const TFLITE_FILE: InputFileKind = { what: '.tflite model', maxBytes: MAX_MODEL_FILE_BYTES, hint: 'give the path of a .tflite file' };

export function readTfliteFile(path: string): Graph {
  return fromTfliteBytes(readInputFile(path, TFLITE_FILE), basename(path));
}

/**
 * `.tflite` → IR. LiteRT's 4-d activations are NHWC and the IR's are NCHW: each file tensor is
 * held as an IR value either in the file's own order ('plain') or as its NCHW permutation
 * ('nhwc'), and a transpose is added only where an operator needs the other one. So a file that
 * takes NCHW and transposes it once (ai-edge-torch's and formbench's) imports with no transpose
 * at all; a file that takes NHWC gets an NCHW IR input. Quantised tensors (INT8/UINT8 weights
 * with their scales and zero points, FLOAT16 weights) are dequantised to FP32 constants, and
 * QUANTIZE/DEQUANTIZE of activations become identities: the IR holds the network's FP32 form.
 * An operator outside the table below is refused by name.
 */
export function fromTfliteBytes(bytes: Uint8Array, source: string): Graph {
  // LiteRT's SAME/VALID-only padding leaves PyTorch-style pads as PAD operators: folded back
  // into the windows they feed, so that onnxruntime runs the network as it would the original.
  return foldPadsIntoWindows(new Importer(readTflite(bytes, source), source).run());
}

type Layout = 'nhwc' | 'plain';
interface Held {
  value: string;
  layout: Layout;
}

/** NHWC axis → NCHW axis of the same dimension. */
const NCHW_AXIS = [0, 2, 3, 1];

class Importer {
  private readonly graph: Graph;
  private readonly held = new Map<number, Held>();
  private readonly relaid = new Map<string, string>();
  private readonly usedNames = new Set<string>();

  constructor(
    private readonly file: TfliteModel,
    private readonly source: string,
  ) {
    this.graph = { name: source.replace(/\.tflite$/i, ''), inputs: [], outputs: [], initializers: new Map(), nodes: [], metadata: {} };
    if (file.description) this.graph.metadata['tflite_description'] = file.description;
  }

  run(): Graph {
    for (const i of this.file.inputs) this.declareInput(i);
    this.file.operators.forEach((op, k) => this.importOperator(op, k));
    const outputValues = this.file.outputs.map((i) => this.plain(i));
    let types;
    try {
      types = validateGraph(this.graph);
    } catch (e) {
      if (e instanceof GraphError) throw new GraphError(`${this.source}: ${e.message}`);
      throw e;
    }
    this.graph.outputs = outputValues.map((v) => ({ name: v, type: types.get(v)! }));
    return this.graph;
  }

  // ---- tensors -------------------------------------------------------------------------------

  private tensor(i: number): TfliteTensor {
    return this.file.tensors[i]!;
  }

  private isConstant(i: number): boolean {
    const t = this.tensor(i);
    return t.buffer > 0 && (this.file.buffers[t.buffer]?.byteLength ?? 0) > 0;
  }

  private declareInput(i: number): void {
    const t = this.tensor(i);
    const name = this.unique(t.name || `input${i}`);
    if (t.type !== TensorTypeCode.FLOAT32 && !t.quantization) throw new GraphError(`${this.source}: input '${t.name}' is of type ${t.type}; formbench feeds float32 inputs`);
    // An NCHW input that the file transposes at once stays NCHW; a 4-d input read as NHWC by
    // the operators becomes an NCHW IR input, the IR's convention.
    const readers = this.readersThroughQuantize(i);
    const transposedAtOnce = t.shape.length === 4 && readers.length > 0 && readers.every((op) => op.builtin === Op.TRANSPOSE && this.intsOf(op.inputs[1]!).join() === '0,2,3,1');
    if (t.shape.length === 4 && !transposedAtOnce) {
      const [n, h, w, c] = t.shape as [number, number, number, number];
      this.graph.inputs.push({ name, type: { dtype: 'float32', shape: [n, c, h, w] } });
      this.held.set(i, { value: name, layout: 'nhwc' });
    } else {
      this.graph.inputs.push({ name, type: { dtype: 'float32', shape: [...t.shape] } });
      this.held.set(i, { value: name, layout: 'plain' });
    }
  }

  /**
   * The operators reading tensor `i`, looking through QUANTIZE (an identity on the FP32 form the
   * IR holds): an integer file quantises its float input before the transpose to NHWC.
   */
  private readersThroughQuantize(i: number): TfliteOperator[] {
    return this.file.operators.filter((op) => op.inputs.includes(i)).flatMap((op) => (op.builtin === Op.QUANTIZE ? this.readersThroughQuantize(op.outputs[0]!) : [op]));
  }

  private unique(base: string): string {
    const clean = base.replace(/[^\w./:-]+/g, '_') || 'value';
    let name = clean;
    for (let k = 2; this.usedNames.has(name); k++) name = `${clean}_${k}`;
    this.usedNames.add(name);
    return name;
  }

  /** A constant tensor's values as float32, dequantised where the file quantised it. */
  private floats(i: number): Float32Array {
    const t = this.tensor(i);
    const data = this.file.buffers[t.buffer]!;
    const n = t.shape.reduce((a, b) => a * b, 1);
    let raw: Float32Array;
    switch (t.type) {
      case TensorTypeCode.FLOAT32:
        raw = new Float32Array(copyOf(data, 4 * n));
        break;
      case TensorTypeCode.FLOAT16:
        raw = halfToFloat(new Uint16Array(copyOf(data, 2 * n)));
        break;
      case TensorTypeCode.INT8:
        raw = Float32Array.from(new Int8Array(copyOf(data, n)));
        break;
      case TensorTypeCode.UINT8:
        raw = Float32Array.from(data.subarray(0, n));
        break;
      case TensorTypeCode.INT32:
        raw = Float32Array.from(new Int32Array(copyOf(data, 4 * n)));
        break;
      default:
        throw new GraphError(`${this.source}: constant '${t.name}' has tensor type ${t.type}, which formbench does not read`);
    }
    const q = t.quantization;
    if (!q || t.type === TensorTypeCode.FLOAT32 || t.type === TensorTypeCode.FLOAT16) return raw;
    // f = scale · (q − zero_point), per channel along `axis` when there are several scales.
    const axis = q.scale.length > 1 ? q.axis : -1;
    const inner = axis < 0 ? 1 : t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const channels = axis < 0 ? 1 : t.shape[axis]!;
    for (let k = 0; k < raw.length; k++) {
      const ch = axis < 0 ? 0 : Math.floor(k / inner) % channels;
      raw[k] = q.scale[ch]! * (raw[k]! - (q.zeroPoint[ch] ?? q.zeroPoint[0] ?? 0));
    }
    return raw;
  }

  private intsOf(i: number): number[] {
    if (!this.isConstant(i)) throw new GraphError(`${this.source}: tensor '${this.tensor(i).name}' must be a constant`);
    const t = this.tensor(i);
    const data = this.file.buffers[t.buffer]!;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.type === TensorTypeCode.INT64) return Array.from(new BigInt64Array(copyOf(data, 8 * n)), Number);
    if (t.type === TensorTypeCode.INT32) return Array.from(new Int32Array(copyOf(data, 4 * n)));
    throw new GraphError(`${this.source}: tensor '${t.name}' must hold int32 or int64 values`);
  }

  private initializer(base: string, dims: number[], values: Float32Array): string {
    const name = this.unique(base);
    this.graph.initializers.set(name, ConstTensor.fromFloat32(dims, values));
    return name;
  }

  private int64Initializer(base: string, values: number[]): string {
    const name = this.unique(base);
    this.graph.initializers.set(name, ConstTensor.fromInt64([values.length], values));
    return name;
  }

  /** The IR value holding file tensor i in the file's own layout. */
  private plain(i: number): string {
    const h = this.held.get(i);
    if (!h) return this.constantValue(i, 'plain');
    if (h.layout === 'plain') return h.value;
    return this.relay(h.value, [0, 2, 3, 1], `${h.value}.nhwc`);
  }

  /** The IR value holding file tensor i (NHWC in the file) in NCHW. */
  private nchw(i: number): string {
    const h = this.held.get(i);
    if (!h) return this.constantValue(i, 'nhwc');
    if (h.layout === 'nhwc' || this.tensor(i).shape.length !== 4) return h.value;
    return this.relay(h.value, [0, 3, 1, 2], `${h.value}.nchw`);
  }

  private relay(value: string, perm: number[], base: string): string {
    const key = `${value}:${perm.join()}`;
    const made = this.relaid.get(key);
    if (made) return made;
    const out = this.node('Transpose', [value], { perm: attr.ints(perm) }, base);
    this.relaid.set(key, out);
    return out;
  }

  /** A constant operand; NCHW-ordered when it meets NCHW-held (NHWC file) activations. */
  private constantValue(i: number, layout: Layout): string {
    const t = this.tensor(i);
    if (!this.isConstant(i)) throw new GraphError(`${this.source}: tensor '${t.name}' is read before any operator writes it`);
    const values = this.floats(i);
    if (layout === 'nhwc' && t.shape.length === 4) {
      const [n, h, w, c] = t.shape as [number, number, number, number];
      return this.initializer(t.name, [n, c, h, w], nhwcToNchw(values, n, h, w, c));
    }
    if (layout === 'nhwc' && t.shape.length === 1 && t.shape[0]! > 1) return this.initializer(t.name, [t.shape[0]!, 1, 1], values);
    if (layout === 'nhwc' && t.shape.length > 1 && values.length > 1) throw new GraphError(`${this.source}: constant '${t.name}' [${t.shape.join(', ')}] broadcasts against an NHWC tensor in a way formbench does not read`);
    return this.initializer(t.name, [...t.shape], values);
  }

  private node(op: string, inputs: string[], attrs: Attrs, base: string): string {
    const out = this.unique(base);
    const node: Node = { name: out, op, inputs, outputs: [out], attrs };
    this.graph.nodes.push(node);
    return out;
  }

  /** The operator's output, with its fused activation (if any) as a node of its own after it. */
  private finish(op: TfliteOperator, build: (base: string) => string, layout: Layout, activation: number = Activation.NONE): void {
    const t = this.tensor(op.outputs[0]!);
    const name = t.name || `t${op.outputs[0]}`;
    let value = build(activation === Activation.NONE ? name : `${name}.linear`);
    if (activation !== Activation.NONE) value = this.activation(value, activation, name, op);
    this.held.set(op.outputs[0]!, { value, layout });
  }

  private activation(x: string, code: number, base: string, op: TfliteOperator): string {
    switch (code) {
      case Activation.RELU:
        return this.node('Relu', [x], {}, base);
      case Activation.RELU6:
        return this.clip(x, 0, 6, base);
      case Activation.RELU_N1_TO_1:
        return this.clip(x, -1, 1, base);
      case Activation.TANH:
        return this.node('Tanh', [x], {}, base);
      default:
        throw new GraphError(`${this.source}: ${opName(op.builtin)} has the fused activation ${code}, which formbench does not read`);
    }
  }

  private clip(x: string, lo: number, hi: number, base: string): string {
    const min = this.initializer(`${base}.min`, [], Float32Array.of(lo));
    const max = this.initializer(`${base}.max`, [], Float32Array.of(hi));
    return this.node('Clip', [x, min, max], {}, base);
  }

  // ---- operators -----------------------------------------------------------------------------

  private importOperator(op: TfliteOperator, k: number): void {
    const handler = op.custom ? undefined : IMPORTERS[op.builtin];
    if (!handler) {
      const supported = Object.keys(IMPORTERS).map((c) => opName(Number(c))).sort().join(', ');
      throw new GraphError(`${this.source}: operator ${k} is ${opName(op.builtin, op.custom)}, which formbench does not import`, `supported .tflite operators: ${supported}`);
    }
    handler.call(this, op, op.readOptions);
  }

  conv(op: TfliteOperator, o: OptionReader | undefined, depthwise: boolean): void {
    const x = this.tensor(op.inputs[0]!);
    const w = this.tensor(op.inputs[1]!);
    if (!this.isConstant(op.inputs[1]!)) throw new GraphError(`${this.source}: ${opName(op.builtin)} '${this.tensor(op.outputs[0]!).name}' has a non-constant filter`);
    const [, h, wd, cin] = x.shape as [number, number, number, number];
    const D = depthwise ? F.DepthwiseConv2DOptions : F.Conv2DOptions;
    const strides = [o?.i32(D.stride_h, 1) ?? 1, o?.i32(D.stride_w, 1) ?? 1];
    const dilations = [o?.i32(D.dilation_h_factor, 1) ?? 1, o?.i32(D.dilation_w_factor, 1) ?? 1];
    const filter = this.floats(op.inputs[1]!);
    let weight: { dims: number[]; values: Float32Array };
    let group: number;
    if (depthwise) {
      const [, kh, kw, cout] = w.shape as [number, number, number, number];
      weight = { dims: [cout, 1, kh, kw], values: nhwcToNchw(filter, 1, kh, kw, cout) };
      group = cin;
    } else {
      const [cout, kh, kw, ci] = w.shape as [number, number, number, number];
      weight = { dims: [cout, ci, kh, kw], values: nhwcToNchw(filter, cout, kh, kw, ci) };
      group = cin / ci;
    }
    const [kh, kw] = [weight.dims[2]!, weight.dims[3]!];
    const padding = o?.i8(D.padding, Padding.SAME) ?? Padding.SAME;
    const pads = padsOf(padding, [h, wd], [kh, kw], strides, dilations);
    const input = this.nchw(op.inputs[0]!);
    const outName = this.tensor(op.outputs[0]!).name;
    const inputs = [input, this.initializer(`${outName}.weight`, weight.dims, weight.values)];
    const bias = op.inputs[2];
    if (bias !== undefined && bias >= 0) inputs.push(this.initializer(`${outName}.bias`, [weight.dims[0]!], this.floats(bias)));
    this.finish(
      op,
      (base) =>
        this.node('Conv', inputs, {
          kernel_shape: attr.ints([kh, kw]),
          strides: attr.ints(strides),
          dilations: attr.ints(dilations),
          pads: attr.ints(pads),
          group: attr.int(group),
        }, base),
      'nhwc',
      o?.i8(D.fused_activation_function, 0) ?? 0,
    );
  }

  pool(op: TfliteOperator, o: OptionReader | undefined): void {
    const P = F.Pool2DOptions;
    const [, h, w] = this.tensor(op.inputs[0]!).shape as [number, number, number, number];
    const kernel = [o?.i32(P.filter_height, 1) ?? 1, o?.i32(P.filter_width, 1) ?? 1];
    const strides = [o?.i32(P.stride_h, 1) ?? 1, o?.i32(P.stride_w, 1) ?? 1];
    const pads = padsOf(o?.i8(P.padding, Padding.SAME) ?? Padding.SAME, [h, w], kernel, strides, [1, 1]);
    const max = op.builtin === Op.MAX_POOL_2D;
    const x = this.nchw(op.inputs[0]!);
    // LiteRT's SAME average divides by the cells inside the input only.
    const attrs: Attrs = { kernel_shape: attr.ints(kernel), strides: attr.ints(strides), pads: attr.ints(pads) };
    if (!max) attrs['count_include_pad'] = attr.int(0);
    this.finish(op, (base) => this.node(max ? 'MaxPool' : 'AveragePool', [x], attrs, base), 'nhwc', o?.i8(P.fused_activation_function, 0) ?? 0);
  }

  fullyConnected(op: TfliteOperator, o: OptionReader | undefined): void {
    const FC = F.FullyConnectedOptions;
    if (o?.i8(FC.keep_num_dims, 0)) throw new GraphError(`${this.source}: FULLY_CONNECTED with keep_num_dims is not read by formbench`);
    const w = this.tensor(op.inputs[1]!);
    if (!this.isConstant(op.inputs[1]!)) throw new GraphError(`${this.source}: FULLY_CONNECTED '${this.tensor(op.outputs[0]!).name}' has a non-constant filter`);
    const [outF, inF] = w.shape as [number, number];
    let x = this.plain(op.inputs[0]!);
    const xs = this.tensor(op.inputs[0]!).shape;
    if (xs.length !== 2) x = this.node('Reshape', [x, this.int64Initializer(`${x}.rows`, [-1, inF])], {}, `${x}.rows`);
    const outName = this.tensor(op.outputs[0]!).name;
    const inputs = [x, this.initializer(`${outName}.weight`, [outF, inF], this.floats(op.inputs[1]!))];
    const bias = op.inputs[2];
    if (bias !== undefined && bias >= 0) inputs.push(this.initializer(`${outName}.bias`, [outF], this.floats(bias)));
    this.finish(op, (base) => this.node('Gemm', inputs, { transB: attr.int(1) }, base), 'plain', o?.i8(FC.fused_activation_function, 0) ?? 0);
  }

  binary(op: TfliteOperator, o: OptionReader | undefined, irOp: string): void {
    const [a, b] = op.inputs as [number, number];
    const nhwc = [a, b].some((i) => this.held.get(i)?.layout === 'nhwc') && this.tensor(op.outputs[0]!).shape.length === 4;
    const read = (i: number) => (nhwc ? this.nchw(i) : this.plain(i));
    const va = read(a);
    const vb = read(b);
    this.finish(op, (base) => this.node(irOp, [va, vb], {}, base), nhwc ? 'nhwc' : 'plain', o?.i8(F.ArithmeticOptions.fused_activation_function, 0) ?? 0);
  }

  /** MAXIMUM/MINIMUM against a scalar constant: a one-sided Clip. */
  bound(op: TfliteOperator, lower: boolean): void {
    const [a, b] = op.inputs as [number, number];
    const [x, c] = this.isConstant(b) ? [a, b] : [b, a];
    const values = this.isConstant(c) ? this.floats(c) : undefined;
    if (!values || values.length !== 1) throw new GraphError(`${this.source}: ${opName(op.builtin)} of two tensors is not read by formbench (only against a scalar constant)`);
    const layout = this.held.get(x)?.layout ?? 'plain';
    const v = layout === 'nhwc' ? this.nchw(x) : this.plain(x);
    this.finish(
      op,
      (base) => {
        const bound = this.initializer(`${base}.bound`, [], Float32Array.of(values[0]!));
        return this.node('Clip', lower ? [v, bound, ''] : [v, '', bound], {}, base);
      },
      layout,
    );
  }

  unary(op: TfliteOperator, irOp: string): void {
    const layout = this.held.get(op.inputs[0]!)?.layout ?? 'plain';
    const x = layout === 'nhwc' ? this.nchw(op.inputs[0]!) : this.plain(op.inputs[0]!);
    if (irOp === 'Relu6') this.finish(op, (base) => this.clip(x, 0, 6, base), layout);
    else if (irOp === 'Identity') this.held.set(op.outputs[0]!, { value: x, layout });
    else this.finish(op, (base) => this.node(irOp, [x], {}, base), layout);
  }

  concat(op: TfliteOperator, o: OptionReader | undefined): void {
    const rank = this.tensor(op.outputs[0]!).shape.length;
    const raw = o?.i32(F.ConcatenationOptions.axis, 0) ?? 0;
    const axis = raw < 0 ? raw + rank : raw;
    const nhwc = rank === 4;
    const inputs = op.inputs.map((i) => (nhwc ? this.nchw(i) : this.plain(i)));
    this.finish(op, (base) => this.node('Concat', inputs, { axis: attr.int(nhwc ? NCHW_AXIS[axis]! : axis) }, base), nhwc ? 'nhwc' : 'plain', o?.i8(F.ConcatenationOptions.fused_activation_function, 0) ?? 0);
  }

  mean(op: TfliteOperator, o: OptionReader | undefined): void {
    const rank = this.tensor(op.inputs[0]!).shape.length;
    const keep = (o?.i8(F.ReducerOptions.keep_dims, 0) ?? 0) === 1;
    const axes = this.intsOf(op.inputs[1]!).map((a) => (a < 0 ? a + rank : a));
    const nhwc = rank === 4 && (keep || axes.every((a) => a === 1 || a === 2));
    const x = nhwc ? this.nchw(op.inputs[0]!) : this.plain(op.inputs[0]!);
    const irAxes = nhwc ? axes.map((a) => NCHW_AXIS[a]!) : axes;
    this.finish(op, (base) => this.node('ReduceMean', [x], { axes: attr.ints(irAxes), keepdims: attr.int(keep ? 1 : 0) }, base), nhwc && keep ? 'nhwc' : 'plain');
  }

  reshape(op: TfliteOperator, o: OptionReader | undefined): void {
    const shape = op.inputs[1] !== undefined && op.inputs[1] >= 0 ? this.intsOf(op.inputs[1]) : (o?.ints(F.ReshapeOptions.new_shape) ?? this.tensor(op.outputs[0]!).shape);
    const inShape = this.tensor(op.inputs[0]!).shape;
    const h = this.held.get(op.inputs[0]!);
    // [N, 1, 1, C] (file) and [N, C, 1, 1] (IR) hold their elements in the same order.
    const trivial = h?.layout === 'nhwc' && inShape.length === 4 && inShape[1] === 1 && inShape[2] === 1;
    const x = trivial ? h.value : this.plain(op.inputs[0]!);
    this.finish(op, (base) => this.node('Reshape', [x, this.int64Initializer(`${base}.shape`, shape)], {}, base), 'plain');
  }

  transpose(op: TfliteOperator): void {
    const perm = this.intsOf(op.inputs[1]!);
    const h = this.held.get(op.inputs[0]!);
    if (h && this.tensor(op.inputs[0]!).shape.length === 4) {
      // Layout changes between NCHW and NHWC are bookkeeping here, not nodes.
      if (h.layout === 'plain' && perm.join() === '0,2,3,1') return void this.held.set(op.outputs[0]!, { value: h.value, layout: 'nhwc' });
      if (h.layout === 'nhwc' && perm.join() === '0,3,1,2') return void this.held.set(op.outputs[0]!, { value: h.value, layout: 'plain' });
    }
    const x = this.plain(op.inputs[0]!);
    this.finish(op, (base) => this.node('Transpose', [x], { perm: attr.ints(perm) }, base), 'plain');
  }

  pad(op: TfliteOperator): void {
    const paddings = this.intsOf(op.inputs[1]!);
    const fill = op.inputs[2] !== undefined && op.inputs[2] >= 0 ? this.floats(op.inputs[2])[0]! : 0;
    const rank = paddings.length / 2;
    const nhwc = rank === 4;
    const x = nhwc ? this.nchw(op.inputs[0]!) : this.plain(op.inputs[0]!);
    const order = nhwc ? [0, 3, 1, 2] : [...Array(rank).keys()];
    const begins = order.map((a) => paddings[2 * a]!);
    const ends = order.map((a) => paddings[2 * a + 1]!);
    this.finish(
      op,
      (base) => {
        const inputs = [x, this.int64Initializer(`${base}.pads`, [...begins, ...ends])];
        if (fill !== 0) inputs.push(this.initializer(`${base}.value`, [], Float32Array.of(fill)));
        return this.node('Pad', inputs, {}, base);
      },
      nhwc ? 'nhwc' : 'plain',
    );
  }

  slice(op: TfliteOperator): void {
    const begin = this.intsOf(op.inputs[1]!);
    const size = this.intsOf(op.inputs[2]!);
    const shape = this.tensor(op.inputs[0]!).shape;
    const nhwc = shape.length === 4;
    const x = nhwc ? this.nchw(op.inputs[0]!) : this.plain(op.inputs[0]!);
    const ends = size.map((s, a) => (s < 0 ? shape[a]! : begin[a]! + s));
    const axes = nhwc ? [0, 1, 2, 3].map((a) => NCHW_AXIS[a]!) : [...begin.keys()];
    this.finish(
      op,
      (base) => this.node('Slice', [x, this.int64Initializer(`${base}.starts`, begin), this.int64Initializer(`${base}.ends`, ends), this.int64Initializer(`${base}.axes`, axes)], {}, base),
      nhwc ? 'nhwc' : 'plain',
    );
  }

  softmax(op: TfliteOperator, o: OptionReader | undefined): void {
    const beta = o?.f32(F.SoftmaxOptions.beta, 1) ?? 1;
    if (beta !== 1) throw new GraphError(`${this.source}: SOFTMAX with beta ${beta} is not read by formbench (only beta 1)`);
    const h = this.held.get(op.inputs[0]!);
    const nhwc = h?.layout === 'nhwc' && this.tensor(op.inputs[0]!).shape.length === 4;
    const x = nhwc ? h!.value : this.plain(op.inputs[0]!);
    this.finish(op, (base) => this.node('Softmax', [x], { axis: attr.int(nhwc ? 1 : -1) }, base), nhwc ? 'nhwc' : 'plain');
  }

  squeeze(op: TfliteOperator, o: OptionReader | undefined): void {
    const rank = this.tensor(op.inputs[0]!).shape.length;
    const dims = (o?.ints(F.SqueezeOptions.squeeze_dims) ?? []).map((a) => (a < 0 ? a + rank : a));
    const x = this.plain(op.inputs[0]!);
    this.finish(op, (base) => (dims.length ? this.node('Squeeze', [x, this.int64Initializer(`${base}.axes`, dims)], {}, base) : this.node('Squeeze', [x], {}, base)), 'plain');
  }

  dequantize(op: TfliteOperator): void {
    const i = op.inputs[0]!;
    // A constant stored in FLOAT16 or INT8 and widened at load: the IR holds it as FP32.
    if (this.isConstant(i)) {
      const t = this.tensor(i);
      const name = this.unique(t.name);
      this.graph.initializers.set(name, ConstTensor.fromFloat32([...t.shape], this.floats(i)));
      this.held.set(op.outputs[0]!, { value: name, layout: 'plain' });
      return;
    }
    this.unary(op, 'Identity');
  }
}

type Handler = (this: Importer, op: TfliteOperator, options: OptionReader | undefined) => void;

/** BuiltinOperator → its import: one entry per operator. */
const IMPORTERS: Record<number, Handler> = {
  [Op.CONV_2D](op, o) {
    this.conv(op, o, false);
  },
  [Op.DEPTHWISE_CONV_2D](op, o) {
    this.conv(op, o, true);
  },
  [Op.FULLY_CONNECTED]: Importer.prototype.fullyConnected,
  [Op.AVERAGE_POOL_2D]: Importer.prototype.pool,
  [Op.MAX_POOL_2D]: Importer.prototype.pool,
  [Op.ADD](op, o) {
    this.binary(op, o, 'Add');
  },
  [Op.SUB](op, o) {
    this.binary(op, o, 'Sub');
  },
  [Op.MUL](op, o) {
    this.binary(op, o, 'Mul');
  },
  [Op.DIV](op, o) {
    this.binary(op, o, 'Div');
  },
  [Op.MAXIMUM](op) {
    this.bound(op, true);
  },
  [Op.MINIMUM](op) {
    this.bound(op, false);
  },
  [Op.CONCATENATION]: Importer.prototype.concat,
  [Op.MEAN]: Importer.prototype.mean,
  [Op.RESHAPE]: Importer.prototype.reshape,
  [Op.SQUEEZE]: Importer.prototype.squeeze,
  [Op.TRANSPOSE]: Importer.prototype.transpose,
  [Op.PAD]: Importer.prototype.pad,
  [Op.PADV2]: Importer.prototype.pad,
  [Op.SLICE]: Importer.prototype.slice,
  [Op.SOFTMAX]: Importer.prototype.softmax,
  [Op.RELU](op) {
    this.unary(op, 'Relu');
  },
  [Op.RELU6](op) {
    this.unary(op, 'Relu6');
  },
  [Op.LOGISTIC](op) {
    this.unary(op, 'Sigmoid');
  },
  [Op.TANH](op) {
    this.unary(op, 'Tanh');
  },
  [Op.HARD_SWISH](op) {
    this.unary(op, 'HardSwish');
  },
  [Op.DEQUANTIZE]: Importer.prototype.dequantize,
  // Activations are held dequantised: re-quantising them is the identity on the FP32 form.
  [Op.QUANTIZE](op) {
    this.unary(op, 'Identity');
  },
};

/** The IR's explicit pads [top, left, bottom, right] for LiteRT's SAME or VALID. */
function padsOf(padding: number, spatial: number[], kernel: number[], strides: number[], dilations: number[]): number[] {
  if (padding === Padding.VALID) return [0, 0, 0, 0];
  const [t, b] = samePads(spatial[0]!, kernel[0]!, strides[0]!, dilations[0]!);
  const [l, r] = samePads(spatial[1]!, kernel[1]!, strides[1]!, dilations[1]!);
  return [t, l, b, r];
}

/** [n, h, w, c] → [n, c, h, w]. */
function nhwcToNchw(x: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let ch = 0; ch < c; ch++) out[((i * c + ch) * h + y) * w + xx] = x[((i * h + y) * w + xx) * c + ch]!;
  return out;
}

/** An aligned copy of the first `n` bytes (a buffer inside the file may sit at any offset). */
function copyOf(data: Uint8Array, n: number): ArrayBuffer {
  if (data.byteLength < n) throw new GraphError(`a constant's buffer holds ${data.byteLength} bytes where its shape needs ${n}`);
  // Not data.slice: a Node Buffer's slice is a view, and its .buffer the whole file.
  const copy = new Uint8Array(n);
  copy.set(data.subarray(0, n));
  return copy.buffer;
}

function halfToFloat(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const v = h[i]!;
    const sign = v & 0x8000 ? -1 : 1;
    const exp = (v >> 10) & 0x1f;
    const frac = v & 0x3ff;
    out[i] = exp === 0 ? sign * 2 ** -14 * (frac / 1024) : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * 2 ** (exp - 15) * (1 + frac / 1024);
  }
  return out;
}
