import { collectRanges, type ModelInput } from './calibrate.js';
import { encodeModel, isDefaultDomain, preOptimize, type ModelMsg } from './onnx-model.js';
import { applyQuantization, planQuantization, QUANTIZED_OPS, type SkippedNode } from './qdq.js';
import type { CalibrationMethod } from './ranges.js';

export interface QuantizeOptions {
  /** Calibration inputs (seeded or the user's images). */
  calibration: ModelInput[];
  method: CalibrationMethod;
  /** For 'percentile': the central share of values kept, in percent. */
  percentile?: number;
}

export interface QuantizationSummary {
  method: CalibrationMethod;
  calibrationImages: number;
  /** Quantised nodes per operator (Conv, Gemm, MatMul). */
  quantized: Record<string, number>;
  /** Conv/Gemm/MatMul nodes left in FP32, with the reason. */
  skipped: SkippedNode[];
  /** Operators of the pre-optimised model that stay float (pooling, Add, …), with their counts. */
  floatOps: Record<string, number>;
  quantizedTensors: number;
  foldedActivations: number;
}

export interface QuantizedModel {
  onnx: Uint8Array;
  summary: QuantizationSummary;
}

/**
 * An FP32 ONNX model (formbench's export) as a statically calibrated QDQ model: pre-optimised
 * by onnxruntime, activation ranges calibrated on the given inputs, then rewritten (qdq.ts).
 */
export async function quantizeOnnx(fp32: Uint8Array, options: QuantizeOptions): Promise<QuantizedModel> {
  const model = await preOptimize(fp32);
  const plan = planQuantization(model);
  const ranges = await collectRanges(model, plan.tensors, options.calibration, { method: options.method, ...(options.percentile !== undefined ? { percentile: options.percentile } : {}) });
  const { model: quantized, counts } = applyQuantization(model, plan, ranges);
  const calibrationImages = options.calibration.reduce((n, x) => n + x.dims[0]!, 0);
  return {
    onnx: encodeModel(quantized),
    summary: {
      method: options.method,
      calibrationImages,
      quantized: counts.quantized,
      skipped: plan.skipped,
      floatOps: floatOps(model, plan.targets, new Set([...plan.folded.values()].map((n) => n.name ?? ''))),
      quantizedTensors: counts.quantizedTensors,
      foldedActivations: counts.foldedActivations,
    },
  };
}

function floatOps(model: ModelMsg, targets: Set<string>, folded: Set<string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of model.graph!.node ?? []) {
    const op = isDefaultDomain(n) ? (n.op_type ?? '') : `${n.domain}.${n.op_type}`;
    if (targets.has(n.name ?? '') || folded.has(n.name ?? '')) continue;
    if ((QUANTIZED_OPS as readonly string[]).includes(op)) continue;
    counts[op] = (counts[op] ?? 0) + 1;
  }
  return counts;
}
