/**
 * A fully integer-quantised `.tflite`, as LiteRT's converter writes one for full-integer
 * post-training quantisation: the FP32 file (tflite/export.ts, BatchNorm folded, activations
 * fused) rewritten operator by operator with calibrated activation ranges. What LiteRT's int8
 * kernels take (TFLite's "8-bit quantization specification"):
 *
 * - activations int8, asymmetric, per tensor (zero point in [−128, 127]);
 * - weights int8, symmetric ([−127, 127], zero point 0) per output channel: quantized_dimension 0
 *   for CONV_2D ([Cout, kh, kw, Cin]) and FULLY_CONNECTED ([out, in]), 3 for DEPTHWISE_CONV_2D
 *   ([1, kh, kw, Cout]);
 * - biases int32 with scale input_scale × weight_scale per channel and zero point 0;
 * - a QUANTIZE after each float input and a DEQUANTIZE before each float output, so that the
 *   file's interface stays float32 (and NCHW) like the FP32 export's;
 * - operators that only move or select values (pooling, reshape, transpose, pad, slice, max/min
 *   against a bound) keep their input's scale and zero point, which the spec requires of them;
 *   CONCATENATION requires its inputs at its output's, so an input calibrated apart is
 *   requantised (an int8 → int8 QUANTIZE); SOFTMAX's output is fixed at scale 1/256, zero point
 *   −128.
 *
 * The quantisation arithmetic is params.ts's, shared with the QDQ ONNX rewrite (qdq.ts); only
 * the integer range of activations differs (int8 here, uint8 there), and weights use the full
 * symmetric range, since onnxruntime's reduced range is about its AVX2 kernels, not LiteRT's.
 */
import { GraphError, type Graph } from '../ir/index.js';
import { toOnnxBytes } from '../onnx/index.js';
import { toTfliteModel, writeTflite } from '../tflite/index.js';
import type { TfliteModel, TfliteOperator, TfliteQuantization, TfliteTensor } from '../tflite/model.js';
import { Op, opName, TensorTypeCode } from '../tflite/schema.js';
import { collectRanges, type ModelInput } from './calibrate.js';
import { decodeModel } from './onnx-model.js';
import { asymmetricParams, INT8_ACTIVATION_RANGE, INT8_SYMMETRIC_RANGE, quantize, quantizeBias, quantizePerChannel, type QuantParams } from './params.js';
import type { CalibrationMethod, Range } from './ranges.js';

/** Operators whose output keeps its input's scale and zero point. */
const SAME_SCALE: ReadonlySet<number> = new Set([Op.TRANSPOSE, Op.RESHAPE, Op.MAX_POOL_2D, Op.AVERAGE_POOL_2D, Op.PAD, Op.PADV2, Op.SLICE, Op.MAXIMUM, Op.MINIMUM]);
/** Operators whose output is quantised over its own calibrated range. */
const CALIBRATED: ReadonlySet<number> = new Set([Op.CONV_2D, Op.DEPTHWISE_CONV_2D, Op.FULLY_CONNECTED, Op.ADD, Op.SUB, Op.MUL, Op.CONCATENATION, Op.MEAN, Op.RELU, Op.RELU6]);
/** Operators whose int8 kernel fixes the output's parameters (the spec's exceptions). */
const FIXED_OUTPUT: ReadonlyMap<number, QuantParams> = new Map([[Op.SOFTMAX, { scale: 1 / 256, zeroPoint: -128 }]]);
/** Weights' output-channel axis (quantized_dimension) per operator. */
const WEIGHT_AXIS: ReadonlyMap<number, number> = new Map([
  [Op.CONV_2D, 0],
  [Op.FULLY_CONNECTED, 0],
  [Op.DEPTHWISE_CONV_2D, 3],
]);

/** Every operator the INT8 rewrite writes, by name (for refusals and the README). */
export const INT8_TFLITE_OPS: readonly string[] = [...SAME_SCALE, ...CALIBRATED, ...FIXED_OUTPUT.keys()].map((c) => opName(c)).sort();

