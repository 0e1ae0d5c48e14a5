/**
 * Each trial's lifecycle as the report shows it: load, first inference and the steady-state median
 * apart, the worker tree's peak memory beside the estimate, its growth over the timed runs, CPU time
 * against wall time, the CPU frequency before and after, and the package energy per inference.
 * An empty cell is a figure the machine did not offer (or a store older than the column), never 0;
 * the energy column says why it is empty.
 */
import { frequencyDrop, leakSuspected, throttled } from '../measure/lifecycle.js';
import type { StoredTrial } from '../store/index.js';
import { engineLabel } from './gpu.js';
import type { Table } from './types.js';

const fmt = (v: number | null, digits = 3): number | null => (v === null ? null : Number(v.toPrecision(digits)));
const mib = (bytes: number | null): number | null => (bytes === null ? null : Math.round(bytes / 2 ** 20));

export function lifecycleTable(rows: StoredTrial[]): Table {
  return {
    columns: ['model', 'batch', 'engine', 'load ms', 'first-run ms', 'median ms', 'first ÷ median', 'peak RSS MiB', 'estimated peak MiB', 'RSS growth MiB', 'leak?', 'CPU ÷ wall', 'MHz before', 'MHz after', 'MHz from', 'throttled?', 'J per inference', 'energy'],
    rows: rows
      .filter((r) => r.status !== 'failed')
      .map((r) => [
        r.model,
        r.batch,
        engineLabel(r),
        fmt(r.loadMs),
        fmt(r.firstRunMs),
        fmt(r.medianMs),
        r.firstRunMs !== null && r.medianMs ? fmt(r.firstRunMs / r.medianMs) : null,
        mib(r.peakRssBytes),
        mib(r.estimatedPeakBytes),
        r.rssGrowthBytes === null ? null : fmt(r.rssGrowthBytes / 2 ** 20),
        r.rssGrowthBytes === null ? null : leakSuspected(r.rssStartBytes, r.rssGrowthBytes) ? 'yes' : 'no',
        fmt(r.cpuPerWall),
        fmt(r.cpuMhzBefore, 4),
        fmt(r.cpuMhzAfter, 4),
        r.cpuMhzSource,
        r.cpuMhzBefore === null ? null : throttled(r.cpuMhzBefore, r.cpuMhzAfter) ? 'yes' : 'no',
        fmt(r.energyJoulesPerInference),
        r.energyJoulesPerInference !== null ? 'RAPL package' : r.energyUnsupported ? `unsupported: ${r.energyUnsupported}` : null,
      ]),
  };
}

/** Whether any stored trial has a lifecycle figure (stores older than the columns have none). */
export const hasLifecycle = (rows: StoredTrial[]): boolean => rows.some((r) => r.cpuMs !== null || r.peakRssBytes !== null || r.firstRunMs !== null);

/** One warning per kind, naming the trials: memory that grew over the timed runs, a CPU that slowed down. */
export function lifecycleWarnings(rows: StoredTrial[]): string[] {
  const name = (r: StoredTrial) => `${r.model} batch ${r.batch} on ${engineLabel(r)}`;
  const list = (rs: StoredTrial[], what: (r: StoredTrial) => string) => `${rs.slice(0, 5).map((r) => `${name(r)} (${what(r)})`).join('; ')}${rs.length > 5 ? '; …' : ''}`;
  const leaks = rows.filter((r) => leakSuspected(r.rssStartBytes, r.rssGrowthBytes));
  const slowed = rows.filter((r) => throttled(r.cpuMhzBefore, r.cpuMhzAfter));
  const warnings: string[] = [];
  if (leaks.length) warnings.push(`${leaks.length} trial(s) grew their resident memory by more than 10% and 32 MiB over the timed runs, after warm-up: ${list(leaks, (r) => `+${Math.round(r.rssGrowthBytes! / 2 ** 20)} MiB`)}. The engine may leak; a longer budget shows whether it keeps growing.`);
  if (slowed.length) warnings.push(`the CPU frequency dropped by more than 10% during ${slowed.length} trial(s): ${list(slowed, (r) => `${(100 * frequencyDrop(r.cpuMhzBefore, r.cpuMhzAfter)!).toFixed(0)}%`)}. The machine throttled, so these and later trials ran slower; let it cool down or fix its power settings and re-run them.`);
  return warnings;
}
