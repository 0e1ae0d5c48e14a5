/**
 * The seed paper's claims beside this machine's: each published claim of Abbasi et al., "Does Form
 * Follow Function?" (TinyML 2021), checked against the stored trials by a stated rule, with the
 * paper's number, the measured one and the trials behind the verdict. A claim the store cannot
 * decide is 'not measured', never guessed.
 */
import { geometricMean, spearman } from '../measure/index.js';
import { depthSeries, speedupsOver, widthSeries } from './data.js';
import type { LatencyPoint, ReportData, SpeedupPoint, Table } from './types.js';

export type ClaimVerdict = 'reproduced' | 'not reproduced' | 'not measured';

export interface PaperClaim {
  /** A stable name: `average-speedup`, `depthwise-bottleneck-gains-most`, … */
  id: string;
  /** The claim as the paper makes it. */
  claim: string;
  /** The paper's number or statement. */
  paper: string;
  /** The paper's number, where it gives one. */
  paperValue: number | null;
  /** This machine's headline number, formatted; null where not measured. */
  measured: string | null;
  measuredValue: number | null;
  /** What was found or what is missing, with the numbers behind the verdict. */
  detail: string;
  verdict: ClaimVerdict;
  /** One sentence: how the verdict is decided. */
  rule: string;
  trialKeys: string[];
}

/** The native framework and the accelerated engine the claims compare, both at FP32. */
interface Context {
  native: string;
  accelerated: string;
  points: LatencyPoint[];
  /** The accelerated engine's speed-ups over the native framework. */
  speedups: SpeedupPoint[];
}

const x = (v: number) => `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}×`;
const signed = (v: number) => (v < 0 ? `−${Math.abs(v).toFixed(2)}` : v.toFixed(2));
const keysOf = (items: { trialKeys: string[] }[]) => [...new Set(items.flatMap((i) => i.trialKeys))];
/** A network's name without resolution or seed: `darts/r160` is DARTS. */
const networkName = (model: string) => model.split('/')[0]!;

function groupBy<T, K>(items: T[], key: (t: T) => K | null): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const i of items) {
    const k = key(i);
    if (k !== null) m.set(k, [...(m.get(k) ?? []), i]);
  }
  return m;
}

const PAPER_AVERAGE_SPEEDUP = 3.8;
/** Claim 1 is reproduced within this factor of the paper's average, either way. */
const AVERAGE_TOLERANCE_FACTOR = 2;
const SQRT_PATTERNS = ['standard', 'factorized', 'bottleneck'];
const LINEAR_PATTERNS = ['depthwise-separable', 'depthwise-bottleneck', 'grouped'];
/** A width slope matches the paper's (0.5 or 1) within this. */
const SLOPE_TOLERANCE = 0.25;
/** Per-image latency that moves less than this from batch 1 to the largest batch is flat; more upwards, it grows. */
export const FLAT_TOLERANCE = 0.15;

interface Definition {
  id: string;
  claim: string;
  paper: string;
  paperValue: number | null;
  rule: (native: string, accelerated: string) => string;
  check: (c: Context) => Omit<PaperClaim, 'id' | 'claim' | 'paper' | 'paperValue' | 'rule'>;
}

const notMeasured = (detail: string) => ({ verdict: 'not measured' as const, measured: null, measuredValue: null, detail, trialKeys: [] });

