import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareModel, resolveModel } from '../../model/index.js';
import { toOnnxBytes } from '../../onnx/index.js';
import { measureCounters } from './index.js';
import type { CounterRequest, CounterResult } from './result.js';

/**
 * measureCounters for a model spec rather than a prepared ONNX file: resolves the spec (zoo
 * weights calibrated, as `bench` runs them), writes it to a temporary ONNX file, and counts.
 */
export async function measureSpecCounters(request: Omit<CounterRequest, 'onnxPath'>): Promise<CounterResult> {
  const model = resolveModel(request.spec);
  const graph = await prepareModel(model);
  const dir = mkdtempSync(join(tmpdir(), 'formbench-counters-'));
  try {
    const onnxPath = join(dir, 'model.onnx');
    writeFileSync(onnxPath, toOnnxBytes(graph));
    return await measureCounters({ ...request, spec: model.spec, onnxPath });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
