import type { LayerTiming } from './engine.js';

/**
 * Times of the units an engine profiled, gathered run by run. A unit's time is its mean over the
 * *typical* runs: those whose total lies in the interquartile range of the run totals. Choosing
 * whole runs keeps the decomposition additive (the units sum to the kept runs' mean total, which
 * is what they are compared with), while a run hit by a GC pause or a descheduled thread is left
 * out for every unit at once. A per-unit median would not add up: on a busy machine most units
 * dodge the interruptions that most runs suffer somewhere, and their medians summed fall far
 * short of a typical run. A unit missing from a run counts as 0 ms in it.
 */
export class UnitTimes {
  private readonly units = new Map<string, { unit: Omit<LayerTiming, 'ms'>; msByRun: Map<number, number> }>();
  private readonly totals = new Map<number, number>();

  add(run: number, unit: Omit<LayerTiming, 'ms'>, ms: number): void {
    this.totals.set(run, (this.totals.get(run) ?? 0) + ms);
    const u = this.units.get(unit.name) ?? { unit, msByRun: new Map<number, number>() };
    u.msByRun.set(run, (u.msByRun.get(run) ?? 0) + ms);
    this.units.set(unit.name, u);
  }

  /** The runs whose totals lie between the lower and upper quartile (all of them below 4 runs). */
  typicalRuns(): number[] {
    const runs = [...this.totals.keys()];
    if (runs.length < 4) return runs;
    const sorted = [...this.totals.values()].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.round(p * (sorted.length - 1))]!;
    const [lo, hi] = [q(0.25), q(0.75)];
    return runs.filter((r) => this.totals.get(r)! >= lo && this.totals.get(r)! <= hi);
  }

  /** One row per unit, in the order units first ran. */
  timings(): LayerTiming[] {
    const runs = this.typicalRuns();
    return [...this.units.values()].map(({ unit, msByRun }) => ({ ...unit, ms: runs.reduce((a, r) => a + (msByRun.get(r) ?? 0), 0) / runs.length }));
  }
}

/** How UnitTimes summarises, for the engines' `method` lines. */
export const UNIT_TIMES_SUMMARY = 'mean over the runs whose total lies in the interquartile range';