const CLAIMS: Definition[] = [
  {
    id: 'average-speedup',
    claim: 'Hardware-specific acceleration averages 3.8× over the native framework',
    paper: '3.8×',
    paperValue: PAPER_AVERAGE_SPEEDUP,
    rule: (n, a) =>
      `Geometric mean of ${a}'s FP32 speed-ups over ${n} across every pattern network and batch measured; reproduced if it lies within a factor ${AVERAGE_TOLERANCE_FACTOR} of the paper's ${PAPER_AVERAGE_SPEEDUP}× (${x(PAPER_AVERAGE_SPEEDUP / AVERAGE_TOLERANCE_FACTOR)}–${x(PAPER_AVERAGE_SPEEDUP * AVERAGE_TOLERANCE_FACTOR)}, so also a clear gain of at least 1.5×).`,
    check: averageSpeedup,
  },
  {
    id: 'depthwise-bottleneck-gains-most',
    claim: 'The depthwise bottleneck pattern gains most from acceleration',
    paper: '5.5×',
    paperValue: 5.5,
    rule: (n, a) => `Geometric mean of ${a}'s speed-up over ${n} per design pattern (every depth, width and batch measured); reproduced if depthwise-bottleneck's is the highest of the patterns measured (at least two).`,
    check: depthwiseBottleneckGainsMost,
  },
  {
    id: 'gain-grows-with-depth',
    claim: 'The gain from acceleration grows with depth for every pattern',
    paper: 'every pattern',
    paperValue: null,
    rule: (n, a) => `Per pattern over the depth series, Spearman's ρ between depth and ${a}'s speed-up over ${n} (geometric mean over the batches at each depth); reproduced if ρ > 0 for every pattern measured at 3 or more depths (a constant speed-up has no ρ and counts as not growing).`,
    check: gainGrowsWithDepth,
  },
  {
    id: 'batch-per-image-latency',
    claim: "The native framework's per-image latency grows with batch size while the accelerated engine's stays flat",
    paper: 'native grows, accelerated flat',
    paperValue: null,
    rule: (n, a) =>
      `Per-image latency (median ÷ batch) at the largest batch over that at batch 1, geometric mean over the models both engines measured at both; reproduced if ${n}'s grows by more than ${FLAT_TOLERANCE * 100}% while ${a}'s stays within ±${FLAT_TOLERANCE * 100}%.`,
    check: batchPerImageLatency,
  },
  {
    id: 'latency-vs-width',
    claim: 'Latency of standard, factorized and bottleneck networks grows like √width; that of depthwise-separable, depthwise-bottleneck and grouped near-linearly',
    paper: 'slope ≈ 0.5 vs ≈ 1',
    paperValue: null,
    rule: (n, a) =>
      `Least-squares slope of log latency against log width per pattern on ${n} and on ${a}, over a width series of 3 or more widths; reproduced if every slope is within ±${SLOPE_TOLERANCE} of the paper's (0.5 for ${SQRT_PATTERNS.join(', ')}; 1 for ${LINEAR_PATTERNS.join(', ')}) and both groups were measured.`,
    check: latencyVsWidth,
  },
  {
    id: 'darts-gains-most',
    claim: 'DARTS gains most among the networks',
    paper: '12×',
    paperValue: 12,
    rule: (n, a) => `Speed-up of ${a} over ${n} for each reference network at batch 1; reproduced if DARTS's is the highest of the networks measured (at least two).`,
    check: dartsGainsMost,
  },
  {
    id: 'mobilenet-v2-fastest',
    claim: 'MobileNetV2 has the lowest latency of the networks',
    paper: '2.4 ms (i5-7600K)',
    paperValue: 2.4,
    rule: (_n, a) => `Median latency on ${a} of each reference network at batch 1; reproduced if MobileNetV2's is the lowest of the networks measured (at least two); the paper's 2.4 ms is another machine's, shown beside it but not compared.`,
    check: mobilenetFastest,
  },
];

/** Every claim of the seed paper with its verdict on this machine's stored trials, in the paper's order. */
export function paperClaims(data: ReportData): PaperClaim[] {
  // The claims are about single-stream latency: a store of scenario runs only (the throughput
  // preset) has its own finding, and nothing here to set against the paper.
  if (data.rows.length === 0) return [];
  // A software GPU (a Vulkan implementation on the CPU) is never acceleration of any kind.
  const points = data.points.filter((p) => !p.gpu?.software);
  const native = pickEngine(points, 'native', data.baseline);
  const accelerated = pickEngine(points, 'accelerated');
  const compared = points.filter((p) => p.engine === native || p.engine === accelerated);
  const context: Context | undefined = native && accelerated ? { native, accelerated, points: compared, speedups: speedupsOver(compared, native) } : undefined;
  return CLAIMS.map((d) => ({
    id: d.id,
    claim: d.claim,
    paper: d.paper,
    paperValue: d.paperValue,
    rule: d.rule(native ?? 'the native framework', accelerated ?? 'the accelerated engine'),
    ...(context ? d.check(context) : notMeasured(`no ${native ? 'accelerated engine' : 'native framework'} was measured at FP32`)),
  }));
}

