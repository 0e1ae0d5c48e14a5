import { withPreparedModel } from '../prepared.js';
import { measureCounters } from './measure.js';
import type { CounterRequest, CounterResult } from './result.js';

/**
 * measureCounters for a model spec rather than a prepared ONNX file: resolves the spec (zoo
 * weights calibrated, as `bench` runs them), writes it to a temporary ONNX file, and counts.
 */
export function measureSpecCounters(request: Omit<CounterRequest, 'onnxPath'>): Promise<CounterResult> {
  return withPreparedModel(request.spec, ({ spec, onnxPath }) => measureCounters({ ...request, spec, onnxPath }), [request.batch]);
}
