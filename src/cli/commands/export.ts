import { statSync } from 'node:fs';
import { analyzeGraph } from '../../analysis/index.js';
import { prepareModel, resolveModel } from '../../model/index.js';
import { writeOnnxFile } from '../../onnx/index.js';
import { formatBytes, formatCount } from '../format.js';

/** `formbench export`: a zoo model (weights calibrated) or a re-written ONNX file. */
export async function exportCommand(spec: string, o: { output: string; batch?: number; opset: number }): Promise<void> {
  const model = resolveModel(spec);
  const graph = await prepareModel(model);
  writeOnnxFile(graph, o.output, { opset: o.opset, ...(o.batch ? { batch: o.batch } : {}) });
  const cost = analyzeGraph(graph, { batch: o.batch ?? 1 });
  console.log(
    `wrote ${o.output} (${formatBytes(statSync(o.output).size)}): ${model.spec}, opset ${o.opset}, ` +
      `batch ${o.batch ?? 'symbolic N'}, ${formatCount(cost.params)} parameters, ${formatCount(cost.macs)} MACs at batch ${cost.batch}`,
  );
}
