/**
 * What every worker process (trial, profile, counters) does first: find the engine, load the
 * model's ONNX file into it, and build the seeded input, so that all three measure the very same
 * session on the very same input.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { EngineSession, GpuAdapter } from '../engines/engine.js';
import { availabilityOf, engineByName, loadEngineModules } from '../engines/index.js';
import { fromOnnxBytes } from '../onnx/index.js';
import { seededNormal } from '../weights/index.js';

export interface WorkerModelRequest {
  /** The model spec, for labels and the engine (the ONNX file is what runs). */
  spec: string;
  onnxPath: string;
  engine: string;
  options: Record<string, string>;
  batch: number;
  inputSeed: number;
}

export type WorkerSession =
  | { ok: true; engineName: string; engineVersion: string; gpu?: GpuAdapter; session: EngineSession; input: Float32Array; dims: number[]; loadMs: number }
  | { ok: false; reason: string };

export async function loadWorkerSession(r: WorkerModelRequest): Promise<WorkerSession> {
  // Engines registered at run time (FORMBENCH_ENGINE_MODULES) exist in this process only once loaded.
  await loadEngineModules();
  const engine = engineByName(r.engine);
  const availability = await availabilityOf(engine);
  if (!availability.available) return { ok: false, reason: `${engine.name} is not available: ${availability.reason}` };
  const onnx = readFileSync(r.onnxPath);
  const graph = fromOnnxBytes(onnx, { source: r.spec });
  const dims = graph.inputs[0]!.type.shape.map((d, i) => (i === 0 ? r.batch : d)) as number[];
  const input = seededNormal(r.inputSeed, 'input', dims.reduce((a, b) => a * b, 1), 1);
  const t0 = performance.now();
  const session = await engine.load({ spec: r.spec, graph, onnx }, r.options);
  const loadMs = performance.now() - t0;
  return { ok: true, engineName: engine.name, engineVersion: availability.version, ...(availability.gpu ? { gpu: availability.gpu } : {}), session, input, dims, loadMs };
}

/**
 * The child side of runWorkerProcess: answers the one request the parent sends, turning a thrown
 * error into a failed result with its first line, then exits once the answer is delivered.
 */
export function serveOneRequest<Request, Result>(handle: (request: Request) => Promise<Result>): void {
  // A parent that died (killed, or Ctrl-C in a command that sets no handler) leaves no one to
  // read the result: stop rather than run on as an orphan, and the engine's children (the torch
  // engine's Python, on its closed pipe) with it.
  process.once('disconnect', () => process.exit(1));
  process.once('message', (request: Request) => {
    handle(request)
      .catch((e: unknown) => ({ status: 'failed' as const, reason: (e as Error).message.split('\n')[0]! }))
      .then((result) => process.send!(result, () => process.exit(0)));
  });
}
