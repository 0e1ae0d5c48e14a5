import { cpuInfo } from '../engines/cpu.js';

/**
 * Quantisation parameters: real value ≈ scale · (q − zeroPoint), as ONNX's QuantizeLinear and
 * DequantizeLinear define them (rounding half to even, saturating to the integer type).
 */

/** Activations: asymmetric uint8 over [0, 255] (onnxruntime's QDQ models). */
export const UINT8_RANGE = [0, 255] as const;
/** Activations of a fully integer .tflite: asymmetric int8 over [−128, 127], LiteRT's quantisation spec. */
export const INT8_ACTIVATION_RANGE = [-128, 127] as const;
/**
 * Weights: symmetric int8 over [−127, 127] (not −128, so that negating a weight is exact and the
 * zero point is 0), the range onnxruntime's own quantiser uses for symmetric int8.
 */
export const INT8_SYMMETRIC_RANGE = [-127, 127] as const;
/**
 * Weights on a CPU without VNNI: 7 bits, [−64, 64]. There onnxruntime's U8S8 kernels multiply
 * with AVX2's pmaddubsw, which adds two u8 × s8 products into a saturating int16: 2 · 255 · 127
 * overflows it, 2 · 255 · 64 does not. onnxruntime's own quantiser has `reduce_range` for this;
 * on this project's AVX2 VM full-range weights gave a two-MatMul MLP a relative error of 8%.
 */
export const INT8_REDUCED_RANGE = [-64, 64] as const;

/** The weight range this machine's integer kernels compute exactly (see INT8_REDUCED_RANGE). */
export function weightRange(isa: readonly string[] = cpuInfo().isa): readonly [number, number] {
  return isa.some((f) => /VNNI/.test(f)) ? INT8_SYMMETRIC_RANGE : INT8_REDUCED_RANGE;
}

export interface QuantParams {
  scale: number;
  zeroPoint: number;
}

/** ONNX's rounding: to nearest, ties to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Asymmetric parameters (uint8 unless another integer range is given) for values observed in
 * [min, max]. The range is widened to include 0, so that zero (padding, ReLU's output) is exactly
 * representable. A range that is a single point gets scale 1 rather than a zero scale a runtime
 * would divide by.
 */
export function asymmetricParams(min: number, max: number, [qmin, qmax]: readonly [number, number] = UINT8_RANGE): QuantParams {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  if (!(hi > lo) || !Number.isFinite(hi - lo)) return { scale: 1, zeroPoint: 0 };
  // Math.fround: the scale is stored as float32, and the zero point must be derived from the stored value.
  const scale = Math.fround((hi - lo) / (qmax - qmin));
  const zeroPoint = Math.min(qmax, Math.max(qmin, roundHalfEven(qmin - lo / scale)));
  return { scale, zeroPoint };
}

/** Symmetric int8 scale for a channel whose largest magnitude is absMax (zero point 0). */
export function symmetricScale(absMax: number, range: readonly [number, number] = INT8_SYMMETRIC_RANGE): number {
  return absMax > 0 && Number.isFinite(absMax) ? Math.fround(absMax / range[1]) : 1;
}

export function quantize(x: number, p: QuantParams, [qmin, qmax]: readonly [number, number]): number {
  return Math.min(qmax, Math.max(qmin, roundHalfEven(x / p.scale) + p.zeroPoint));
}

export function dequantize(q: number, p: QuantParams): number {
  return p.scale * (q - p.zeroPoint);
}

export interface PerChannelWeights {
  values: Int8Array;
  /** One scale per channel along the axis. */
  scales: Float32Array;
  axis: number;
}

/**
 * Symmetric per-channel int8 weights: each slice along `axis` (a Conv's output channel, a Gemm's
 * output column) gets the scale of its own largest magnitude, so a channel of small weights is
 * not flattened to zeros by a large one elsewhere. Every weight is then off by at most half its
 * channel's scale.
 */
export function quantizePerChannel(weights: Float32Array, dims: number[], axis: number, range: readonly [number, number] = weightRange()): PerChannelWeights {
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => Math.floor(i / inner) % channels;
  const absMax = new Float64Array(channels);
  for (let i = 0; i < weights.length; i++) {
    const c = channelOf(i);
    absMax[c] = Math.max(absMax[c]!, Math.abs(weights[i]!));
  }
  const scales = Float32Array.from(absMax, (m) => symmetricScale(m, range));
  const values = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    values[i] = quantize(weights[i]!, { scale: scales[channelOf(i)]!, zeroPoint: 0 }, range);
  }
  return { values, scales, axis };
}

/**
 * A bias as int32 in the accumulator's scale (input scale × each channel's weight scale, zero
 * point 0): the form onnxruntime's QDQ fusion needs to turn DequantizeLinear→Conv into QLinearConv.
 */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): { values: Int32Array; scales: Float32Array } {
  const scales = new Float32Array(bias.length);
  const values = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const s = Math.fround(inputScale * weightScales[weightScales.length === 1 ? 0 : c]!);
    scales[c] = s;
    values[c] = Math.min(2 ** 31 - 1, Math.max(-(2 ** 31), roundHalfEven(bias[c]! / s)));
  }
  return { values, scales };
}