export interface Int8TfliteOptions {
  calibration: ModelInput[];
  method: CalibrationMethod;
  /** For 'percentile': the central share of values kept, in percent. */
  percentile?: number;
  /** The batch the file is written for (LiteRT's shapes are static). */
  batch?: number;
  description?: string;
}

export interface Int8TfliteSummary {
  method: CalibrationMethod;
  calibrationImages: number;
  /** Operators of the written file, by name (QUANTIZE and DEQUANTIZE included). */
  operators: Record<string, number>;
  /** Int8 activation tensors. */
  activations: number;
  /** Int8 weight tensors (per output channel) and the int32 biases with them. */
  weights: number;
  /** int8 → int8 QUANTIZE operators added before concatenations whose inputs were calibrated apart. */
  requantized: number;
  /**
   * Outputs that have no value of their own in the IR (the MUL of a BatchNorm not after a
   * convolution) and whose range is bounded from their operands' instead of calibrated.
   */
  derivedRanges: number;
}

/**
 * `formbench export --precision int8`: the FP32 .tflite of `graph`, calibrated on the FP32 IR
 * graph in onnxruntime (calibrate.ts: min/max or percentile over `calibration`) and rewritten
 * to full integer.
 */
export async function int8TfliteBytes(graph: Graph, options: Int8TfliteOptions): Promise<{ bytes: Uint8Array; summary: Int8TfliteSummary }> {
  const float = toTfliteModel(graph, { ...(options.batch !== undefined ? { batch: options.batch } : {}), ...(options.description !== undefined ? { description: options.description } : {}) });
  const { model, summary } = int8TfliteModel(float, await int8TfliteRanges(graph, float, options));
  return { bytes: writeTflite(model), summary: { method: options.method, calibrationImages: options.calibration.reduce((n, x) => n + x.dims[0]!, 0), ...summary } };
}

/**
 * The ranges the INT8 rewrite of `float` (the FP32 file of `graph`) reads, calibrated on the FP32
 * graph. They hold for the file at any batch: the calibration runs image by image.
 */
export function int8TfliteRanges(graph: Graph, float: TfliteModel, options: Pick<Int8TfliteOptions, 'calibration' | 'method' | 'percentile'>): Promise<Map<string, Range>> {
  // The file's operator outputs are named by the IR values they stand for (a folded
  // Conv → BatchNorm → ReLU writes one tensor, named by the ReLU's output), so their ranges are
  // those values' ranges in the FP32 graph.
  const irValues = new Set([...graph.inputs.map((i) => i.name), ...graph.nodes.flatMap((n) => n.outputs)]);
  const wanted = int8RangesNeeded(float).filter((name) => irValues.has(name));
  return collectRanges(decodeModel(toOnnxBytes(graph)), wanted, options.calibration, { method: options.method, ...(options.percentile !== undefined ? { percentile: options.percentile } : {}) });
}

/** The tensors of an FP32 file whose ranges the rewrite reads: its inputs and the outputs of operators quantised over their own range. */
export function int8RangesNeeded(model: TfliteModel): string[] {
  const names = model.inputs.map((i) => model.tensors[i]!.name);
  for (const op of model.operators) if (CALIBRATED.has(op.builtin)) names.push(model.tensors[op.outputs[0]!]!.name);
  return [...new Set(names)];
}

/** The rewrite itself, on data: `ranges` by tensor name (missing ones are bounded where that is possible, else refused). */
export function int8TfliteModel(float: TfliteModel, ranges: Map<string, Range>): { model: TfliteModel; summary: Omit<Int8TfliteSummary, 'method' | 'calibrationImages'> } {
  return new Int8Rewriter(float, ranges).run();
}

const perTensor = (p: QuantParams): TfliteQuantization => ({ scale: [p.scale], zeroPoint: [p.zeroPoint], axis: 0 });

/** The real values an int8 tensor with these parameters can hold. */
function representable(p: QuantParams): Range {
  const [qmin, qmax] = INT8_ACTIVATION_RANGE;
  return { min: p.scale * (qmin - p.zeroPoint), max: p.scale * (qmax - p.zeroPoint) };
}

