import { performance } from 'node:perf_hooks';
import { groupBy, measureCounters, parseGeometry, simulationOptions, runTrials, measureFidelity, referenceOutput, estimateTrialMemory, workerMemoryCapBytes, type CounterResult, type Environment, type TrialRecord, type FidelityRecord, type PreparedModel } from '../measure/index.js';
import { numericsOf } from '../engines/index.js';
import type { ResultStore, StoredScenario, StoredTrial } from '../store/index.js';
import { plannedColumns, type PlannedFidelity, type PlannedScenario, type PlannedTrial, type StudyPlan } from './plan.js';
import { measureScenario, scenarioRow } from './scenario-run.js';

export type StudyEvent =
  | { type: 'start'; total: number; alreadyStored: number; toRun: number; estimatedSeconds: number }
  | { type: 'prepare'; model: string }
  | { type: 'trial-start'; index: number; toRun: number; trial: PlannedTrial }
  | { type: 'counters'; trial: PlannedTrial; line: string }
  | { type: 'fidelity'; check: PlannedFidelity; record: FidelityRecord }
  | { type: 'trial-done'; index: number; toRun: number; trial: PlannedTrial; row: StoredTrial; remainingEstimatedSeconds: number }
  | { type: 'scenario-start'; index: number; toRun: number; run: PlannedScenario }
  | { type: 'scenario-done'; index: number; toRun: number; run: PlannedScenario; row: StoredScenario; remainingEstimatedSeconds: number }
  | { type: 'done'; ran: number; skipped: number; failed: number; mismatched: number; wallSeconds: number; interrupted: boolean };

export interface RunOptions {
  /** Stops after the trial in flight; its result is discarded, everything stored before is kept. */
  signal?: AbortSignal;
  onEvent?: (event: StudyEvent) => void;
}

/**
 * What a study writes to and reads back for resuming: the DuckDB store, or the fleet's
 * PostgreSQL store (src/fleet/) on a worker, which runs its trials through this same code.
 */
export type StudyStore = Pick<ResultStore, 'recordEnvironment' | 'storedTrials' | 'storedScenarios' | 'fidelity' | 'insertFidelity' | 'insertScenario' | 'insertTrial'>;

/** Trials stored with these statuses are not run again; failed ones are retried (and replaced). */
const DONE_STATUSES = new Set(['ok', 'mismatch']);

/**
 * Runs the trials of a plan that the store does not already hold for this machine, one worker
 * each, committing every result the moment it is measured: a study killed at any point loses at
 * most the trial in flight, and running it again picks up where it stopped.
 */
