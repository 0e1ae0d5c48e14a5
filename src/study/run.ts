import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { measureCounters, parseGeometry, simulationOptions, type CounterResult } from '../measure/counters/index.js';
import type { Environment } from '../measure/environment.js';
import { measureTrial, referenceOutput, type TrialRecord } from '../measure/bench.js';
import { prepareModel, resolveModel } from '../model/index.js';
import { toOnnxBytes } from '../onnx/index.js';
import type { ResultRow, ResultStore } from '../store/index.js';
import { measureFidelity, type FidelityRecord } from '../measure/fidelity.js';
import type { PlannedFidelity, PlannedTrial, StudyPlan } from './plan.js';

export type StudyEvent =
  | { type: 'start'; total: number; alreadyStored: number; toRun: number; estimatedSeconds: number }
  | { type: 'prepare'; model: string }
  | { type: 'trial-start'; index: number; toRun: number; trial: PlannedTrial }
  | { type: 'counters'; trial: PlannedTrial; line: string }
  | { type: 'fidelity'; check: PlannedFidelity; record: FidelityRecord }
  | { type: 'trial-done'; index: number; toRun: number; trial: PlannedTrial; row: ResultRow; remainingEstimatedSeconds: number }
  | { type: 'done'; ran: number; skipped: number; failed: number; mismatched: number; wallSeconds: number; interrupted: boolean };

export interface RunOptions {
  /** Stops after the trial in flight; its result is discarded, everything stored before is kept. */
  signal?: AbortSignal;
  onEvent?: (event: StudyEvent) => void;
}

/** Trials stored with these statuses are not run again; failed ones are retried (and replaced). */
const DONE_STATUSES = new Set(['ok', 'mismatch']);

/**
 * Runs the trials of a plan that the store does not already hold for this machine, one worker
 * each, committing every result the moment it is measured: a study killed at any point loses at
 * most the trial in flight, and running it again picks up where it stopped.
 */
export async function runStudy(plan: StudyPlan, store: ResultStore, env: Environment, options: RunOptions = {}): Promise<void> {
  const emit = options.onEvent ?? (() => {});
  const started = performance.now();
  await store.recordEnvironment(env);
  const stored = await store.storedTrials(env.fingerprint);
  const pending = plan.trials.filter((t) => !DONE_STATUSES.has(stored.get(t.key) ?? ''));
  const checked = new Set((await store.fidelity(env.fingerprint)).filter((f) => f.status === 'ok').map(fidelityKey));
  const pendingChecks = plan.fidelity.filter((f) => !checked.has(fidelityKey({ model: f.spec, batch: f.batch, engine: f.choice.label })));
  let remainingEstimate = pending.reduce((s, t) => s + t.estimatedSeconds, 0) + pendingChecks.reduce((s, f) => s + f.estimatedSeconds, 0);
  emit({ type: 'start', total: plan.trials.length, alreadyStored: plan.trials.length - pending.length, toRun: pending.length, estimatedSeconds: remainingEstimate });

  const counts = { ran: 0, failed: 0, mismatched: 0 };
  const dir = mkdtempSync(join(tmpdir(), 'formbench-study-'));
  try {
    const specs = [...new Set([...pending.map((t) => t.model.spec), ...pendingChecks.map((f) => f.spec)])];
    for (const spec of specs) {
      if (options.signal?.aborted) break;
      emit({ type: 'prepare', model: spec });
      const onnxPath = join(dir, 'model.onnx');
      writeFileSync(onnxPath, toOnnxBytes(await prepareModel(resolveModel(spec))));
      for (const check of pendingChecks.filter((f) => f.spec === spec)) {
        if (options.signal?.aborted) break;
        const record = await measureFidelity(check.choice, { spec, onnxPath, batch: check.batch, inputSeed: check.inputSeed, budget: check.budget, ...(options.signal ? { signal: options.signal } : {}) });
        if (options.signal?.aborted) break;
        await store.insertFidelity(env.fingerprint, plan.study.name, record);
        remainingEstimate -= check.estimatedSeconds;
        emit({ type: 'fidelity', check, record });
      }
      for (const [batch, batchTrials] of groupBy(pending.filter((t) => t.model.spec === spec), (t) => t.batch)) {
        if (options.signal?.aborted) break;
        const output = await referenceOutput(plan.reference, onnxPath, spec, batch, batchTrials[0]!.inputSeed, options.signal);
        for (const trial of batchTrials) {
          if (options.signal?.aborted) break;
          emit({ type: 'trial-start', index: counts.ran, toRun: pending.length, trial });
          const startedAt = new Date();
          const t0 = performance.now();
          const record = await measureTrial(trial.choice, { spec, onnxPath, batch, inputSeed: trial.inputSeed, budget: trial.budget, ...(options.signal ? { signal: options.signal } : {}), ...(output ? { reference: { output, label: plan.reference.label } } : {}) });
          // An interrupt kills the worker too: what it returned then is not a measurement.
          if (options.signal?.aborted) break;
          const counters = trial.counters && record.status !== 'failed' ? await countTrial(trial, onnxPath, emit, options.signal) : undefined;
          if (options.signal?.aborted) break;
          const row = { ...resultRow(plan, trial, record, env, startedAt, performance.now() - t0), ...(counters ? { counters: JSON.stringify(counters) } : {}) };
          await store.insert(row);
          counts.ran++;
          if (row.status === 'failed') counts.failed++;
          if (row.status === 'mismatch') counts.mismatched++;
          remainingEstimate -= trial.estimatedSeconds;
          emit({ type: 'trial-done', index: counts.ran, toRun: pending.length, trial, row, remainingEstimatedSeconds: Math.max(0, remainingEstimate) });
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  emit({ type: 'done', ...counts, skipped: plan.trials.length - pending.length, wallSeconds: (performance.now() - started) / 1000, interrupted: options.signal?.aborted === true });
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

function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(item);
  }
  return groups;
}

function resultRow(plan: StudyPlan, trial: PlannedTrial, record: TrialRecord, env: Environment, startedAt: Date, wallMs: number): ResultRow {
  const m = trial.model;
  const s = record.summary;
  return {
    trialKey: trial.key,
    fingerprint: env.fingerprint,
    study: plan.study.name,
    sweep: trial.sweep,
    model: m.spec,
    modelKind: m.kind,
    pattern: m.pattern,
    depth: m.depth,
    width: m.width,
    resolution: m.resolution,
    batch: trial.batch,
    engine: trial.choice.label,
    engineName: trial.choice.engine.name,
    engineRole: trial.choice.engine.role,
    options: JSON.stringify(trial.choice.options),
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
    precision: trial.choice.options['precision'] ?? 'fp32',
    kernelPrecision: record.kernels ? JSON.stringify(record.kernels) : null,
    counters: null,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
  };
}
