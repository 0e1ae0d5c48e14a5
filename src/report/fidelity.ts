/**
 * The fidelity part of a report: how much slower formbench runs a native engine than its
 * framework's own idiomatic execution of the same network. A speed-up over that engine is
 * inflated by exactly that ratio, so each speed-up carries its baseline's ratio beside it.
 */
import { geometricMean, FIDELITY_WARNING_RATIO } from '../measure/index.js';
import type { StoredFidelity } from '../store/index.js';
import type { BaselineFidelity, ReportData, SpeedupPoint, Table } from './types.js';

export { FIDELITY_WARNING_RATIO };

/** A check that gave a ratio. */
export type MeasuredFidelity = StoredFidelity & { ratio: number };

const fmt = (v: number | undefined, digits = 3): number | null => (v === undefined ? null : Number(v.toPrecision(digits + 1)));
const x = (v: number) => `${v.toFixed(2)}×`;

/** The checks of an engine (every engine without one) that gave a ratio. */
export function measuredChecks(checks: StoredFidelity[], engine?: string): MeasuredFidelity[] {
  return checks.filter((c): c is MeasuredFidelity => c.status === 'ok' && typeof c.ratio === 'number' && Number.isFinite(c.ratio) && c.ratio > 0 && (engine === undefined || c.engine === engine));
}

/**
 * Each speed-up with its baseline's ratio: the check of the same model and batch where one was
 * measured, else the geometric mean of the baseline's checks on this machine. Unchanged where the
 * baseline was never checked.
 */
export function withBaselineFidelity(speedups: SpeedupPoint[], checks: StoredFidelity[], baseline: string): SpeedupPoint[] {
  const measured = measuredChecks(checks, baseline);
  if (measured.length === 0) return speedups;
  const byPair = new Map(measured.map((c) => [`${c.model}|${c.batch}`, c]));
  const mean: BaselineFidelity = { ratio: geometricMean(measured.map((c) => c.ratio)), source: 'engine-mean', checks: measured.length };
  return speedups.map((s) => {
    const c = byPair.get(`${s.model}|${s.batch}`);
    return { ...s, baselineFidelity: c ? { ratio: c.ratio, source: 'measured', checks: 1 } : mean };
  });
}

/** The two columns a speed-up table gains where the store holds fidelity checks. */
export const FIDELITY_COLUMNS = ['baseline fidelity', 'fidelity from'];

export function fidelityCells(s: SpeedupPoint): (string | number | null)[] {
  const f = s.baselineFidelity;
  if (!f) return [null, 'not checked'];
  return [fmt(f.ratio), f.source === 'measured' ? 'this model & batch' : `geometric mean of ${f.checks} checks of ${s.baseline}`];
}

/** The checks as a table: one per engine in the page (`perEngine`), all engines in one file. */
export function fidelityTable(checks: StoredFidelity[], perEngine = false): Table {
  const note = (c: StoredFidelity) => (c.status !== 'ok' ? `failed: ${c.reason ?? 'no reason given'}` : c.ratio !== undefined && c.ratio > FIDELITY_WARNING_RATIO ? `above ${FIDELITY_WARNING_RATIO.toFixed(2)}: speed-ups over ${c.engine} inflated` : '');
  const columns = ['model', 'batch', 'idiomatic', 'engine median ms', 'idiomatic median ms', 'ratio', 'ratio low', 'ratio high', 'note'];
  return {
    columns: perEngine ? columns : ['engine', ...columns],
    rows: checks.map((c) => {
      const cells = [c.model, c.batch, c.idiomatic ?? null, fmt(c.engineMedianMs), fmt(c.idiomaticMedianMs), fmt(c.ratio), fmt(c.ratioInterval?.[0]), fmt(c.ratioInterval?.[1]), note(c)];
      return perEngine ? cells : [c.engine, ...cells];
    }),
  };
}

/** The engines the checks cover, in the order they were first checked. */
export const checkedEngines = (checks: StoredFidelity[]): string[] => [...new Set(checks.map((c) => c.engine))];

/** hyperfine-style: which engines run which models too slowly, what it does to the speed-ups, what to do. */
export function fidelityWarning(data: ReportData): string | undefined {
  const parts = checkedEngines(data.fidelity).flatMap((engine) => {
    const slow = measuredChecks(data.fidelity, engine)
      .filter((c) => c.ratio > FIDELITY_WARNING_RATIO)
      .sort((a, b) => b.ratio - a.ratio);
    if (slow.length === 0) return [];
    const names = slow.slice(0, 5).map((c) => `${c.model} batch ${c.batch}: ${x(c.ratio)}`);
    return [`${engine} runs ${slow.length} of ${measuredChecks(data.fidelity, engine).length} checked networks more than ${Math.round((FIDELITY_WARNING_RATIO - 1) * 100)}% slower than its framework's idiomatic execution (${names.join('; ')}${slow.length > 5 ? '; …' : ''}), so speed-ups over ${engine} are inflated by that factor for those networks (up to ${x(slow[0]!.ratio)}).`];
  });
  if (parts.length === 0) return undefined;
  return `${parts.join(' ')} Read those speed-ups as upper bounds, divide them by the fidelity ratio shown beside them, or make the engine run as the framework's users do and measure again.`;
}

/** The sentence the average speed-up finding gains where fidelity checks exist: the baseline's mean and worst ratio. */
export function baselineFidelitySentence(data: ReportData): string {
  const measured = measuredChecks(data.fidelity, data.baseline);
  if (measured.length === 0) {
    const checked = checkedEngines(data.fidelity).filter((e) => e !== data.baseline);
    return ` No successful fidelity check of ${data.baseline} was stored${checked.length ? ` (only of ${checked.join(', ')})` : ''}, so how much of this is ${data.baseline}'s execution rather than its framework's is unknown.`;
  }
  const g = geometricMean(measured.map((c) => c.ratio));
  const worst = measured.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  const head = ` ${data.baseline}'s fidelity (its time over its framework's idiomatic execution, ${measured.length} check${measured.length === 1 ? '' : 's'}): geometric mean ${x(g)}, worst ${x(worst.ratio)} (${worst.model}, batch ${worst.batch})`;
  if (worst.ratio <= FIDELITY_WARNING_RATIO) return `${head}; all within ${FIDELITY_WARNING_RATIO.toFixed(2)}×.`;
  return `${head}; above ${FIDELITY_WARNING_RATIO.toFixed(2)}×, so speed-ups over ${data.baseline} are inflated by up to ${x(worst.ratio)} (${x(g)} on average).`;
}
