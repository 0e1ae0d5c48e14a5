import { medianConfidenceInterval, median } from './stats.js';

/** How long and how precisely to time one trial. */
export interface TimingBudget {
  /** Stop once the 95% interval of the median is within ± this fraction of it (default 0.02). */
  targetCiRelative: number;
  /** Wall-clock budget for the timed runs, ms (default 10 s). */
  timedBudgetMs: number;
  /**
   * A trial whose interval is still wider than the target when `timedBudgetMs` is spent keeps
   * running until this cap, ms: noisy trials get more runs, quiet ones stop early. Absent: no extension.
   */
  maxTimedBudgetMs?: number;
  /** Wall-clock budget for warm-up, ms (default 3 s). */
  warmupBudgetMs: number;
  minRuns: number;
  maxRuns: number;
}

export const DEFAULT_BUDGET: TimingBudget = {
  targetCiRelative: 0.02,
  timedBudgetMs: 10_000,
  warmupBudgetMs: 3_000,
  minRuns: 10,
  maxRuns: 10_000,
};

export interface TimingResult {
  /** Every timed run, ms, in order. */
  samplesMs: number[];
  warmupRuns: number;
  /** Why timing stopped: the interval target met, the time budget (with its extension) spent, or the run cap reached. */
  stoppedBy: 'ci-target' | 'budget' | 'max-runs';
  /** Wall time of warm-up and timed runs together, ms. */
  wallMs: number;
}

/** Called just before the first timed run and just after the last (measure/lifecycle.ts), never inside the loop. */
export interface TimedRunsMarks {
  timedStart(): void;
  timedEnd(runs: number): void;
}

/** A monotonic clock in ms. The host's by default; a simulated engine (or a test) injects its own. */
export type ClockMs = () => number;

const hostClockMs: ClockMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Warm-up settles when the median of the last 5 runs is within 5% of the 5 before them. */
const WARMUP_WINDOW = 5;
const WARMUP_SETTLED = 0.05;

/**
 * The measurement protocol: warm up until latency settles (or the warm-up budget is spent), then
 * time `run` alone with the monotonic high-resolution clock until the median's confidence interval
 * is tight enough or the budget is spent. Nothing but `run` sits between the clock reads. An
 * engine in another process supplies its own clock (`engineClock`), read around the inference.
 */
export async function timeRuns(run: () => Promise<unknown>, budget: TimingBudget = DEFAULT_BUDGET, engineClock?: () => Promise<{ ms: number }>, nowMs: ClockMs = hostClockMs, marks?: TimedRunsMarks): Promise<TimingResult> {
  const start = nowMs();
  const warm: number[] = [];
  while (nowMs() - start < budget.warmupBudgetMs) {
    const t0 = nowMs();
    await run();
    warm.push(nowMs() - t0);
    if (warm.length >= 2 * WARMUP_WINDOW) {
      const last = median(warm.slice(-WARMUP_WINDOW));
      const before = median(warm.slice(-2 * WARMUP_WINDOW, -WARMUP_WINDOW));
      if (Math.abs(last - before) <= WARMUP_SETTLED * before) break;
    }
  }
  marks?.timedStart();
  const timedStart = nowMs();
  const samplesMs: number[] = [];
  let stoppedBy: TimingResult['stoppedBy'] = 'max-runs';
  // Decided once, off the timed loop: the host's clock is read as a bigint around `run` alone.
  const injectedClock = nowMs !== hostClockMs;
  while (samplesMs.length < budget.maxRuns) {
    if (engineClock) {
      samplesMs.push((await engineClock()).ms);
    } else if (injectedClock) {
      const t0 = nowMs();
      await run();
      samplesMs.push(nowMs() - t0);
    } else {
      const t0 = process.hrtime.bigint();
      await run();
      const t1 = process.hrtime.bigint();
      samplesMs.push(Number(t1 - t0) / 1e6);
    }
    if (samplesMs.length >= budget.minRuns) {
      // Checking the interval sorts the samples; every 5th run keeps that off the hot path.
      if (samplesMs.length % 5 === 0 && ciRelative(samplesMs) <= budget.targetCiRelative) {
        stoppedBy = 'ci-target';
        break;
      }
      if (nowMs() - timedStart >= timedLimitMs(budget)) {
        stoppedBy = 'budget';
        break;
      }
    }
  }
  marks?.timedEnd(samplesMs.length);
  return { samplesMs, warmupRuns: warm.length, stoppedBy, wallMs: nowMs() - start };
}

