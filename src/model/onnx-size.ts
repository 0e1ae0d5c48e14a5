import { UserError } from '../errors.js';
import type { Graph } from '../ir/index.js';

/** Protobuf messages (and so ONNX files without external data) are limited to 2 GiB, as onnx/export.ts enforces. */
const MAX_PROTOBUF_BYTES = 2 ** 31 - 1;

/**
 * Refuses a model whose ONNX file cannot exist, from its weights' sizes alone, before any weight
 * is generated or calibrated: the exporter's own check comes only once the file is assembled, after
 * a minute and gigabytes of weights for standard/d10/w4096. The weights are a lower bound on the
 * file's size, so what passes here may still fail there, by the few bytes of the graph itself.
 */
export function checkOnnxFits(graph: Graph): void {
  let weightBytes = 0;
  for (const t of graph.initializers.values()) weightBytes += t.byteLength; // sizes only: nothing generated
  if (weightBytes <= MAX_PROTOBUF_BYTES) return;
  throw new UserError(
    `the ONNX file for '${graph.name}' would be at least ${(weightBytes / 2 ** 30).toFixed(2)} GiB (its weights alone), over protobuf's 2 GiB limit`,
    'use a smaller width or depth, or a lower-precision variant of the model',
  );
}
