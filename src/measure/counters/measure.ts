import type { EngineChoice } from '../../engines/index.js';
import { countWithCallgrind } from './callgrind.js';
import { countWithPerf } from './perf.js';
import type { CounterRequest, CounterResult } from './result.js';

/**
 * Counts one model on one engine per inference. Never throws for what the machine lacks (no
 * perf, no PMU, no valgrind, a timeout): those come back as `failed` with the reason, or as
 * `ok` with the uncountable counters null and listed in `unsupported`.
 */
export function measureCounters(request: CounterRequest): Promise<CounterResult> {
  if (!Number.isInteger(request.inferences) || request.inferences < 1) throw new RangeError(`inferences must be a positive integer, got ${request.inferences}`);
  return request.mode === 'perf' ? countWithPerf(request) : countWithCallgrind(request, request.mode.simulate);
}

/**
 * Engine options for a simulated run: one intra-op thread unless the user chose a count.
 * valgrind runs a process's threads one at a time, so more threads only add thread-pool
 * scheduling and spin-waiting to the counts and the simulated time, not parallel work.
 * Returns the options and, when it changed them, a note saying so.
 */
export function simulationOptions(choice: EngineChoice): { options: Record<string, string>; note?: string } {
  if (!('threads' in choice.engine.options) || 'threads' in choice.given || choice.options['threads'] === '1') return { options: choice.options };
  return {
    options: { ...choice.options, threads: '1' },
    note: `${choice.engine.name} ran with threads=1: valgrind runs threads one at a time, so more threads would add only scheduling and spin-waiting (set ${choice.engine.name}:threads=<n> to override)`,
  };
}
