/**
 * `formbench advise`: under a latency budget, the widest and the deepest network of each design
 * pattern predicted to meet it on an engine, with MACs and parameters as its capacity, and which
 * pattern buys the most capacity on the accelerated engine and on the native one. Predictions
 * choose; the top candidates are then measured with the bench protocol, which confirms or not.
 */
import { INPUT_SEED, defaultReference, runBench, type TrialRecord } from '../measure/index.js';
import { buildPatternNetwork, DEFAULT_KNOBS, DEFAULT_RESOLUTION, formatPatternSpec, PATTERNS, type Pattern } from '../zoo/index.js';
import { predictGraph, type EngineLatencyModel } from './model.js';
import type { LoadedModel } from './predict.js';
import { VALIDATE_BUDGET } from './validate.js';

export const ADVISE_WIDTHS = [8, 16, 32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 512] as const;
export const ADVISE_MAX_DEPTH = 60;

export interface Candidate {
  spec: string;
  pattern: Pattern;
  depth: number;
  width: number;
  predictedMs: number;
  macs: number;
  params: number;
}

export interface PatternAdvice {
  pattern: Pattern;
  /** The widest network meeting the budget (its deepest depth at that width). */
  widest?: Candidate;
  /** The deepest network meeting the budget (the widest width at that depth). */
  deepest?: Candidate;
  /** The candidate with the most MACs: what is re-measured. */
  mostCapacity?: Candidate;
}

export interface Advice {
  engine: string;
  budgetMs: number;
  batch: number;
  resolution: number;
  patterns: PatternAdvice[];
  /** The pattern with the most MACs under the budget, by each engine's predictions. */
  bestPattern: { engine: string; pattern?: Pattern; macs?: number }[];
  measured: { candidate: Candidate; trial: TrialRecord; met: boolean | undefined }[];
}

function specOf(pattern: Pattern, depth: number, width: number, resolution: number): string {
  return formatPatternSpec({ pattern, depth, width, resolution, knobs: DEFAULT_KNOBS });
}

function widthFits(pattern: Pattern, width: number): boolean {
  if (pattern === 'grouped') return width % DEFAULT_KNOBS.groupWidth === 0;
  if (pattern === 'bottleneck') return width % DEFAULT_KNOBS.reduction === 0;
  return true;
}

function candidate(model: EngineLatencyModel, pattern: Pattern, depth: number, width: number, resolution: number, batch: number): Candidate {
  const spec = specOf(pattern, depth, width, resolution);
  const p = predictGraph(model, buildPatternNetwork({ pattern, depth, width, resolution, knobs: DEFAULT_KNOBS }).graph, batch);
  return { spec, pattern, depth, width, predictedMs: p.latencyMs, macs: p.macs, params: p.params };
}

/** Per width, the deepest depth predicted within the budget (latency grows with depth: a binary search). */
export function frontier(model: EngineLatencyModel, pattern: Pattern, budgetMs: number, batch: number, resolution: number): Candidate[] {
  const out: Candidate[] = [];
  for (const width of ADVISE_WIDTHS.filter((w) => widthFits(pattern, w))) {
    let best = candidate(model, pattern, 1, width, resolution, batch);
    if (best.predictedMs > budgetMs) continue;
    let lo = 1;
    let hi = ADVISE_MAX_DEPTH;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const c = candidate(model, pattern, mid, width, resolution, batch);
      if (c.predictedMs <= budgetMs) {
        lo = mid;
        best = c;
      } else hi = mid - 1;
    }
    out.push(best);
  }
  return out;
}

export function patternAdvice(model: EngineLatencyModel, budgetMs: number, batch: number, resolution: number): PatternAdvice[] {
  return PATTERNS.map((pattern) => {
    const f = frontier(model, pattern, budgetMs, batch, resolution);
    if (f.length === 0) return { pattern };
    const widest = f[f.length - 1]!;
    const deepest = [...f].sort((a, b) => b.depth - a.depth || b.width - a.width)[0]!;
    const mostCapacity = [...f].sort((a, b) => b.macs - a.macs)[0]!;
    return { pattern, widest, deepest, mostCapacity };
  });
}

export async function advise(engine: LoadedModel, native: LoadedModel | undefined, o: { budgetMs: number; batch: number; resolution?: number; onTrial?: (t: TrialRecord, done: number, total: number) => void }): Promise<Advice> {
  const resolution = o.resolution ?? DEFAULT_RESOLUTION;
  const patterns = patternAdvice(engine.model, o.budgetMs, o.batch, resolution);
  const best = (advice: PatternAdvice[]) => [...advice].filter((a) => a.mostCapacity).sort((a, b) => b.mostCapacity!.macs - a.mostCapacity!.macs)[0];
  const bestPattern = [{ engine: engine.choice.label, ...pick(best(patterns)) }];
  if (native && native.choice.label !== engine.choice.label) bestPattern.push({ engine: native.choice.label, ...pick(best(patternAdvice(native.model, o.budgetMs, o.batch, resolution))) });
  const candidates = patterns.flatMap((a) => (a.mostCapacity ? [a.mostCapacity] : []));
  const measured: Advice['measured'] = [];
  if (candidates.length) {
    const result = await runBench({ specs: candidates.map((c) => c.spec), engines: [engine.choice], batches: [o.batch], baseline: engine.choice, reference: defaultReference(), budget: VALIDATE_BUDGET, inputSeed: INPUT_SEED }, o.onTrial);
    for (const c of candidates) {
      const trial = result.trials.find((t) => t.model === c.spec && t.engine === engine.choice.label);
      if (trial) measured.push({ candidate: c, trial, met: trial.summary ? trial.summary.medianMs <= o.budgetMs : undefined });
    }
  }
  return { engine: engine.choice.label, budgetMs: o.budgetMs, batch: o.batch, resolution, patterns, bestPattern, measured };
}

function pick(a: PatternAdvice | undefined): { pattern?: Pattern; macs?: number } {
  return a?.mostCapacity ? { pattern: a.pattern, macs: a.mostCapacity.macs } : {};
}
