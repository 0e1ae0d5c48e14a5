/**
 * Which precision onnxruntime's kernels actually computed in, read from its profiler trace. A
 * quantised or FP16 model is only a request: the runtime fuses QDQ groups into integer kernels
 * where it has them and falls back to float kernels (or inserts casts) where it does not, and a
 * fallback is a finding, not a speed-up. Each kernel is classed by its operator and the element
 * type of its first input as the trace records it.
 */
import type { KernelPrecision, KernelPrecisionSummary, PrecisionClass } from './engine.js';
import { profiledRuns, type SessionOptions } from './ort-runtime.js';

export type { KernelPrecision, KernelPrecisionSummary, PrecisionClass } from './engine.js';

/** Kernels that compute on integers whatever their first input's type (some take float scales first). */
const INTEGER_OPS = /^(QLinear|Nhwc?QLinear|QGemm|ConvInteger|MatMulInteger|DynamicQuantizeMatMul|QAttention)/;
/** Kernels that only move values between precisions. */
const CONVERSION_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'Cast']);
/** Kernels that do a model's multiply-accumulates. */
/** Operators that do the multiply-accumulates: convolutions and matrix products. */
export const MAC_OPS = /Conv|Gemm|MatMul/;

const TYPE_CLASS: Record<string, KernelPrecision> = { float: 'float32', float16: 'float16', bfloat16: 'bfloat16', uint8: 'integer', int8: 'integer' };

export function kernelPrecisionOf(op: string, firstInputType: string | undefined): KernelPrecision {
  if (CONVERSION_OPS.has(op)) return 'conversion';
  if (INTEGER_OPS.test(op)) return 'integer';
  return TYPE_CLASS[firstInputType ?? ''] ?? 'other';
}

interface TraceEvent {
  cat?: string;
  name?: string;
  ph?: string;
  ts?: number;
  dur?: number;
  args?: { op_name?: string; input_type_shape?: Record<string, number[]>[] };
}

const KERNEL_SUFFIX = '_kernel_time';

/** Summarises a Chrome-trace array from onnxruntime's profiler, skipping the first `skipRuns` inferences (they pack weights). */
export function kernelPrecisionSummary(trace: unknown, skipRuns = 1): KernelPrecisionSummary {
  if (!Array.isArray(trace)) throw new Error('onnxruntime trace: expected a JSON array of events');
  const events = trace as TraceEvent[];
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run' && typeof e.ts === 'number').sort((a, b) => a.ts! - b.ts!);
  const kept = runs.slice(skipRuns);
  if (kept.length === 0) throw new Error(`onnxruntime trace: ${runs.length} run(s), none left after skipping ${skipRuns}`);
  const start = kept[0]!.ts!;
  const kernels = new Map<string, { precision: KernelPrecision; op: string; us: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || e.ph !== 'X' || !e.name?.endsWith(KERNEL_SUFFIX) || (e.ts ?? -1) < start) continue;
    const op = e.args?.op_name ?? 'unknown';
    const firstType = Object.keys(e.args?.input_type_shape?.[0] ?? {})[0];
    const k = kernels.get(e.name) ?? { precision: kernelPrecisionOf(op, firstType), op, us: 0 };
    k.us += e.dur ?? 0;
    kernels.set(e.name, k);
  }
  const totalUs = [...kernels.values()].reduce((a, k) => a + k.us, 0);
  const classes = new Map<KernelPrecision, PrecisionClass>();
  const macKernels: Partial<Record<KernelPrecision, number>> = {};
  for (const k of kernels.values()) {
    const c = classes.get(k.precision) ?? { precision: k.precision, kernels: 0, ms: 0, share: 0, ops: {} };
    c.kernels++;
    c.ms += k.us / 1000 / kept.length;
    c.share += totalUs > 0 ? k.us / totalUs : 0;
    c.ops[k.op] = (c.ops[k.op] ?? 0) + 1;
    classes.set(k.precision, c);
    if (MAC_OPS.test(k.op)) macKernels[k.precision] = (macKernels[k.precision] ?? 0) + 1;
  }
  return { runs: kept.length, classes: [...classes.values()].sort((a, b) => b.share - a.share), macKernels };
}

/** One sentence: e.g. "kernel precision: integer 78.1% of kernel time (QLinearConv×13, QGemm×1), …; Conv/Gemm/MatMul kernels: 14 integer". */
export function describeKernelPrecision(s: KernelPrecisionSummary): string {
  const classes = s.classes
    .map((c) => `${c.precision} ${(100 * c.share).toFixed(1)}% (${Object.entries(c.ops).sort((a, b) => b[1] - a[1]).map(([op, n]) => `${op}×${n}`).join(', ')})`)
    .join('; ');
  const mac = Object.entries(s.macKernels).map(([p, n]) => `${n} ${p}`).join(', ');
  return `kernel precision by share of kernel time: ${classes}; Conv/Gemm/MatMul kernels: ${mac || 'none'}`;
}

/**
 * Loads an ONNX model with onnxruntime's profiler on (CPU; opt=all unless `sessionOptions` say
 * otherwise), runs it and summarises what its kernels computed in.
 */
export async function profileKernelPrecision(
  onnx: Uint8Array,
  input: { data: Float32Array; dims: number[] },
  runs = 5,
  sessionOptions: SessionOptions = {},
): Promise<KernelPrecisionSummary> {
  const { trace } = await profiledRuns(onnx, { graphOptimizationLevel: 'all', ...sessionOptions, logSeverityLevel: 3 }, [input], runs);
  return kernelPrecisionSummary(trace, 1);
}