class Int8Rewriter {
  private readonly tensors: TfliteTensor[];
  private readonly buffers: Uint8Array[];
  private readonly operators: TfliteOperator[] = [];
  /** Int8 activation tensor → its parameters. */
  private readonly params = new Map<number, QuantParams>();
  /** A float input → the int8 tensor its QUANTIZE writes. */
  private readonly remap = new Map<number, number>();
  /** Constant tensor → operators of the FP32 file reading it (one reader's constant is rewritten in place). */
  private readonly readers = new Map<number, number>();
  private requantized = 0;
  private derivedRanges = 0;
  private weights = 0;

  constructor(
    private readonly float: TfliteModel,
    private readonly ranges: Map<string, Range>,
  ) {
    this.tensors = float.tensors.map((t) => ({ ...t, shape: [...t.shape] }));
    this.buffers = [...float.buffers];
    for (const op of float.operators) for (const i of op.inputs) this.readers.set(i, (this.readers.get(i) ?? 0) + 1);
  }

  run(): { model: TfliteModel; summary: Omit<Int8TfliteSummary, 'method' | 'calibrationImages'> } {
    for (const i of this.float.inputs) {
      const t = this.tensors[i]!;
      if (t.type !== TensorTypeCode.FLOAT32) throw new GraphError(`input '${t.name}' is not float32; the INT8 export quantises float inputs`);
      const p = this.calibrated(t.name);
      const q = this.addTensor({ name: `${t.name}.int8`, shape: [...t.shape], type: TensorTypeCode.INT8, buffer: 0, quantization: perTensor(p) });
      this.params.set(q, p);
      this.remap.set(i, q);
      this.operators.push({ builtin: Op.QUANTIZE, inputs: [i], outputs: [q] });
    }
    for (const op of this.float.operators) this.rewrite({ ...op, inputs: op.inputs.map((i) => this.remap.get(i) ?? i), outputs: [...op.outputs] });
    const outputs = this.float.outputs.map((o) => {
      const q = this.remap.get(o) ?? o;
      const t = this.tensors[q]!;
      if (!this.params.has(q)) throw new Error(`output '${t.name}' was not quantised`);
      // The float output keeps the name the interface (and the signature) has.
      const f = this.addTensor({ name: t.name, shape: [...t.shape], type: TensorTypeCode.FLOAT32, buffer: 0 });
      t.name = `${t.name}.int8`;
      this.operators.push({ builtin: Op.DEQUANTIZE, inputs: [q], outputs: [f] });
      return f;
    });
    const model: TfliteModel = { ...this.float, tensors: this.tensors, buffers: this.buffers, operators: this.operators, inputs: [...this.float.inputs], outputs };
    const operators: Record<string, number> = {};
    for (const op of this.operators) operators[opName(op.builtin)] = (operators[opName(op.builtin)] ?? 0) + 1;
    return { model, summary: { operators, activations: this.params.size, weights: this.weights, requantized: this.requantized, derivedRanges: this.derivedRanges } };
  }

