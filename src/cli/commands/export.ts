import { Option, type Command } from 'commander';
import type { Graph } from '../../ir/index.js';
import { analyzeGraph } from '../../analysis/index.js';
import { UserError } from '../../errors.js';
import { prepareModel, resolveModel } from '../../model/index.js';
import { toOnnxBytes } from '../../onnx/index.js';
import { calibrationInputs } from '../../quantize/inputs.js';
import { int8TfliteBytes } from '../../quantize/tflite-int8.js';
import { isTflitePath, toTfliteBytes } from '../../tflite/index.js';
import { addCalibrationOptions, calibrationMethod, describeMethod, type CalibrationFlags } from '../calibration-options.js';
import { formatBytes, formatCount } from '../format.js';
import { batchSize, positiveInt } from '../options.js';
import { checkOutputPath, writeAtomically } from '../write-file.js';

const PRECISIONS = ['fp32', 'int8'];
const CALIBRATION_FLAGS = ['calibrate', 'method', 'percentile', 'images', 'pixels'];

interface ExportFlags extends CalibrationFlags {
  output: string;
  batch?: number;
  opset: number;
  precision: string;
}

export function registerExportCommand(program: Command): void {
  const command = program
    .command('export')
    .description('write a model as ONNX, or as .tflite when the output ends in .tflite (zoo weights seeded and BatchNorm-calibrated); --precision int8 writes a fully integer-quantised .tflite')
    .argument('<spec>', 'model spec or .onnx file')
    .requiredOption('-o, --output <file>', 'ONNX or .tflite file to write')
    .option('--batch <n>', 'fix the batch size (default: symbolic N; 1 for .tflite, whose shapes are static)', batchSize)
    .addOption(new Option('--opset <n>', 'ONNX opset to declare').argParser(positiveInt).default(17))
    .option('--precision <p>', `${PRECISIONS.join(' or ')}; int8 (.tflite only): int8 activations and weights, calibrated as formbench quantize calibrates (the options below)`, 'fp32');
  addCalibrationOptions(command, 'with --precision int8: calibrate on the first --calibrate images of this folder').action(exportCommand);
}

/** `formbench export`: a zoo model (weights calibrated) or a re-written ONNX file. */
async function exportCommand(spec: string, o: ExportFlags, command: Command): Promise<void> {
  // Before any work: a bad path or flag fails in a second, not after the conversion.
  checkOutputPath(o.output);
  if (!PRECISIONS.includes(o.precision)) throw new UserError(`unknown precision '${o.precision}'`, `export --precision takes ${PRECISIONS.join(' or ')}`);
  const int8 = o.precision === 'int8';
  if (int8 && !isTflitePath(o.output)) {
    throw new UserError(`--precision int8 writes .tflite files, and ${o.output} is not one`, 'give -o <name>.tflite, or write an INT8 (QDQ) ONNX model with formbench quantize');
  }
  const given = CALIBRATION_FLAGS.find((f) => command.getOptionValueSource(f) === 'cli');
  if (!int8 && given) throw new UserError(`--${given} calibrates an INT8 export; this one is FP32`, 'add --precision int8 (with a .tflite output), or drop the calibration options');
  const calibration = int8 ? calibrationMethod(o) : undefined;
  const model = resolveModel(spec);
  const graph = await prepareModel(model);
  if (calibration) return writeInt8Tflite(o, model.spec, graph, calibration);
  if (isTflitePath(o.output)) return writeTflite(o.output, model.spec, graph, o.batch ?? 1);
  const bytes = toOnnxBytes(graph, { opset: o.opset, ...(o.batch ? { batch: o.batch } : {}) });
  writeAtomically(o.output, bytes);
  const cost = analyzeGraph(graph, { batch: o.batch ?? 1 });
  console.log(
    `wrote ${o.output} (${formatBytes(bytes.byteLength)}): ${model.spec}, opset ${o.opset}, ` +
      `batch ${o.batch ?? 'symbolic N'}, ${formatCount(cost.params)} parameters, ${formatCount(cost.macs)} MACs at batch ${cost.batch}`,
  );
}

/** `.tflite`: FP32, a static batch, BatchNorm folded (tflite/export.ts). */
function writeTflite(output: string, spec: string, graph: Graph, batch: number): void {
  const bytes = toTfliteBytes(graph, { batch, description: `formbench ${spec}` });
  writeAtomically(output, bytes);
  const cost = analyzeGraph(graph, { batch });
  console.log(
    `wrote ${output} (${formatBytes(bytes.byteLength)}): ${spec}, .tflite FP32, batch ${batch}, NCHW input (transposed to NHWC inside), ` +
      `BatchNorm folded into the convolutions, ${formatCount(cost.macs)} MACs at batch ${batch}`,
  );
}

/** `.tflite` INT8: the FP32 file rewritten to full integer with ranges calibrated on the FP32 graph (quantize/tflite-int8.ts). */
async function writeInt8Tflite(o: ExportFlags, spec: string, graph: Graph, c: ReturnType<typeof calibrationMethod>): Promise<void> {
  const batch = o.batch ?? 1;
  const inputs = await calibrationInputs(graph, { calibrate: o.calibrate, batch: 1, ...(o.images ? { images: o.images } : {}), ...(o.pixels ? { pixels: true } : {}) });
  const { bytes, summary } = await int8TfliteBytes(graph, { calibration: inputs.calibration, method: c.method, percentile: c.percentile, batch, description: `formbench ${spec} int8` });
  writeAtomically(o.output, bytes);
  const cost = analyzeGraph(graph, { batch });
  console.log(
    `wrote ${o.output} (${formatBytes(bytes.byteLength)}): ${spec}, .tflite INT8 (full integer: int8 activations per tensor, int8 weights per output channel, int32 biases), ` +
      `batch ${batch}, float32 NCHW input and output (QUANTIZE after the input, DEQUANTIZE before the output), ${formatCount(cost.macs)} MACs at batch ${batch}`,
  );
  console.log(`ranges calibrated on the FP32 graph in onnxruntime, by ${describeMethod(c.method, c.percentile)}, on ${inputs.calibrationDescription}`);
  const ops = Object.entries(summary.operators).map(([op, n]) => `${op}×${n}`).join(', ');
  console.log(`operators: ${ops}; ${summary.activations} int8 activation tensors, ${summary.weights} weight tensors`);
  if (summary.requantized) console.log(`  ${summary.requantized} QUANTIZE int8 → int8 bring concatenation inputs to their output's scale`);
  if (summary.derivedRanges) console.log(`  ${summary.derivedRanges} outputs without an IR value of their own (BatchNorm's MUL) are ranged from their operands, not calibrated`);
}
