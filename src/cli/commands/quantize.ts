import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { CALIBRATION_METHODS, DEFAULT_PERCENTILE, type CalibrationMethod } from '../../quantize/index.js';
import { quantizeModel } from '../../quantize/pipeline.js';
import { formatBytes, printJson } from '../format.js';
import { batchSize, positiveInt } from '../options.js';
import { printError, printKernels } from '../print-precision.js';
import { checkOutputPath, writeAtomically } from '../write-file.js';

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
    .option('--batch <n>', 'inputs per onnxruntime run while calibrating and evaluating (the file keeps a symbolic batch)', batchSize, 1)
    .option('--images <dir>', 'calibrate on the first --calibrate images of this folder and evaluate on the next --evaluate')
    .option('--pixels', 'random images (uniform pixels, normalised as the model expects) instead of N(0,1) inputs')
    .option('--json', 'machine-readable output')
    .action(quantizeCommand);
}

async function quantizeCommand(spec: string, o: QuantizeFlags): Promise<void> {
  // Before any work: a bad path fails in a second, not after the conversion.
  checkOutputPath(o.output);
  if (!(CALIBRATION_METHODS as string[]).includes(o.method)) {
    throw new UserError(`unknown calibration method '${o.method}'`, `--method takes ${CALIBRATION_METHODS.join(' or ')}`);
  }
  const percentile = Number(o.percentile);
  if (!(percentile > 50 && percentile <= 100)) throw new UserError(`--percentile ${o.percentile} is not a percentage between 50 and 100`, 'e.g. --percentile 99.99');
  const method = o.method as CalibrationMethod;
  const { model, fp32, inputs, lowered: q, error, kernels } = await quantizeModel(spec, {
    calibrate: o.calibrate,
    evaluate: o.evaluate,
    batch: o.batch,
    ...(o.images ? { images: o.images } : {}),
    ...(o.pixels ? { pixels: true } : {}),
    method,
    percentile,
  });
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