/** The longest the timed runs may take: the budget, or its cap where noisy trials are extended. */
export function timedLimitMs(budget: TimingBudget): number {
  return Math.max(budget.timedBudgetMs, budget.maxTimedBudgetMs ?? 0);
}

export function ciRelative(samples: number[]): number {
  const ci = medianConfidenceInterval(samples);
  return ci ? (ci[1] - ci[0]) / 2 / median(samples) : Infinity;
}

/** One timed inference of one side of a comparison, ms (the engine's own clock, or the host's around `run`). */
export type TimedArm = () => Promise<number>;

/** A timed arm from a run function, with the engine's own clock where it has one. */
export function timedArm(run: () => Promise<unknown>, engineClock?: () => Promise<{ ms: number }>): TimedArm {
  if (engineClock) return async () => (await engineClock()).ms;
  return async () => {
    const t0 = process.hrtime.bigint();
    await run();
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
}

/**
 * Times several arms interleaved, one run of each in turn (the order reversed every round, so a
 * drift in the machine's speed falls on every arm alike), after each has warmed up. Stops when
 * every arm's median interval is within the target, or when the budget is spent once each arm
 * has its minimum runs. Used where two ways of running one network are compared side by side.
 */
export async function timeInterleaved(arms: TimedArm[], budget: TimingBudget = DEFAULT_BUDGET, precise: (samplesMs: number[][]) => boolean = (s) => s.every((x) => ciRelative(x) <= budget.targetCiRelative), onWarm?: (firstRunMs: number) => void): Promise<{ samplesMs: number[][]; stoppedBy: TimingResult['stoppedBy']; wallMs: number }> {
  const start = hostClockMs();
  const warm: number[][] = arms.map(() => []);
  const settled = (w: number[]) => w.length >= 2 * WARMUP_WINDOW && Math.abs(median(w.slice(-WARMUP_WINDOW)) - median(w.slice(-2 * WARMUP_WINDOW, -WARMUP_WINDOW))) <= WARMUP_SETTLED * median(w.slice(-2 * WARMUP_WINDOW, -WARMUP_WINDOW));
  do {
    for (const [i, arm] of arms.entries()) warm[i]!.push(await arm());
    if (warm[0]!.length === 1) onWarm?.(warm.reduce((a, w) => a + w[0]!, 0));
  } while (hostClockMs() - start < budget.warmupBudgetMs && !warm.every(settled));
  const timedStart = hostClockMs();
  const samplesMs: number[][] = arms.map(() => []);
  let stoppedBy: TimingResult['stoppedBy'] = 'max-runs';
  for (let round = 0; samplesMs[0]!.length < budget.maxRuns; round++) {
    const order = round % 2 === 0 ? arms.map((_, i) => i) : arms.map((_, i) => arms.length - 1 - i);
    for (const i of order) samplesMs[i]!.push(await arms[i]!());
    const runs = samplesMs[0]!.length;
    if (runs < budget.minRuns) continue;
    if (runs % 5 === 0 && precise(samplesMs)) {
      stoppedBy = 'ci-target';
      break;
    }
    if (hostClockMs() - timedStart >= timedLimitMs(budget)) {
      stoppedBy = 'budget';
      break;
    }
  }
  return { samplesMs, stoppedBy, wallMs: hostClockMs() - start };
}
