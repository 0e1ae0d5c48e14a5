/** Scenarios (offline, multi-stream, server): pure rules (Poisson arrivals, percentile claims, peak search) and the runs on session workers. */
export { boundMet, claimPercentile, claimPercentiles, CLAIMED_QUANTILES, minQueriesFor, percentileLabel, type PercentileClaim } from './percentiles.js';
export { findPeakRate, type PeakProbe, type PeakSearchOptions, type PeakSearchResult } from './peak-search.js';
export { poissonArrivalsMs } from './poisson.js';
export { overlapFraction, simulateQueue, spansIntersect, type RunInterval, type ServiceTimeMs } from './queueing.js';
export { DEFAULT_P99_BOUND_MS, minProbeRatePerS, runMultiStream, SESSION_WARMUP_MS, runOffline, runServer, SCENARIOS, type ClosedLoopResult, type Concurrency, type ScenarioName, type ScenarioSetup, type ServerResult, type ServerRun } from './run.js';
export { threadSplit, type ThreadSplit } from './threads.js';
