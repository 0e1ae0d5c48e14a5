import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { analyzeGraph } from '../../analysis/index.js';
import { prepareModel, resolveModel } from '../../model/index.js';
import { toOnnxBytes } from '../../onnx/index.js';
import { formatBytes, formatCount } from '../format.js';

/** `formbench export`: a zoo model (weights calibrated) or a re-written ONNX file. */
export async function exportCommand(spec: string, o: { output: string; batch?: number; opset: number }): Promise<void> {
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

/** Writes beside the target, then renames: an interrupted export never leaves a half-written file. */
function writeAtomically(path: string, bytes: Uint8Array): void {
  const partial = `${path}.partial-${process.pid}`;
  try {
    writeFileSync(partial, bytes);
    renameSync(partial, path);
  } finally {
    rmSync(partial, { force: true });
  }
}