export async function runStudy(plan: StudyPlan, store: StudyStore, env: Environment, options: RunOptions = {}): Promise<void> {
  const emit = options.onEvent ?? (() => {});
  const started = performance.now();
  await store.recordEnvironment(env);
  const stored = await store.storedTrials(env.fingerprint);
  const pending = plan.trials.filter((t) => !DONE_STATUSES.has(stored.get(t.key) ?? ''));
  const storedScenarios = await store.storedScenarios(env.fingerprint);
  const pendingScenarios = plan.scenarios.filter((r) => !DONE_STATUSES.has(storedScenarios.get(r.key) ?? ''));
  const total = plan.trials.length + plan.scenarios.length;
  const toRun = pending.length + pendingScenarios.length;
  const checked = new Set((await store.fidelity(env.fingerprint)).filter((f) => f.status === 'ok').map(fidelityKey));
  const pendingChecks = plan.fidelity.filter((f) => !checked.has(fidelityKey({ model: f.spec, batch: f.batch, engine: f.choice.label })));
  let remainingEstimate = [...pending, ...pendingScenarios, ...pendingChecks].reduce((s, t) => s + t.estimatedSeconds, 0);
  emit({ type: 'start', total, alreadyStored: total - toRun, toRun, estimatedSeconds: remainingEstimate });

  const counts = { ran: 0, failed: 0, mismatched: 0 };
  /** Counts a stored trial or scenario run; answers the estimate of what is left. */
  const counted = (status: StoredTrial['status'], estimatedSeconds: number): number => {
    counts.ran++;
    if (status === 'failed') counts.failed++;
    if (status === 'mismatch') counts.mismatched++;
    remainingEstimate -= estimatedSeconds;
    return Math.max(0, remainingEstimate);
  };
  const signal = options.signal;
  const models = [...new Set([...pending.map((t) => t.model.spec), ...pendingScenarios.map((r) => r.model.spec), ...pendingChecks.map((f) => f.spec)])];
  let startedAt = new Date();
  let t0 = performance.now();
  await runTrials(
    pending.map((t) => ({ ...t, spec: t.model.spec })),
    {
      preparing(spec) {
        emit({ type: 'prepare', model: spec });
      },
      async model(prepared) {
        for (const check of pendingChecks.filter((f) => f.spec === prepared.spec)) {
          if (signal?.aborted) return;
          const record = await measureFidelity(check.choice, { spec: prepared.spec, onnxPath: prepared.onnxPath, batch: check.batch, inputSeed: check.inputSeed, budget: check.budget, ...(signal ? { signal } : {}) });
          if (signal?.aborted) return;
          await store.insertFidelity(env.fingerprint, plan.study.name, record);
          remainingEstimate -= check.estimatedSeconds;
          emit({ type: 'fidelity', check, record });
        }
        // The model's scenario runs, on the file its trials load, grouped by batch and input as trials are.
        for (const group of groupBy(pendingScenarios.filter((r) => r.model.spec === prepared.spec), (r) => `${r.batch}|${r.inputSeed}`).values()) {
          if (signal?.aborted) return;
          const reference = await scenarioReference(plan, prepared, group[0]!, signal);
          for (const run of group) {
            if (signal?.aborted) return;
            emit({ type: 'scenario-start', index: counts.ran, toRun, run });
            const startedAt = new Date();
            const result = await measureScenario(run, prepared, reference);
            if (signal?.aborted) return;
            const row = scenarioRow(plan, run, result, env, startedAt);
            await store.insertScenario(row);
            const left = counted(row.status, run.estimatedSeconds);
            emit({ type: 'scenario-done', index: counts.ran, toRun, run, row, remainingEstimatedSeconds: left });
          }
        }
      },
      start(trial) {
        emit({ type: 'trial-start', index: counts.ran, toRun, trial });
        startedAt = new Date();
        t0 = performance.now();
      },
      async trial(trial, record, prepared) {
        const counters = trial.counters && record.status !== 'failed' ? await countTrial(trial, prepared.onnxPath, emit, signal) : undefined;
        if (signal?.aborted) return;
        const row = resultRow(plan, trial, record, env, startedAt, performance.now() - t0, counters);
        await store.insertTrial(row);
        const left = counted(row.status, trial.estimatedSeconds);
        emit({ type: 'trial-done', index: counts.ran, toRun, trial, row, remainingEstimatedSeconds: left });
      },
    },
    { reference: plan.reference, models, resolved: plan.resolved, ...(signal ? { signal } : {}) },
  );
  emit({ type: 'done', ...counts, skipped: total - toRun, wallSeconds: (performance.now() - started) / 1000, interrupted: options.signal?.aborted === true });
}

/** The reference engine's output for a scenario group, where the reference fits in memory (as for trials). */
async function scenarioReference(plan: StudyPlan, prepared: PreparedModel, run: PlannedScenario, signal?: AbortSignal): Promise<{ output: Float32Array; label: string } | undefined> {
  const capBytes = workerMemoryCapBytes();
  if (estimateTrialMemory(prepared.graph, run.batch, plan.reference).totalBytes > capBytes) return undefined;
  const output = await referenceOutput(plan.reference, prepared.onnxPath, prepared.spec, run.batch, run.inputSeed, signal, capBytes);
  return output ? { output, label: plan.reference.label } : undefined;
}

const fidelityKey = (f: { model: string; batch: number; engine: string }): string => `${f.model}|${f.batch}|${f.engine}`;

