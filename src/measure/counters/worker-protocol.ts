/** What the parent and the counter worker (counter-worker.ts) exchange: argv in, one JSON line out. */
import { fileURLToPath } from 'node:url';
import type { WorkerModelRequest } from '../worker-session.js';
import type { CounterRequest } from './result.js';

/** The model, engine (options resolved), batch and input seed, as every worker takes them, and: */
export interface CounterWorkerRequest extends WorkerModelRequest {
  /** Inferences after the one warm-up inference. */
  inferences: number;
  /** perf's control fifos: the worker enables the counters around the counted inferences only. */
  perfControl?: { ctlFifo: string; ackFifo: string };
}

export type CounterWorkerReport =
  | {
      status: 'ok';
      engineVersion: string;
      loadMs: number;
      /** Wall time of the counted inferences (under valgrind: simulated, so ~1000× slow). */
      countedMs: number;
    }
  | { status: 'failed'; reason: string };

/**
 * The libc function the counter worker (and the torch worker) calls right after each inference,
 * and only then: callgrind writes its counts out after every call (--dump-after), which cuts a
 * simulated run at inference boundaries. Nothing in an engine's inference calls it.
 */
export const INFERENCE_MARKER = 'getppid';

/** Marks the worker's progress lines on stderr, apart from what engines, perf or valgrind print. */
export const PROGRESS_PREFIX = 'formbench-counters: ';

/** The compiled counter worker, next to this module in dist/. */
export const COUNTER_WORKER = fileURLToPath(new URL('./counter-worker.js', import.meta.url));

export function workerRequest(r: CounterRequest, inferences: number, perfControl?: CounterWorkerRequest['perfControl']): CounterWorkerRequest {
  return {
    spec: r.spec,
    onnxPath: r.onnxPath,
    engine: r.engine,
    options: r.options,
    batch: r.batch,
    inputSeed: r.inputSeed,
    inferences,
    ...(perfControl ? { perfControl } : {}),
  };
}
