import type { Command } from 'commander';
import { quantizeModel } from '../../quantize/pipeline.js';
import { addCalibrationOptions, calibrationMethod, describeMethod, type CalibrationFlags } from '../calibration-options.js';
import { formatBytes, printJson } from '../format.js';
import { batchSize, positiveInt } from '../options.js';
import { printError, printKernels } from '../print-precision.js';
import { checkOutputPath, writeAtomically } from '../write-file.js';

interface QuantizeFlags extends CalibrationFlags {
  output: string;
  evaluate: number;
  batch: number;
  json?: boolean;
}

export function registerQuantizeCommand(program: Command): void {
  const command = program
    .command('quantize')
    .description('write an INT8 (QDQ) ONNX model, statically calibrated, and report what was quantised, which kernels onnxruntime runs and the error against FP32')
    .argument('<spec>', 'model spec, .onnx file or nsfwjs:<model>')
    .requiredOption('-o, --output <file>', 'ONNX file to write');
  addCalibrationOptions(command, 'calibrate on the first --calibrate images of this folder and evaluate on the next --evaluate')
    .option('--evaluate <n>', 'held-out inputs the error against FP32 is measured on', positiveInt, 32)
    .option('--batch <n>', 'inputs per onnxruntime run while calibrating and evaluating (the file keeps a symbolic batch)', batchSize, 1)
    .option('--json', 'machine-readable output')
    .action(quantizeCommand);
}

async function quantizeCommand(spec: string, o: QuantizeFlags): Promise<void> {
  // Before any work: a bad path fails in a second, not after the conversion.
  checkOutputPath(o.output);
  const { method, percentile } = calibrationMethod(o);
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
  const how = describeMethod(method, percentile);
  console.log(`wrote ${o.output} (${formatBytes(q.onnx.byteLength)}; FP32 ${formatBytes(fp32.byteLength)}): ${model.spec} as INT8 QDQ, uint8 activations per tensor, int8 weights per output channel`);
  console.log(`calibrated by ${how} on ${inputs.calibrationDescription}`);
  console.log(`quantised: ${quantized} (of ${total} Conv/Gemm/MatMul nodes); ${s.quantizedTensors} activation tensors, ${s.foldedActivations} ReLU/Clip folded into their quantisation`);
  for (const k of s.skipped) console.log(`  left FP32: ${k.node} (${k.op}): ${k.reason}`);
  const others = Object.entries(s.floatOps).map(([op, n]) => `${op}×${n}`).join(', ');
  if (others) console.log(`other operators, left FP32 in the file (onnxruntime may still fuse them into integer kernels, below): ${others}`);
  printKernels(kernels);
  printError(error, inputs.heldOutDescription);
}