/** Counters for a trial already timed, on the same ONNX file; a failure is stored with its reason. */
async function countTrial(trial: PlannedTrial, onnxPath: string, emit: (e: StudyEvent) => void, signal?: AbortSignal): Promise<CounterResult> {
  const plan = trial.counters!;
  const simulated = plan.mode === 'simulate';
  const { options } = simulated ? simulationOptions(trial.choice) : { options: trial.choice.options };
  return measureCounters({
    spec: trial.model.spec,
    onnxPath,
    engine: trial.choice.engine.name,
    options,
    batch: trial.batch,
    inputSeed: trial.inputSeed,
    inferences: plan.inferences,
    mode: simulated ? { simulate: parseGeometry(plan.geometry) } : 'perf',
    timeoutMs: plan.timeoutMs,
    onProgress: (line) => emit({ type: 'counters', trial, line }),
    ...(signal ? { signal } : {}),
  });
}

/** A measured trial as the store keeps it: the plan's columns, the record's figures (serve/ builds a browser tab's rows with it too). */
export function resultRow(plan: StudyPlan, trial: PlannedTrial, record: TrialRecord, env: Pick<Environment, 'fingerprint'>, startedAt: Date, wallMs: number, counters: CounterResult | undefined): StoredTrial {
  const m = trial.model;
  const s = record.summary;
  return {
    trialKey: trial.key,
    ...plannedColumns(plan, trial, env.fingerprint),
    options: trial.choice.options,
    engineVersion: record.engineVersion ?? null,
    inputSeed: trial.inputSeed,
    repetition: trial.repetition,
    macs: m.macsPerSample * trial.batch,
    flops: m.flopsPerSample * trial.batch,
    params: m.params,
    weightBytes: m.weightBytes,
    activationBytes: m.activationBytesPerSample * trial.batch,
    arithmeticIntensity: trial.arithmeticIntensity,
    status: record.status,
    reason: record.reason ?? null,
    loadMs: record.loadMs ?? null,
    firstRunMs: record.firstRunMs ?? null,
    medianMs: s?.medianMs ?? null,
    meanMs: s?.meanMs ?? null,
    minMs: s?.minMs ?? null,
    p90Ms: s?.p90Ms ?? null,
    p99Ms: s?.p99Ms ?? null,
    madMs: s?.madMs ?? null,
    ciLowMs: s?.ciMs?.[0] ?? null,
    ciHighMs: s?.ciMs?.[1] ?? null,
    runs: s?.runs ?? null,
    outliers: s?.outliers ?? null,
    stoppedBy: record.stoppedBy ?? null,
    wallMs,
    samplesMs: record.samplesMs ?? [],
    outputRelativeError: record.outputs?.relativeError ?? null,
    outputMaxAbsError: record.outputs?.maxAbsError ?? null,
    outputTop1Agreement: record.outputs?.top1Agreement ?? null,
    precision: numericsOf(trial.choice.engine, trial.choice.options).precision,
    kernelPrecision: record.kernels ?? null,
    // A failed GPU trial keeps its adapter too: the reason often depends on it (no shader-f16).
    gpuAdapter: record.gpu ?? null,
    placement: record.placement ?? null,
    counters: counters ?? null,
    ...lifecycleColumns(record),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
  };
}

/** The trial's memory, CPU, frequency and energy columns; null where the worker could not tell. */
function lifecycleColumns(record: TrialRecord): Pick<StoredTrial, 'peakRssBytes' | 'estimatedPeakBytes' | 'rssStartBytes' | 'rssGrowthBytes' | 'cpuMs' | 'cpuPerWall' | 'cpuMhzBefore' | 'cpuMhzAfter' | 'cpuMhzSource' | 'energyJoulesPerInference' | 'energyUnsupported'> {
  const l = record.lifecycle;
  return {
    peakRssBytes: record.peakRssBytes ?? null,
    estimatedPeakBytes: record.estimatedPeakBytes ?? null,
    rssStartBytes: l?.rssStartBytes ?? null,
    rssGrowthBytes: l?.rssGrowthBytes ?? null,
    cpuMs: l?.cpuMs ?? null,
    cpuPerWall: l?.cpuPerWall ?? null,
    cpuMhzBefore: l?.cpuMhzBefore ?? null,
    cpuMhzAfter: l?.cpuMhzAfter ?? null,
    cpuMhzSource: l?.cpuMhzSource ?? null,
    energyJoulesPerInference: l && 'joulesPerInference' in l.energy ? l.energy.joulesPerInference : null,
    energyUnsupported: l && 'unsupported' in l.energy ? l.energy.unsupported : null,
  };
}
