import { Option, type Command } from 'commander';
import { analyzeGraph } from '../../analysis/index.js';
import { prepareModel, resolveModel } from '../../model/index.js';
import { toOnnxBytes } from '../../onnx/index.js';
import { formatBytes, formatCount } from '../format.js';
import { batchSize, positiveInt } from '../options.js';
import { checkOutputPath, writeAtomically } from '../write-file.js';

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write a model as ONNX (zoo weights seeded and BatchNorm-calibrated)')
    .argument('<spec>', 'model spec or .onnx file')
    .requiredOption('-o, --output <file>', 'ONNX file to write')
    .option('--batch <n>', 'fix the batch size (default: symbolic N)', batchSize)
    .addOption(new Option('--opset <n>', 'ONNX opset to declare').argParser(positiveInt).default(17))
    .action(exportCommand);
}

/** `formbench export`: a zoo model (weights calibrated) or a re-written ONNX file. */
async function exportCommand(spec: string, o: { output: string; batch?: number; opset: number }): Promise<void> {
  // Before any work: a bad path fails in a second, not after the conversion.
  checkOutputPath(o.output);
  const model = resolveModel(spec);
  const graph = await prepareModel(model);
  const bytes = toOnnxBytes(graph, { opset: o.opset, ...(o.batch ? { batch: o.batch } : {}) });
  writeAtomically(o.output, bytes);
  const cost = analyzeGraph(graph, { batch: o.batch ?? 1 });
  console.log(
    `wrote ${o.output} (${formatBytes(bytes.byteLength)}): ${model.spec}, opset ${o.opset}, ` +
      `batch ${o.batch ?? 'symbolic N'}, ${formatCount(cost.params)} parameters, ${formatCount(cost.macs)} MACs at batch ${cost.batch}`,
  );
}
