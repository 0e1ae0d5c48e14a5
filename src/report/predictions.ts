/**
 * The report's account of this machine's latency predictor, where `formbench predict --validate`
 * stored held-out checks: how often a prediction lands within ±5% and ±10% of the measurement,
 * the median error and Spearman's ρ, per engine and held-out group, how often one validation
 * round's measurement is within ±10% of the next (the machine's own limit on any predictor), and
 * how often the predicted speed-up is within ±15% of the measured one.
 */
import { accuracyOf, repeatabilityOf, speedupAgreement, type Accuracy } from '../predict/accuracy.js';
import type { StoredPredictionCheck, StoredTrial } from '../store/index.js';
import type { Table } from './types.js';

const percent = (share: number): string | null => (Number.isNaN(share) ? null : `${(share * 100).toFixed(1)}%`);
const rho = (v: number): number | null => (Number.isNaN(v) ? null : Number(v.toFixed(3)));

const accuracyCells = (rows: readonly StoredPredictionCheck[]): (string | number | null)[] => {
  const a: Accuracy = accuracyOf(rows);
  return [a.count, percent(a.within5), percent(a.within10), percent(a.mdape), rho(a.spearman), percent(repeatabilityOf(rows).within)];
};

/** One row per engine and held-out group ('pattern', 'reference', and both together). */
export function predictionAccuracyTable(checks: readonly StoredPredictionCheck[]): Table {
  const engines = [...new Set(checks.map((c) => c.engine))];
  const groups = [...new Set(checks.map((c) => c.heldOut))].sort();
  return {
    columns: ['engine', 'held out', 'networks', 'within ±5%', 'within ±10%', 'median |error|', "Spearman's ρ", 'rounds within ±10% of each other'],
    rows: engines.flatMap((engine) => {
      const mine = checks.filter((c) => c.engine === engine);
      return [...groups.map((g) => [engine, g, ...accuracyCells(mine.filter((c) => c.heldOut === g))]), [engine, 'all', ...accuracyCells(mine)]].filter((r) => r[2] !== 0);
    }),
  };
}

/**
 * Predicted against measured speed-up of each accelerated engine over each native one, on the
 * networks both were checked on; an engine's role comes from the study's own trials of it, and an
 * engine the study never ran is left out of the pairs (its accuracy is still in the first table).
 */
export function predictionSpeedupTable(checks: readonly StoredPredictionCheck[], rows: readonly StoredTrial[]): Table {
  const roleOf = new Map(rows.map((r) => [r.engine, r.engineRole]));
  const engines = [...new Set(checks.map((c) => c.engine))];
  const native = engines.filter((e) => roleOf.get(e) === 'native');
  const accelerated = engines.filter((e) => roleOf.has(e) && roleOf.get(e) !== 'native');
  const of = (engine: string) => checks.filter((c) => c.engine === engine);
  return {
    columns: ['engine', 'over', 'pairs', 'predicted speed-up within ±15%'],
    rows: accelerated.flatMap((a) => native.map((n) => {
      const s = speedupAgreement(of(n), of(a));
      return [a, n, s.pairs, percent(s.withinShare)];
    })).filter((r) => r[2] !== 0),
  };
}
