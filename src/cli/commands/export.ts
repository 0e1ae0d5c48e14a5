import { Option, type Command } from 'commander';
import type { Graph } from '../../ir/index.js';
import { analyzeGraph } from '../../analysis/index.js';
import { prepareModel, resolveModel } from '../../model/index.js';
import { toOnnxBytes } from '../../onnx/index.js';
import { isTflitePath, toTfliteBytes } from '../../tflite/index.js';
import { formatBytes, formatCount } from '../format.js';
import { batchSize, positiveInt } from '../options.js';
import { checkOutputPath, writeAtomically } from '../write-file.js';

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write a model as ONNX, or as .tflite when the output ends in .tflite (zoo weights seeded and BatchNorm-calibrated)')
    .argument('<spec>', 'model spec or .onnx file')
    .requiredOption('-o, --output <file>', 'ONNX or .tflite file to write')
    .option('--batch <n>', 'fix the batch size (default: symbolic N; 1 for .tflite, whose shapes are static)', batchSize)
    .addOption(new Option('--opset <n>', 'ONNX opset to declare').argParser(positiveInt).default(17))
    .action(exportCommand);
}

/** `formbench export`: a zoo model (weights calibrated) or a re-written ONNX file. */
async function exportCommand(spec: string, o: { output: string; batch?: number; opset: number }): Promise<void> {
  // Before any work: a bad path fails in a second, not after the conversion.
  checkOutputPath(o.output);
  const model = resolveModel(spec);
  const graph = await prepareModel(model);
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
