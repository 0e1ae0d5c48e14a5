import type { Command } from 'commander';
import { describeKernelPrecision, profileKernelPrecision, type KernelPrecisionSummary } from '../../engines/ort-kernel-precision.js';
import { UserError } from '../../errors.js';
import { prepareModel, resolveModel } from '../../model/index.js';
import { toOnnxBytes } from '../../onnx/index.js';
import { CALIBRATION_METHODS, compareModels, DEFAULT_PERCENTILE, precisionInputs, quantizeOnnx, type CalibrationMethod, type OutputError } from '../../quantize/index.js';
import { formatBytes, printJson } from '../format.js';
import { positiveInt } from '../options.js';
import { writeAtomically } from '../write-file.js';

interface QuantizeFlags {
  output: string;
  calibrate: number;
  method: string;
  percentile: string;
  evaluate: number;
  batch: number;
  images?: string;
  pixels?: boolean;
  json?: boolean;
}

export function registerQuantizeCommand(program: Command): void {
  program
    .command('quantize')
    .description('write an INT8 (QDQ) ONNX model, statically calibrated, and report what was quantised, which kernels onnxruntime runs and the error against FP32')
    .argument('<spec>', 'model spec, .onnx file or nsfwjs:<model>')
    .requiredOption('-o, --output <file>', 'ONNX file to write')
    .option('--calibrate <n>', 'calibration inputs', positiveInt, 16)
    .option('--method <method>', `how activation ranges are set from calibration: ${CALIBRATION_METHODS.join(' or ')}`, 'minmax')
    .option('--percentile <p>', 'for --method percentile: the central percentage of values the range keeps', String(DEFAULT_PERCENTILE))
    .option('--evaluate <n>', 'held-out inputs the error against FP32 is measured on', positiveInt, 32)
    .option('--batch <n>', 'inputs per onnxruntime run while calibrating and evaluating (the file keeps a symbolic batch)', positiveInt, 1)
    .option('--images <dir>', 'calibrate on the first --calibrate images of this folder and evaluate on the next --evaluate')
    .option('--pixels', 'random images (uniform pixels, normalised as the model expects) instead of N(0,1) inputs')
    .option('--json', 'machine-readable output')
    .action(quantizeCommand);
}

async function quantizeCommand(spec: string, o: QuantizeFlags): Promise<void> {
  if (!(CALIBRATION_METHODS as string[]).includes(o.method)) {
    throw new UserError(`unknown calibration method '${o.method}'`, `--method takes ${CALIBRATION_METHODS.join(' or ')}`);
  }
  const percentile = Number(o.percentile);
  if (!(percentile > 50 && percentile <= 100)) throw new UserError(`--percentile ${o.percentile} is not a percentage between 50 and 100`, 'e.g. --percentile 99.99');
  const model = resolveModel(spec);
  const graph = await prepareModel(model);
  const fp32 = toOnnxBytes(graph);
  const inputs = await precisionInputs(graph, { calibrate: o.calibrate, evaluate: o.evaluate, batch: o.batch, ...(o.images ? { images: o.images } : {}), ...(o.pixels ? { pixels: true } : {}) });
  const method = o.method as CalibrationMethod;
  const q = await quantizeOnnx(fp32, { calibration: inputs.calibration, method, percentile });
  const error = await compareModels(fp32, q.onnx, inputs.heldOut);
  const kernels = await profileKernelPrecision(q.onnx, inputs.heldOut[0]!);
  writeAtomically(o.output, q.onnx);
  if (o.json) {
    printJson({ model: model.spec, output: o.output, bytes: q.onnx.byteLength, fp32Bytes: fp32.byteLength, ...q.summary, ...(method === 'percentile' ? { percentile } : {}), calibration: inputs.calibrationDescription, heldOut: inputs.heldOutDescription, error, kernels });
    return;
  }
  const s = q.summary;
  const quantized = Object.entries(s.quantized).map(([op, n]) => `${n} ${op}`).join(', ') || 'nothing';
  const total = Object.values(s.quantized).reduce((a, b) => a + b, 0) + s.skipped.length;
  const how = method === 'percentile' ? `percentile (${percentile}% of values inside the range)` : 'min/max';
  console.log(`wrote ${o.output} (${formatBytes(q.onnx.byteLength)}; FP32 ${formatBytes(fp32.byteLength)}): ${model.spec} as INT8 QDQ, uint8 activations per tensor, int8 weights per output channel`);
  console.log(`calibrated by ${how} on ${inputs.calibrationDescription}`);
  console.log(`quantised: ${quantized} (of ${total} Conv/Gemm/MatMul nodes); ${s.quantizedTensors} activation tensors, ${s.foldedActivations} ReLU/Clip folded into their quantisation`);
  for (const k of s.skipped) console.log(`  left FP32: ${k.node} (${k.op}): ${k.reason}`);
  const others = Object.entries(s.floatOps).map(([op, n]) => `${op}×${n}`).join(', ');
  if (others) console.log(`other operators, left FP32 in the file (onnxruntime may still fuse them into integer kernels, below): ${others}`);
  printKernels(kernels);
  printError(error, inputs.heldOutDescription);
}

/** What onnxruntime actually ran (its profiler), so that a fallback to float kernels shows. */
export function printKernels(k: KernelPrecisionSummary): void {
  console.log(`onnxruntime (CPU, opt=all) runs it as: ${describeKernelPrecision(k).replace(/^kernel precision by share of kernel time: /, '')} (profiled, ${k.runs} runs)`);
}

export function printError(e: OutputError, what: string): void {
  console.log(
    `output vs FP32 on ${what}: top-1 agreement ${(100 * e.top1Agreement).toFixed(1)}% (${e.top1Agree}/${e.images}; FP32's arg-max takes ${e.referenceClasses} distinct classes), ` +
      `relative error ‖Δ‖/‖FP32‖ ${e.relativeError.toExponential(2)}, max abs error ${e.maxAbsError.toPrecision(3)}`,
  );
  if (e.referenceClasses < Math.min(10, e.images / 2)) {
    console.log(
      `  FP32 picks few distinct classes, so top-1 agreement says little; on the outputs minus FP32's mean output (the input-dependent part): ` +
        `agreement ${(100 * e.centredTop1Agreement).toFixed(1)}% over ${e.centredReferenceClasses} distinct classes`,
    );
  }
}
