/**
 * A model spec converted to FP16 (float16 weights and compute, float32 inputs and outputs),
 * measured like a quantised one: error against FP32 and the kernels onnxruntime runs.
 */
import { convertToFp16, type Fp16Summary } from './fp16.js';
import { lowerPrecision, type LoweredModel } from './pipeline.js';

/** `formbench convert --to fp16`: nothing to calibrate, so every input is held out. */
export function convertModelToFp16(spec: string, o: { evaluate: number; batch: number }): Promise<LoweredModel<{ onnx: Uint8Array; summary: Fp16Summary }>> {
  return lowerPrecision(spec, { calibrate: 0, evaluate: o.evaluate, batch: o.batch }, (fp32) => convertToFp16(fp32));
}
