/**
 * The profile worker: a child process that loads one model into one engine, times unprofiled
 * runs with the protocol, then asks the engine for per-layer times, and reports both over IPC.
 * Both come from the same process and session, so the profiler's overhead shows as their gap.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { availabilityOf, engineByName } from '../engines/index.js';
import { fromOnnxBytes } from '../onnx/index.js';
import { seededNormal } from '../weights/index.js';
import type { ProfileRequest, ProfileWorkerResult } from './profile.js';
import { timeRuns } from './protocol.js';

async function profile(r: ProfileRequest): Promise<ProfileWorkerResult> {
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
    if (!session.profile) return { status: 'unsupported', reason: `engine ${engine.name} has no per-layer profiler` };
    await session.run(input, dims);
    const engineClock = session.timedRun ? () => session.timedRun!(input, dims) : undefined;
    const unprofiled = await timeRuns(() => session.run(input, dims), r.budget, engineClock);
    const engineProfile = await session.profile(input, dims, r.runs);
    return { status: 'ok', engineVersion: availability.version, loadMs, unprofiled, engineProfile };
  } finally {
    await session.dispose();
  }
}

process.once('message', (request: ProfileRequest) => {
  profile(request)
    .catch((e: unknown): ProfileWorkerResult => ({ status: 'failed', reason: (e as Error).message.split('\n')[0]! }))
    .then((result) => process.send!(result, () => process.exit(0)));
});
