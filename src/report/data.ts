import { UserError } from '../errors.js';
import { median, medianOf, speedup } from '../measure/index.js';
// From the schema, not the store's index: the report's arithmetic needs no DuckDB binding loaded.
import { modelIdentity } from '../store/schema.js';
import type { StoredFidelity, StoredScenario, StoredTrial } from '../store/index.js';
import { withBaselineFidelity } from './fidelity.js';
import { engineLabel } from './gpu.js';
import type { LatencyPoint, PointCounters, ReportData, SpeedupPoint } from './types.js';

/** The counters stored with a trial, if it counted any successfully. */
function pointCounters(row: StoredTrial): PointCounters | undefined {
  const c = row.counters;
  if (c?.status !== 'ok') return undefined;
  const geometry = c.geometry ? `${c.geometry.name ?? 'custom'}${c.geometry.ll ? `, ${(c.geometry.ll.sizeBytes / 2 ** 20).toFixed(c.geometry.ll.sizeBytes % 2 ** 20 ? 2 : 0)} MiB last-level cache` : ''}` : undefined;
  return { simulated: c.simulated === true, ...(geometry ? { geometry } : {}), llcMisses: c.llcMissesPerInference ?? null, instructions: c.instructionsPerInference ?? null, branchMisses: c.branchMissesPerInference ?? null };
}

/** Half-width of the median's 95% interval, relative to it, above which a trial is called noisy. */
export const NOISY_CI = 0.1;

export function isNoisy(r: StoredTrial): boolean {
  if (r.status !== 'ok' || r.medianMs === null) return false;
  if (r.ciLowMs === null || r.ciHighMs === null) return true;
  return (r.ciHighMs - r.ciLowMs) / 2 / r.medianMs > NOISY_CI;
}

/**
 * Turns stored rows into what the figures plot. Only one machine's rows are compared (the most
 * recent fingerprint); failed and mismatched trials are listed in the report but never plotted.
 * A baseline the user named (`report --baseline`) must have results; a study's own baseline may
 * have failed everywhere, and its report then lists the failures without speed-ups.
 */
export function reportData(all: StoredTrial[], baseline?: string, fidelity: StoredFidelity[] = [], options: { baselineRequired?: boolean; scenarios?: StoredScenario[] } = {}): ReportData {
  const latest = latestRow([...all, ...(options.scenarios ?? [])]);
  const rows = all.filter((r) => r.fingerprint === latest.fingerprint);
  const points = mergeRepetitions(rows.filter((r) => r.status === 'ok' && r.medianMs !== null));
  const base = baseline ?? points.find((p) => p.role === 'native')?.engine ?? points[0]?.engine ?? '';
  if (options.baselineRequired && baseline !== undefined && !points.some((p) => p.engine === baseline)) {
    const engines = [...new Set(points.map((p) => p.engine))];
    throw new UserError(
      `no successful trial of '${baseline}' to take as the baseline`,
      engines.length ? `choose one of the engines with results: ${engines.join(', ')}` : 'this store has no successful trial yet; run the study first',
    );
  }
  const checks = fidelity.filter((f) => f.fingerprint === latest.fingerprint);
  // A software GPU's times are the CPU's: it never has a speed-up, whatever it is compared with.
  const speedups = withBaselineFidelity(speedupsOver(points.filter((p) => !p.gpu?.software), base), checks, base);
  const scenarios = (options.scenarios ?? []).filter((s) => s.fingerprint === latest.fingerprint);
  return { study: latest.study, fingerprint: latest.fingerprint, baseline: base, rows, points, speedups, otherMachineRows: all.length - rows.length, noisy: rows.filter(isNoisy), fidelity: checks, scenarios };
}

/** The machine a report describes: the one that finished a trial (or a scenario run) last. */
export function reportFingerprint(all: Row[]): string {
  return latestRow(all).fingerprint;
}

type Row = Pick<StoredTrial, 'fingerprint' | 'study' | 'finishedAt'>;

function latestRow(all: Row[]): Row {
  if (all.length === 0) throw new Error('no rows to report');
  return [...all].sort((a, b) => a.finishedAt.localeCompare(b.finishedAt)).at(-1)!;
}

/** One point per model, batch and engine label: repetitions merged. */
export function mergeRepetitions(rows: StoredTrial[]): LatencyPoint[] {
  const groups = new Map<string, StoredTrial[]>();
  for (const r of rows) {
    // By label: the same engine on a software and on a hardware adapter is two lines, never one.
    const k = `${r.model}|${r.batch}|${engineLabel(r)}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const r = g[0]!;
    const lows = g.map((x) => x.ciLowMs).filter((v): v is number => v !== null);
    const highs = g.map((x) => x.ciHighMs).filter((v): v is number => v !== null);
    return {
      ...modelIdentity(r),
      batch: r.batch,
      engine: engineLabel(r),
      role: r.engineRole,
      ...(r.gpuAdapter ? { gpu: r.gpuAdapter } : {}),
      precision: r.precision,
      // Repetitions in separate workers: the median of their medians, the widest interval.
      medianMs: median(g.map((x) => x.medianMs!)),
      ciLowMs: lows.length === g.length ? Math.min(...lows) : null,
      ciHighMs: highs.length === g.length ? Math.max(...highs) : null,
      macs: r.macs,
      ...(pointCounters(r) ? { counters: pointCounters(r)! } : {}),
      trialKeys: g.map((x) => x.trialKey),
    };
  });
}

/** Every point's speed-up over the baseline engine at the same model and batch. */
export function speedupsOver(points: LatencyPoint[], baseline: string): SpeedupPoint[] {
  const base = new Map(points.filter((p) => p.engine === baseline).map((p) => [`${p.model}|${p.batch}`, p]));
  return points.flatMap((p) => {
    const b = base.get(`${p.model}|${p.batch}`);
    if (!b || p.engine === baseline) return [];
    const s = speedup(medianOf(b), medianOf(p));
    return [
      {
        model: p.model,
        kind: p.kind,
        pattern: p.pattern,
        depth: p.depth,
        width: p.width,
        resolution: p.resolution,
        batch: p.batch,
        engine: p.engine,
        baseline,
        speedup: s.ratio,
        low: s.interval?.[0] ?? null,
        high: s.interval?.[1] ?? null,
        trialKeys: [...b.trialKeys, ...p.trialKeys],
      },
    ];
  });
}

/**
 * The pattern points of a depth series: the (width, resolution) with the most distinct depths,
 * so that a study mixing a depth sweep and a width sweep plots each against its own axis.
 */
export function depthSeries(points: LatencyPoint[]): LatencyPoint[] {
  return largestSeries(points, (p) => `${p.width}|${p.resolution}`, (p) => p.depth!);
}

/** The pattern points of a width series at one batch: the (depth, resolution) with the most widths. */
export function widthSeries(points: LatencyPoint[]): LatencyPoint[] {
  const batch = Math.min(...points.filter((p) => p.kind === 'pattern').map((p) => p.batch));
  return largestSeries(points.filter((p) => p.batch === batch), (p) => `${p.depth}|${p.resolution}`, (p) => p.width!);
}

function largestSeries<T extends { kind: string }>(points: T[], group: (p: T) => string, axis: (p: T) => number): T[] {
  const groups = new Map<string, T[]>();
  for (const p of points.filter((x) => x.kind === 'pattern')) groups.set(group(p), [...(groups.get(group(p)) ?? []), p]);
  let best: T[] = [];
  let bestCount = 1;
  for (const g of groups.values()) {
    const count = new Set(g.map(axis)).size;
    if (count > bestCount) {
      best = g;
      bestCount = count;
    }
  }
  return best;
}