/**
 * The engine of a role the claims use: the preferred one (the report's baseline) if it has that
 * role, else the engine with default options (`ort`, not `ort:opt=disabled`), then the one with
 * the most measured points.
 */
function pickEngine(points: LatencyPoint[], role: string, preferred?: string): string | undefined {
  const counts = new Map<string, number>();
  for (const p of points) if (p.role === role && p.precision === 'fp32') counts.set(p.engine, (counts.get(p.engine) ?? 0) + 1);
  if (preferred !== undefined && counts.has(preferred)) return preferred;
  return [...counts].sort(([a, na], [b, nb]) => Number(a.includes(':')) - Number(b.includes(':')) || nb - na)[0]?.[0];
}

function averageSpeedup(c: Context): ReturnType<Definition['check']> {
  const s = c.speedups.filter((p) => p.kind === 'pattern');
  if (s.length === 0) return notMeasured(`no pattern network was measured on both ${c.accelerated} and ${c.native}`);
  const g = geometricMean(s.map((p) => p.speedup));
  const within = g >= PAPER_AVERAGE_SPEEDUP / AVERAGE_TOLERANCE_FACTOR && g <= PAPER_AVERAGE_SPEEDUP * AVERAGE_TOLERANCE_FACTOR && g >= 1.5;
  return {
    verdict: within ? 'reproduced' : 'not reproduced',
    measured: x(g),
    measuredValue: g,
    detail: `${c.accelerated} over ${c.native}, geometric mean of ${s.length} pattern model × batch pairs, ${x(g / PAPER_AVERAGE_SPEEDUP)} the paper's average.`,
    trialKeys: keysOf(s),
  };
}

function patternGains(c: Context): { pattern: string; g: number; s: SpeedupPoint[] }[] {
  return [...groupBy(c.speedups.filter((p) => p.kind === 'pattern'), (p) => p.pattern)].map(([pattern, s]) => ({ pattern, g: geometricMean(s.map((p) => p.speedup)), s })).sort((a, b) => b.g - a.g);
}

function depthwiseBottleneckGainsMost(c: Context): ReturnType<Definition['check']> {
  const ranked = patternGains(c);
  const db = ranked.find((r) => r.pattern === 'depthwise-bottleneck');
  if (!db || ranked.length < 2) return notMeasured(db ? 'only depthwise-bottleneck was measured: nothing to compare it with' : `depthwise-bottleneck was not measured on both ${c.accelerated} and ${c.native}`);
  const best = ranked[0]!;
  return {
    verdict: best === db ? 'reproduced' : 'not reproduced',
    measured: `${x(db.g)}${best === db ? ', the highest' : `; ${best.pattern} gains most (${x(best.g)})`}`,
    measuredValue: db.g,
    detail: `${ranked.length} of 6 patterns measured: ${ranked.map((r) => `${r.pattern} ${x(r.g)}`).join(', ')}.`,
    trialKeys: keysOf(best === db ? ranked.flatMap((r) => r.s) : [...db.s, ...best.s]),
  };
}

function gainGrowsWithDepth(c: Context): ReturnType<Definition['check']> {
  const series = new Set(depthSeries(c.points).map((p) => p.model));
  const byPattern = groupBy(c.speedups.filter((s) => series.has(s.model)), (s) => s.pattern);
  const fits = [...byPattern].flatMap(([pattern, s]) => {
    const perDepth = [...groupBy(s, (p) => p.depth)].map(([depth, g]) => ({ depth, gain: geometricMean(g.map((p) => p.speedup)) }));
    if (perDepth.length < 3) return [];
    const rho = spearman(perDepth.map((d) => d.depth), perDepth.map((d) => d.gain));
    return [{ pattern, rho, s }];
  });
  if (fits.length === 0) return notMeasured('no pattern was measured at 3 or more depths on both engines');
  const exceptions = fits.filter((f) => f.rho === undefined || f.rho <= 0);
  const rhoText = (f: (typeof fits)[number]) => `${f.pattern} ${f.rho === undefined ? 'constant' : `ρ = ${signed(f.rho)}`}`;
  const lowest = Math.min(...fits.map((f) => f.rho ?? 0));
  return {
    verdict: exceptions.length === 0 ? 'reproduced' : 'not reproduced',
    measured: `${fits.length - exceptions.length} of ${fits.length} patterns`,
    measuredValue: lowest,
    detail: [exceptions.length ? `Exceptions: ${exceptions.map(rhoText).join(', ')}.` : '', exceptions.length < fits.length ? `Growing: ${fits.filter((f) => !exceptions.includes(f)).map(rhoText).join(', ')}.` : ''].filter(Boolean).join(' '),
    trialKeys: keysOf(fits.flatMap((f) => f.s)),
  };
}

