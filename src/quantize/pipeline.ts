/**
 * A model spec to a lower-precision ONNX model, measured: the FP32 export, the calibration and
 * held-out inputs, the lowered model, its output error against FP32 on the held-out inputs, and
 * the kernels onnxruntime actually runs it with (a fallback to float kernels shows there).
 */
import { profileKernelPrecision, type KernelPrecisionSummary } from '../engines/ort-kernel-precision.js';
import { checkBatchesFit, prepareModel, resolveModel, type ResolvedModel } from '../model/index.js';
import { toOnnxBytes } from '../onnx/index.js';
import { compareModels, type OutputError } from './accuracy.js';
import { precisionInputs, type InputChoice, type PrecisionInputs } from './inputs.js';
import { quantizeOnnx, type QuantizedModel } from './quantize.js';
import type { CalibrationMethod } from './ranges.js';

export interface LoweredModel<T extends { onnx: Uint8Array }> {
  model: ResolvedModel;
  /** The FP32 ONNX model the lowered one was made from and is compared with. */
  fp32: Uint8Array;
  inputs: PrecisionInputs;
  lowered: T;
  error: OutputError;
  kernels: KernelPrecisionSummary;
}

/** The steps every lower precision shares, around `lower`, which makes the lowered model. */
export async function lowerPrecision<T extends { onnx: Uint8Array }>(
  spec: string,
  choice: InputChoice,
  lower: (fp32: Uint8Array, inputs: PrecisionInputs) => Promise<T>,
): Promise<LoweredModel<T>> {
  const model = resolveModel(spec);
  checkBatchesFit(model, [choice.batch]);
  const graph = await prepareModel(model);
  const fp32 = toOnnxBytes(graph);
  const inputs = await precisionInputs(graph, choice);
  const lowered = await lower(fp32, inputs);
  const error = await compareModels(fp32, lowered.onnx, inputs.heldOut);
  const kernels = await profileKernelPrecision(lowered.onnx, inputs.heldOut[0]!);
  return { model, fp32, inputs, lowered, error, kernels };
}

export interface QuantizeModelOptions extends InputChoice {
  method: CalibrationMethod;
  /** For the percentile method: the central percentage of values an activation range keeps. */
  percentile: number;
}

/** `formbench quantize`: INT8 QDQ, statically calibrated on `calibrate` inputs. */
export function quantizeModel(spec: string, o: QuantizeModelOptions): Promise<LoweredModel<QuantizedModel>> {
  const { method, percentile, ...choice } = o;
  return lowerPrecision(spec, choice, (fp32, inputs) => quantizeOnnx(fp32, { calibration: inputs.calibration, method, percentile }));
}
