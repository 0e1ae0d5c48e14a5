import { frequencyDrop, leakSuspected, throttled, type TrialRecord } from '../measure/index.js';
import { formatBytes } from './format.js';
import { engineCell } from './print-gpu.js';

/**
 * How `bench` shows a trial's lifecycle: load, first inference and the steady-state median kept
 * apart, the worker tree's peak memory and its growth over the timed runs, CPU time against wall
 * time, the CPU frequency before and after, and the package energy. A figure the OS does not give
 * is said to be unsupported, never printed as 0.
 */

const mib = (bytes: number): string => `${Math.round(bytes / 2 ** 20)} MiB`;
const signedBytes = (bytes: number): string => `${bytes < 0 ? '−' : '+'}${formatBytes(Math.abs(bytes))}`;

/** What the progress line adds for a measured trial: its first inference and CPU ÷ wall. */
export function progressLifecycle(t: TrialRecord): string {
  const parts = [
    t.firstRunMs !== undefined ? `first inference ${t.firstRunMs.toFixed(1)} ms` : undefined,
    t.lifecycle?.cpuPerWall !== undefined ? `CPU/wall ${t.lifecycle.cpuPerWall.toFixed(2)}` : undefined,
  ].filter((p): p is string => p !== undefined);
  return parts.length ? `, ${parts.join(', ')}` : '';
}

/** One line per measured trial, after the tables. */
export function lifecycleLines(trials: TrialRecord[]): string[] {
  return trials.filter((t) => t.summary).map((t) => `Lifecycle: ${t.model} ${engineCell(t)} batch ${t.batch}: ${lifecycleParts(t).join(', ')}`);
}

function lifecycleParts(t: TrialRecord): string[] {
  const l = t.lifecycle;
  const median = t.summary!.medianMs;
  const cold = t.firstRunMs !== undefined ? `, first ÷ median ${(t.firstRunMs / median).toFixed(1)}×` : '';
  return [
    `load ${t.loadMs !== undefined ? `${t.loadMs.toFixed(0)} ms` : 'unknown'}`,
    `first inference ${t.firstRunMs !== undefined ? `${t.firstRunMs.toFixed(1)} ms` : 'unknown'}`,
    `steady median ${median.toFixed(3)} ms${cold}`,
    `peak RSS ${t.peakRssBytes !== undefined ? mib(t.peakRssBytes) : 'unsupported'}${t.estimatedPeakBytes !== undefined && t.peakRssBytes !== undefined ? ` (estimated ${mib(t.estimatedPeakBytes)})` : ''}`,
    `RSS growth ${l?.rssGrowthBytes !== undefined ? `${signedBytes(l.rssGrowthBytes)} over the timed runs${leakSuspected(l.rssStartBytes, l.rssGrowthBytes) ? ' (LEAK?)' : ''}` : 'unsupported'}`,
    `CPU÷wall ${l?.cpuPerWall !== undefined ? l.cpuPerWall.toFixed(2) : l ? `unknown (timed runs ${l.timedWallMs.toFixed(0)} ms, too short to divide)` : 'unknown'}`,
    `CPU ${l?.cpuMhzBefore !== undefined ? `${l.cpuMhzBefore.toFixed(0)}→${l.cpuMhzAfter!.toFixed(0)} MHz (${l.cpuMhzSource})${throttled(l.cpuMhzBefore, l.cpuMhzAfter) ? ' THROTTLED' : ''}` : 'frequency unsupported'}`,
    `energy ${!l ? 'unknown' : 'joulesPerInference' in l.energy ? `${l.energy.joulesPerInference.toPrecision(3)} J/inference` : `unsupported (${l.energy.unsupported})`}`,
  ];
}

/** Warnings that say what to do: a growing worker (a leak), a CPU slowing down (throttling). */
export function lifecycleWarnings(trials: TrialRecord[]): string[] {
  const warnings: string[] = [];
  for (const t of trials) {
    const l = t.lifecycle;
    if (!l) continue;
    const what = `${t.model} ${t.engine} batch ${t.batch}`;
    if (leakSuspected(l.rssStartBytes, l.rssGrowthBytes)) {
      warnings.push(`Warning: ${what}: resident memory grew by ${formatBytes(l.rssGrowthBytes!)} (from ${formatBytes(l.rssStartBytes!)}) over the timed runs, after warm-up: the engine may leak; a longer --budget-s shows whether it keeps growing.`);
    }
    if (throttled(l.cpuMhzBefore, l.cpuMhzAfter)) {
      warnings.push(`Warning: ${what}: the CPU frequency dropped ${(100 * frequencyDrop(l.cpuMhzBefore, l.cpuMhzAfter)!).toFixed(0)}% (${l.cpuMhzBefore!.toFixed(0)} → ${l.cpuMhzAfter!.toFixed(0)} MHz) during the timed runs: the machine throttled, so later trials ran slower; let it cool down or fix its power settings and re-run.`);
    }
  }
  return warnings;
}

/** The lifecycle as `bench --json` gives it; a figure the OS does not give is absent, energy's with the reason. */
export function lifecycleJson(t: TrialRecord): Record<string, unknown> {
  const l = t.lifecycle;
  if (!l) return {};
  return {
    lifecycle: {
      timedWallMs: l.timedWallMs,
      cpuMs: l.cpuMs,
      cpuPerWall: l.cpuPerWall,
      rssStartBytes: l.rssStartBytes,
      rssGrowthBytes: l.rssGrowthBytes,
      leakSuspected: leakSuspected(l.rssStartBytes, l.rssGrowthBytes),
      cpuMhzBefore: l.cpuMhzBefore,
      cpuMhzAfter: l.cpuMhzAfter,
      cpuMhzSource: l.cpuMhzSource,
      throttled: throttled(l.cpuMhzBefore, l.cpuMhzAfter),
      ...('joulesPerInference' in l.energy ? { energyJoulesPerInference: l.energy.joulesPerInference, energyJoules: l.energy.joules } : { energyUnsupported: l.energy.unsupported }),
    },
  };
}