/** Per-image latency at the largest batch over batch 1, per model, on each engine. */
function batchPerImageLatency(c: Context): ReturnType<Definition['check']> {
  const at = new Map(c.points.map((p) => [`${p.model}|${p.batch}|${p.engine}`, p]));
  const pairs = [...groupBy(c.points, (p) => p.model)].flatMap(([model, ps]) => {
    const both = (b: number) => at.has(`${model}|${b}|${c.native}`) && at.has(`${model}|${b}|${c.accelerated}`);
    const largest = Math.max(...ps.map((p) => p.batch).filter((b) => b > 1 && both(b)));
    if (!both(1) || !Number.isFinite(largest)) return [];
    const growth = (engine: string) => ({ first: at.get(`${model}|1|${engine}`)!, last: at.get(`${model}|${largest}|${engine}`)! });
    return [{ model, batch: largest, native: growth(c.native), accelerated: growth(c.accelerated) }];
  });
  if (pairs.length === 0) return notMeasured('no model was measured at batch 1 and a larger batch on both engines');
  const ratio = (e: { first: LatencyPoint; last: LatencyPoint }) => e.last.medianMs / e.last.batch / e.first.medianMs;
  const nativeGrowth = geometricMean(pairs.map((p) => ratio(p.native)));
  const acceleratedGrowth = geometricMean(pairs.map((p) => ratio(p.accelerated)));
  const grows = nativeGrowth > 1 + FLAT_TOLERANCE;
  const flat = Math.abs(acceleratedGrowth - 1) <= FLAT_TOLERANCE;
  const batches = [...new Set(pairs.map((p) => p.batch))].sort((a, b) => a - b);
  const describe = (v: number) => (v > 1 + FLAT_TOLERANCE ? 'grows' : v < 1 - FLAT_TOLERANCE ? 'falls' : 'flat');
  return {
    verdict: grows && flat ? 'reproduced' : 'not reproduced',
    measured: `${c.native} ${x(nativeGrowth)}, ${c.accelerated} ${x(acceleratedGrowth)}`,
    measuredValue: nativeGrowth,
    detail: `Per-image latency from batch 1 to batch ${batches.join('/')}, geometric mean over ${pairs.length} models: ${c.native} ${describe(nativeGrowth)}, ${c.accelerated} ${describe(acceleratedGrowth)}.`,
    trialKeys: keysOf(pairs.flatMap((p) => [p.native.first, p.native.last, p.accelerated.first, p.accelerated.last])),
  };
}

/** Least-squares slope of ys on xs. */
function slope(xs: number[], ys: number[]): number {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  return sxy / sxx;
}

