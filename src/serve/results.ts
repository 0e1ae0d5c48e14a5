/**
 * A result a page posted, turned into the store's row: the planned trial's columns (study/run.ts
 * resultRow, as a CLI study stores it), the summary computed here from every sample, and the
 * outputs compared here with the reference's, so the page is trusted with its measurements only.
 */
import { numericsOf } from '../engines/index.js';
import { compareOutputs, impreciseReason, summarize, type TrialRecord } from '../measure/index.js';
import type { StoredTrial } from '../store/index.js';
import { resultRow, type PlannedTrial, type StudyPlan } from '../study/index.js';
import type { LabResult } from './api.js';

/**
 * A median within this many steps of the page's clock is the clock's as much as the model's: a
 * page that is not cross-origin isolated times with 100 µs steps, on a run of a few hundred µs.
 */
export const TIMER_LIMITED_STEPS = 10;

export function labTrialRow(plan: StudyPlan, trial: PlannedTrial, result: LabResult, reference: Float32Array | undefined, timerResolutionMs: number): StoredTrial {
  const base = { model: trial.model.spec, engine: trial.choice.label, options: trial.choice.options, batch: trial.batch, ...(result.engineVersion ? { engineVersion: result.engineVersion } : {}) };
  let record: TrialRecord;
  if (result.status === 'failed') {
    record = { ...base, status: 'failed', reason: result.reason };
  } else {
    // JSON has no NaN: the page's NaN arrives as null, and is a mismatch here as it is in a CLI trial.
    const output = Float32Array.from(result.output, (v) => (v === null ? Number.NaN : v));
    const outputs = reference ? compareOutputs(reference, output, trial.batch, numericsOf(trial.choice.engine, trial.choice.options).tolerance) : undefined;
    const summary = summarize(result.samplesMs);
    const imprecise = impreciseReason(summary, result.stoppedBy, trial.budget);
    const mismatch = outputs && !outputs.matches;
    const coarse = summary.medianMs < TIMER_LIMITED_STEPS * timerResolutionMs ? `timer-limited: the median ${summary.medianMs.toFixed(3)} ms is within ${TIMER_LIMITED_STEPS} steps of the page's ${(timerResolutionMs * 1000).toFixed(1)} µs clock` : undefined;
    const reason = mismatch ? `outputs differ from ${plan.reference.label}: relative error ${outputs.relativeError.toExponential(2)}` : !reference ? `not compared: the reference ${plan.reference.label} did not run` : [imprecise, coarse].filter(Boolean).join('; ') || undefined;
    record = {
      ...base,
      status: mismatch ? 'mismatch' : 'ok',
      ...(reason ? { reason } : {}),
      loadMs: result.loadMs,
      firstRunMs: result.firstRunMs,
      summary,
      samplesMs: result.samplesMs,
      stoppedBy: result.stoppedBy,
      ...(outputs ? { outputs } : {}),
    };
  }
  return resultRow(plan, trial, record, { fingerprint: result.fingerprint }, new Date(result.startedAt), result.wallMs, undefined);
}