  private rewrite(op: TfliteOperator): void {
    const out = op.outputs[0]!;
    if (op.outputs.length !== 1) throw new GraphError(`${opName(op.builtin)} with ${op.outputs.length} outputs has no INT8 .tflite export`);
    if (SAME_SCALE.has(op.builtin)) {
      const x = op.inputs.find((i) => this.params.has(i));
      if (x === undefined) throw new Error(`${opName(op.builtin)} '${this.tensors[out]!.name}' reads no int8 activation`);
      const p = this.params.get(x)!;
      // PADV2's fill and MAXIMUM/MINIMUM's bound are values of the activation: its parameters.
      op.inputs = op.inputs.map((i) => (this.isFloatConstant(i) ? this.constantWith(i, p) : i));
      this.setOutput(out, p);
    } else if (WEIGHT_AXIS.has(op.builtin)) {
      this.quantizeWeights(op, WEIGHT_AXIS.get(op.builtin)!);
      this.setOutput(out, this.calibrated(this.tensors[out]!.name));
    } else if (op.builtin === Op.ADD || op.builtin === Op.SUB || op.builtin === Op.MUL) {
      op.inputs = op.inputs.map((i) => (this.isFloatConstant(i) ? this.constantWith(i, this.ownParams(i)) : this.activationInput(i, op)));
      const name = this.tensors[out]!.name;
      this.setOutput(out, this.ranges.has(name) ? this.calibrated(name) : this.derived(op));
    } else if (op.builtin === Op.CONCATENATION) {
      const p = this.calibrated(this.tensors[out]!.name);
      op.inputs = op.inputs.map((i) => this.atParams(this.activationInput(i, op), p));
      this.setOutput(out, p);
    } else if (CALIBRATED.has(op.builtin)) {
      this.activationInput(op.inputs[0]!, op);
      this.setOutput(out, this.calibrated(this.tensors[out]!.name));
    } else if (FIXED_OUTPUT.has(op.builtin)) {
      this.activationInput(op.inputs[0]!, op);
      this.setOutput(out, FIXED_OUTPUT.get(op.builtin)!);
    } else {
      throw new GraphError(`${opName(op.builtin)} ('${this.tensors[out]!.name}') has no INT8 .tflite export`, `the INT8 export writes ${INT8_TFLITE_OPS.join(', ')}; export FP32 instead`);
    }
    this.operators.push(op);
  }

  // ---- tensors -------------------------------------------------------------------------------

  private addTensor(t: TfliteTensor): number {
    return this.tensors.push(t) - 1;
  }

  private addConstant(t: TfliteTensor, bytes: Uint8Array): TfliteTensor {
    t.buffer = this.buffers.push(bytes) - 1;
    this.addTensor(t);
    return t;
  }

  private isFloatConstant(i: number): boolean {
    const t = this.tensors[i];
    return t !== undefined && t.type === TensorTypeCode.FLOAT32 && t.buffer > 0 && (this.buffers[t.buffer]?.byteLength ?? 0) > 0;
  }

  private floatsOf(i: number): Float32Array {
    const data = this.buffers[this.tensors[i]!.buffer]!;
    // A copy: a buffer read from a file may sit at an offset that is not 4-aligned.
    const copy = new Uint8Array(data.byteLength);
    copy.set(data);
    return new Float32Array(copy.buffer);
  }

  /** The constant tensor to rewrite: itself for its last reader, a copy for each one before. */
  private ownTensor(i: number): number {
    const left = this.readers.get(i) ?? 0;
    if (left <= 1) return i;
    this.readers.set(i, left - 1);
    const t = this.tensors[i]!;
    this.addConstant({ ...t, shape: [...t.shape] }, this.buffers[t.buffer]!);
    return this.tensors.length - 1;
  }

  private setQuantized(i: number, type: number, values: ArrayBufferView, quantization: TfliteQuantization): void {
    const t = this.tensors[i]!;
    t.type = type;
    t.quantization = quantization;
    this.buffers[t.buffer] = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  }

  private setOutput(i: number, p: QuantParams): void {
    const t = this.tensors[i]!;
    t.type = TensorTypeCode.INT8;
    t.quantization = perTensor(p);
    this.params.set(i, p);
  }

  private calibrated(name: string): QuantParams {
    const r = this.ranges.get(name);
    if (!r) throw new Error(`no calibrated range for tensor '${name}'`);
    return asymmetricParams(r.min, r.max, INT8_ACTIVATION_RANGE);
  }

  private activationInput(i: number, op: TfliteOperator): number {
    if (!this.params.has(i)) throw new GraphError(`${opName(op.builtin)} reads '${this.tensors[i]!.name}', which is neither an int8 activation nor a float constant; it has no INT8 .tflite export`);
    return i;
  }

  /** A float constant quantised per tensor with the given parameters (as int8). */
  private constantWith(i: number, p: QuantParams): number {
    const own = this.ownTensor(i);
    const values = this.floatsOf(own);
    this.setQuantized(own, TensorTypeCode.INT8, Int8Array.from(values, (v) => quantize(v, p, INT8_ACTIVATION_RANGE)), perTensor(p));
    return own;
  }

