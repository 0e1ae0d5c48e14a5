/**
 * `formbench predict --validate`: networks the calibration never sampled — pattern networks at
 * depths and widths off the sampling grid and at another input resolution (whose body runs at a
 * spatial size off the grid too), and reference networks — predicted, then measured with the
 * bench protocol (each trial in its own worker), and the two compared. Every network is measured
 * in VALIDATE_ROUNDS rounds, all networks per round: the median of the rounds is what predictions
 * are compared with, and how often one round agrees with the next is the machine's own limit on
 * any predictor (repeatabilityOf) — measured on this project's VM, two validations eleven minutes
 * apart agreed within ±10% for 21 (ort) and 19 (torch) of 22 networks, the second a median 4.3%
 * (ort) and 5.5% (torch) faster.
 */
import { defaultReference, INPUT_SEED, runBench, type TimingBudget, type TrialRecord } from '../measure/index.js';
import type { CalibrationTables, StoredPredictionCheck } from '../store/index.js';
import { PATTERNS } from '../zoo/index.js';
import { accuracyOf, medianOf, repeatabilityOf, speedupAgreement, type Accuracy, type PredictionCheck, type SpeedupCheck } from './accuracy.js';
import { predictSpec, type LoadedModel } from './predict.js';

/**
 * Off the sampling grid (probes.ts): widths 40, 88, 120 (grouped, whose widths are multiples of 16:
 * 144, 176); depths 5, 7, 13; resolution 160 (body at 40 × 40).
 */
export const HELD_OUT_PATTERNS: string[] = PATTERNS.flatMap((p) => (p === 'grouped' ? [`${p}/d7/w176`, `${p}/d13/w144`, `${p}/d5/w144/r160`] : [`${p}/d7/w88`, `${p}/d13/w40`, `${p}/d5/w120/r160`]));
/** Affordable reference networks (0.3 and 1.8 GMACs at 224), at two resolutions. */
export const HELD_OUT_REFERENCES = ['mobilenet_v2', 'resnet18', 'mobilenet_v2/r160', 'resnet18/r160'];

/** The held-out trials' budget: the bench protocol, shorter (the machine is the calibration's). */
export const VALIDATE_BUDGET: TimingBudget = { targetCiRelative: 0.02, timedBudgetMs: 2_000, warmupBudgetMs: 700, minRuns: 8, maxRuns: 5_000 };
/** Rounds each held-out network is measured in (each round measures every network once). */
export const VALIDATE_ROUNDS = 2;

export interface ValidationEngine {
  engine: string;
  all: Accuracy;
  pattern: Accuracy;
  reference: Accuracy;
  /** Held-out networks measured in two rounds, and the share whose first round is within ±10% of the second. */
  repeatability: { networks: number; within: number };
}

export interface Validation {
  checks: StoredPredictionCheck[];
  engines: ValidationEngine[];
  speedups: { engine: string; over: string; pairs: number; withinShare: number; rows: SpeedupCheck[] }[];
  failed: TrialRecord[];
  wallS: number;
}

export async function validate(loaded: readonly LoadedModel[], tables: CalibrationTables, fingerprint: string, o: { batch: number; specs?: string[]; rounds?: number; onTrial?: (t: TrialRecord, done: number, total: number) => void }): Promise<Validation> {
  const t0 = Date.now();
  const specs = o.specs ?? [...HELD_OUT_PATTERNS, ...HELD_OUT_REFERENCES];
  const engines = loaded.map((l) => l.choice);
  const rounds = o.rounds ?? VALIDATE_ROUNDS;
  const trials: TrialRecord[] = [];
  for (let round = 0; round < rounds; round++) {
    const offset = trials.length;
    const result = await runBench({ specs, engines, batches: [o.batch], baseline: engines[0]!, reference: defaultReference(), budget: VALIDATE_BUDGET, inputSeed: INPUT_SEED }, (t, done, total) => o.onTrial?.(t, offset + done, rounds * total));
    trials.push(...result.trials);
  }
  const predicted = new Map(specs.map((s) => predictSpec(s, loaded, o.batch)).map((p) => [p.model, p]));
  const checkedAt = new Date().toISOString();
  // Each (network, engine)'s rounds, in the order the trials ran.
  const byPair = new Map<string, TrialRecord[]>();
  for (const t of trials) {
    const key = `${t.model}\u0000${t.engine}`;
    const mine = byPair.get(key);
    if (mine) mine.push(t);
    else byPair.set(key, [t]);
  }
  const checks: StoredPredictionCheck[] = [];
  for (const mine of byPair.values()) {
    const { model, engine } = mine[0]!;
    const roundsMs = mine.flatMap((t) => (t.summary && t.status !== 'failed' ? [t.summary.medianMs] : []));
    const p = predicted.get(model)?.predictions.find((x) => x.engine === engine);
    const l = loaded.find((x) => x.choice.label === engine);
    if (!p || !l || roundsMs.length === 0) continue;
    checks.push({ fingerprint, engine, engineVersion: l.model.engineVersion, model, heldOut: HELD_OUT_REFERENCES.includes(model) || !/^[a-z-]+\/d\d+/.test(model) ? 'reference' : 'pattern', batch: o.batch, predictedMs: p.latencyMs, measuredMs: medianOf(roundsMs), measuredRoundsMs: roundsMs, speedScale: p.speedScale, checkedAt });
  }
  await tables.insertChecks(checks);
  return { ...summarizeChecks(checks, loaded.map((l) => ({ label: l.choice.label, native: l.choice.engine.role === 'native' }))), checks, failed: failedPairs(trials, checks), wallS: (Date.now() - t0) / 1000 };
}

/** One failed trial for each (network, engine) that no round measured. */
function failedPairs(trials: readonly TrialRecord[], checks: readonly StoredPredictionCheck[]): TrialRecord[] {
  const measured = new Set(checks.map((c) => `${c.model}\u0000${c.engine}`));
  const seen = new Set<string>();
  return trials.filter((t) => {
    const key = `${t.model}\u0000${t.engine}`;
    if (t.status !== 'failed' || measured.has(key) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The accuracy figures of stored checks: per engine (all, pattern, reference), and speed-up pairs of each accelerated engine over each native one. */
export function summarizeChecks(checks: readonly StoredPredictionCheck[], engines: readonly { label: string; native: boolean }[]): Pick<Validation, 'engines' | 'speedups'> {
  const rows = (engine: string, heldOut?: string): PredictionCheck[] => checks.filter((c) => c.engine === engine && (!heldOut || c.heldOut === heldOut));
  return {
    engines: engines.map((e) => ({ engine: e.label, all: accuracyOf(rows(e.label)), pattern: accuracyOf(rows(e.label, 'pattern')), reference: accuracyOf(rows(e.label, 'reference')), repeatability: repeatabilityOf(checks.filter((c) => c.engine === e.label)) })),
    speedups: engines.filter((e) => !e.native).flatMap((a) => engines.filter((n) => n.native).map((n) => ({ engine: a.label, over: n.label, ...speedupAgreement(rows(n.label), rows(a.label)) }))),
  };
}
