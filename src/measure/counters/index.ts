/**
 * Hardware counters per inference: the CPU's own through perf, or a simulated cache through
 * valgrind's callgrind. This folder owns the counter worker (counter-worker.ts) and both ways of counting;
 * the study runner and `formbench counters` call measureCounters().
 */
export { parseGeometry, formatGeometry, hostGeometry, PRESET_NAMES, DEFAULT_PRESET, PAPER_SCALED_RESOLUTION, type CacheGeometry, type CacheLevel } from './geometry.js';
export { parsePerfCsv, type PerfCounts } from './perf-csv.js';
export { parseCachegrindOut, CACHEGRIND_EVENTS, type CachegrindTotals } from './cachegrind-out.js';
export { PERF_EVENTS, PERF_EVENT_OF } from './perf.js';
export { DETERMINISTIC_NODE_FLAGS } from './callgrind.js';
export { COUNTER_FIELDS, countedNothing, type CounterMode, type CounterOk, type CounterRequest, type CounterResult, type CountsPerInference } from './result.js';

export { measureCounters, simulationOptions } from './measure.js';
export { measureSpecCounters } from './for-spec.js';
