import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { convertModelToFp16 } from '../../quantize/convert.js';
import { formatBytes, printJson } from '../format.js';
import { batchSize, positiveInt } from '../options.js';
import { printError, printKernels } from '../print-precision.js';
import { checkOutputPath, writeAtomically } from '../write-file.js';

const TARGETS = ['fp16'];

interface ConvertFlags {
  output: string;
  to: string;
  evaluate: number;
  batch: number;
  json?: boolean;
}

export function registerConvertCommand(program: Command): void {
  program
    .command('convert')
    .description('write an FP16 ONNX model (float16 weights and compute, float32 inputs and outputs) and report which kernels onnxruntime runs and the error against FP32')
    .argument('<spec>', 'model spec, .onnx file or nsfwjs:<model>')
    .requiredOption('--to <precision>', `target precision: ${TARGETS.join(', ')}`)
    .requiredOption('-o, --output <file>', 'ONNX file to write')
    .option('--evaluate <n>', 'seeded inputs the error against FP32 is measured on', positiveInt, 32)
    .option('--batch <n>', 'inputs per onnxruntime run while evaluating (the file keeps a symbolic batch)', batchSize, 1)
    .option('--json', 'machine-readable output')
    .action(convertCommand);
}

async function convertCommand(spec: string, o: ConvertFlags): Promise<void> {
  // Before any work: a bad path fails in a second, not after the conversion.
  checkOutputPath(o.output);
  if (!TARGETS.includes(o.to)) throw new UserError(`cannot convert to '${o.to}'`, `--to takes ${TARGETS.join(', ')}; for INT8 use 'formbench quantize'`);
  const { model, fp32, inputs, lowered: converted, error, kernels } = await convertModelToFp16(spec, { evaluate: o.evaluate, batch: o.batch });
  writeAtomically(o.output, converted.onnx);
  if (o.json) {
    printJson({ model: model.spec, output: o.output, to: o.to, bytes: converted.onnx.byteLength, fp32Bytes: fp32.byteLength, ...converted.summary, heldOut: inputs.heldOutDescription, error, kernels });
    return;
  }
  console.log(
    `wrote ${o.output} (${formatBytes(converted.onnx.byteLength)}; FP32 ${formatBytes(fp32.byteLength)}): ${model.spec} in FP16, ` +
      `${converted.summary.convertedTensors} weight tensors as float16, ${converted.summary.boundaryCasts} Casts keep its inputs and outputs float32`,
  );
  printKernels(kernels);
  printError(error, inputs.heldOutDescription);
}