  /** A float operand's own asymmetric parameters, over its values. */
  private ownParams(i: number): QuantParams {
    const values = this.floatsOf(i);
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    return asymmetricParams(min, max, INT8_ACTIVATION_RANGE);
  }

  /** `x` at parameters `p`: itself where they already agree, else through a requantising QUANTIZE. */
  private atParams(x: number, p: QuantParams): number {
    const have = this.params.get(x)!;
    if (have.scale === p.scale && have.zeroPoint === p.zeroPoint) return x;
    const t = this.tensors[x]!;
    const y = this.addTensor({ name: `${t.name}.requantized`, shape: [...t.shape], type: TensorTypeCode.INT8, buffer: 0, quantization: perTensor(p) });
    this.params.set(y, p);
    this.operators.push({ builtin: Op.QUANTIZE, inputs: [x], outputs: [y] });
    this.requantized++;
    return y;
  }

  /**
   * Bounds of an elementwise ADD/SUB/MUL's output from its operands' (interval arithmetic over
   * what the int8 inputs can hold and the constants' values): wider than a calibrated range,
   * never narrower.
   */
  private derived(op: TfliteOperator): QuantParams {
    const [a, b] = op.inputs.map((i): Range => {
      const p = this.params.get(i);
      if (p && this.tensors[i]!.buffer === 0) return representable(p);
      const t = this.tensors[i]!;
      const q = t.quantization!;
      // A constant quantised above: its values are scale · (q − zero point).
      const data = this.buffers[t.buffer]!;
      const raw = new Int8Array(data.buffer, data.byteOffset, data.byteLength);
      let min = Infinity;
      let max = -Infinity;
      for (const v of raw) {
        const real = q.scale[0]! * (v - q.zeroPoint[0]!);
        min = Math.min(min, real);
        max = Math.max(max, real);
      }
      return { min, max };
    }) as [Range, Range];
    let r: Range;
    if (op.builtin === Op.ADD) r = { min: a.min + b.min, max: a.max + b.max };
    else if (op.builtin === Op.SUB) r = { min: a.min - b.max, max: a.max - b.min };
    else {
      const products = [a.min * b.min, a.min * b.max, a.max * b.min, a.max * b.max];
      r = { min: Math.min(...products), max: Math.max(...products) };
    }
    this.derivedRanges++;
    return asymmetricParams(r.min, r.max, INT8_ACTIVATION_RANGE);
  }

  /** A convolution's or fully-connected layer's weights as int8 per output channel and its bias as int32 in the accumulator's scale. */
  private quantizeWeights(op: TfliteOperator, axis: number): void {
    const [x, w, bias] = op.inputs as [number, number, number | undefined];
    const input = this.params.get(this.activationInput(x, op))!;
    if (!this.isFloatConstant(w)) throw new GraphError(`${opName(op.builtin)} ('${this.tensors[op.outputs[0]!]!.name}'): its weight is not a float constant; the INT8 export quantises constant weights`);
    const weight = this.ownTensor(w);
    const dims = this.tensors[weight]!.shape;
    const q = quantizePerChannel(this.floatsOf(weight), dims, axis, INT8_SYMMETRIC_RANGE);
    const channels = dims[axis]!;
    this.setQuantized(weight, TensorTypeCode.INT8, q.values, { scale: Array.from(q.scales), zeroPoint: new Array<number>(channels).fill(0), axis });
    op.inputs[1] = weight;
    this.weights++;
    if (bias === undefined || bias < 0) return;
    if (!this.isFloatConstant(bias)) throw new GraphError(`${opName(op.builtin)} ('${this.tensors[op.outputs[0]!]!.name}'): its bias is not a float constant`);
    const b = this.ownTensor(bias);
    const qb = quantizeBias(this.floatsOf(b), input.scale, q.scales);
    this.setQuantized(b, TensorTypeCode.INT32, qb.values, { scale: Array.from(qb.scales), zeroPoint: new Array<number>(qb.values.length).fill(0), axis: 0 });
    op.inputs[2] = b;
  }
}