function latencyVsWidth(c: Context): ReturnType<Definition['check']> {
  const series = widthSeries(c.points);
  const target = (pattern: string) => (SQRT_PATTERNS.includes(pattern) ? 0.5 : LINEAR_PATTERNS.includes(pattern) ? 1 : undefined);
  const fits = [c.native, c.accelerated].flatMap((engine) =>
    [...groupBy(series.filter((p) => p.engine === engine), (p) => p.pattern)].flatMap(([pattern, ps]) => {
      const claimed = target(pattern);
      if (claimed === undefined || new Set(ps.map((p) => p.width)).size < 3) return [];
      const fitted = slope(ps.map((p) => Math.log(p.width!)), ps.map((p) => Math.log(p.medianMs)));
      return [{ engine, pattern, claimed, fitted, ps }];
    }),
  );
  if (fits.length === 0) return notMeasured('no pattern was measured at 3 or more widths');
  const off = fits.filter((f) => Math.abs(f.fitted - f.claimed) > SLOPE_TOLERANCE);
  const bothGroups = [SQRT_PATTERNS, LINEAR_PATTERNS].every((group) => fits.some((f) => group.includes(f.pattern)));
  const fitText = (f: (typeof fits)[number]) => `${f.pattern} on ${f.engine} ${signed(f.fitted)}`;
  const worst = Math.max(...fits.map((f) => Math.abs(f.fitted - f.claimed)));
  return {
    verdict: off.length > 0 ? 'not reproduced' : bothGroups ? 'reproduced' : 'not measured',
    measured: `${fits.length - off.length} of ${fits.length} slopes within ±${SLOPE_TOLERANCE}`,
    measuredValue: worst,
    detail: [
      off.length ? `Outside: ${off.map((f) => `${fitText(f)} (paper ${f.claimed})`).join(', ')}.` : '',
      off.length < fits.length ? `Within: ${fits.filter((f) => !off.includes(f)).map(fitText).join(', ')}.` : '',
      off.length === 0 && !bothGroups ? 'Only one group of patterns was measured, so the contrast the paper draws cannot be seen.' : '',
    ]
      .filter(Boolean)
      .join(' '),
    trialKeys: keysOf(fits.flatMap((f) => f.ps)),
  };
}

function dartsGainsMost(c: Context): ReturnType<Definition['check']> {
  const s = c.speedups.filter((p) => p.kind === 'network' && p.batch === 1).sort((a, b) => b.speedup - a.speedup);
  const darts = s.find((p) => networkName(p.model) === 'darts');
  if (!darts || s.length < 2) return notMeasured(darts ? 'only DARTS was measured among the reference networks' : `DARTS was not measured at batch 1 on both ${c.accelerated} and ${c.native}`);
  const best = s[0]!;
  return {
    verdict: best === darts ? 'reproduced' : 'not reproduced',
    measured: `${x(darts.speedup)}${best === darts ? ', the highest' : `; ${best.model} gains most (${x(best.speedup)})`}`,
    measuredValue: darts.speedup,
    detail: `${s.length} networks measured: ${s.map((p) => `${p.model} ${x(p.speedup)}`).join(', ')}.`,
    trialKeys: keysOf(s),
  };
}

function mobilenetFastest(c: Context): ReturnType<Definition['check']> {
  const ps = c.points.filter((p) => p.engine === c.accelerated && p.kind === 'network' && p.batch === 1).sort((a, b) => a.medianMs - b.medianMs);
  const mobilenet = ps.find((p) => networkName(p.model) === 'mobilenet_v2');
  if (!mobilenet || ps.length < 2) return notMeasured(mobilenet ? 'only MobileNetV2 was measured among the reference networks' : `MobileNetV2 was not measured at batch 1 on ${c.accelerated}`);
  const fastest = ps[0]!;
  const msText = (v: number) => `${v.toPrecision(3)} ms`;
  return {
    verdict: fastest === mobilenet ? 'reproduced' : 'not reproduced',
    measured: `${msText(mobilenet.medianMs)}${fastest === mobilenet ? ', the lowest' : `; ${fastest.model} is faster (${msText(fastest.medianMs)})`}`,
    measuredValue: mobilenet.medianMs,
    detail: `${ps.length} networks on ${c.accelerated} at batch 1: ${ps.map((p) => `${p.model} ${msText(p.medianMs)}`).join(', ')}.`,
    trialKeys: keysOf(ps),
  };
}

/** The claims as a table for tables/paper-claims.csv and .md. */
export function paperClaimsTable(claims: PaperClaim[]): Table {
  return {
    columns: ['claim', 'paper', 'this machine', 'verdict', 'detail', 'rule', 'trials'],
    rows: claims.map((c) => [c.claim, c.paper, c.measured, c.verdict, c.detail, c.rule, c.trialKeys.join(' ')]),
  };
}
