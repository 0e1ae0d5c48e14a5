/**
 * The trial worker: a child process that loads one model into one engine, warms up, times the
 * runs and reports back over IPC. It runs nothing else, so its timings share the process with no
 * other trial.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { availabilityOf, engineByName } from '../engines/index.js';
import { fromOnnxBytes } from '../onnx/index.js';
import { seededNormal } from '../weights/index.js';
import { timeRuns } from './protocol.js';
import type { TrialProgress, TrialRequest, TrialResult } from './trial.js';

async function trial(r: TrialRequest): Promise<TrialResult> {
  // Test-only engines (e.g. one that crashes) register themselves from this module.
  if (process.env['FORMBENCH_EXTRA_ENGINES']) await import(pathToFileURL(process.env['FORMBENCH_EXTRA_ENGINES']).href);
  const engine = engineByName(r.engine);
  const availability = await availabilityOf(engine);
  if (!availability.available) return { status: 'failed', reason: `${engine.name} is not available: ${availability.reason}` };
  const onnx = readFileSync(r.onnxPath);
  const graph = fromOnnxBytes(onnx, { source: r.spec });
  const dims = graph.inputs[0]!.type.shape.map((d, i) => (i === 0 ? r.batch : d)) as number[];
  const input = seededNormal(r.inputSeed, 'input', dims.reduce((a, b) => a * b, 1), 1);
  const t0 = performance.now();
  const session = await engine.load({ spec: r.spec, graph, onnx }, r.options);
  const loadMs = performance.now() - t0;
  try {
    const firstStart = performance.now();
    const output = Float32Array.from(await session.run(input, dims));
    // The parent's time limit depends on how long one run takes: tell it.
    const progress: TrialProgress = { progress: 'first-run', firstRunMs: performance.now() - firstStart };
    process.send!(progress);
    const engineClock = session.timedRun ? () => session.timedRun!(input, dims) : undefined;
    const timing = await timeRuns(() => session.run(input, dims), r.budget, engineClock);
    return { status: 'ok', engineVersion: availability.version, loadMs, timing, output };
  } finally {
    await session.dispose();
  }
}

process.once('message', (request: TrialRequest) => {
  trial(request)
    .catch((e: unknown): TrialResult => ({ status: 'failed', reason: (e as Error).message.split('\n')[0]! }))
    .then((result) => process.send!(result, () => process.exit(0)));
});
