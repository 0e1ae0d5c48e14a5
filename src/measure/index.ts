/**
 * Measurement: the trial pipeline (pipeline.ts; bench and study are its two sinks), the timing
 * protocol and its statistics, output comparison, worker processes, fidelity checks, per-layer
 * profiles, the machine's roofline, and hardware or simulated counters (counters/).
 */
export { defaultReference, INPUT_SEED, runBench, type BenchPlan, type BenchResult, type ModelHealth, type SpeedupRecord } from './bench.js';
export { compareOutputs, type OutputComparison } from './compare.js';
export * from './counters/index.js';
export { currentEnvironment, fingerprintOf, TEST_FINGERPRINT_ENV, type Environment } from './environment.js';
export { FIDELITY_WARNING_RATIO, measureFidelity, runFidelity, type FidelityPlan, type FidelityRecord } from './fidelity.js';
export { ensureMachinePeaks, type KeptPeaks } from './peaks.js';
export { cpuPerWall, cpuPerWallMinWallMs, energyJoules, frequencyDrop, leakSuspected, LEAK_MIN_BYTES, LEAK_RELATIVE, readCpuMhz, readEnergy, throttled, THROTTLE_DROP, type CpuMhzSource, type TrialLifecycle } from './lifecycle.js';
export { groupBy, impreciseReason, measureTrial, referenceOutput, runTrials, type PipelineOptions, type PlannedRun, type TrialRecord, type TrialSetup, type TrialSink } from './pipeline.js';
export { workerMemoryCapBytes, WORKER_MEMORY_ENV } from './memory-cap.js';
export { estimateTrialMemory, type MemoryEstimate } from './memory-estimate.js';
export { loadAllowanceMs, LOAD_TIMEOUT_ENV } from './trial.js';
export { withPreparedModel, type PreparedModel } from './prepared.js';
export { GAP_TOLERANCE, profileModel, SOFTWARE_LIMITED_MIN_SHARE, SOFTWARE_LIMITED_RATIO, withRoofline, type ProfileGroup, type ProfileReport } from './profile.js';
export { DEFAULT_BUDGET, timeRuns, type ClockMs, type TimingBudget, type TimingResult } from './protocol.js';
export { measureMachinePeaks, rooflineBoundGflops, type CacheRoof, type MachinePeaks } from './roofline.js';
export * from './stats.js';
