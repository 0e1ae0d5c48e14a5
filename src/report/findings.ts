import { geometricMean, median } from '../measure/index.js';
import { macCorrelations, missCorrelations, type MissCorrelation } from './correlations.js';
import { depthSeries } from './data.js';
import { baselineFidelitySentence } from './fidelity.js';
import { onSoftwareGpu } from './gpu.js';
import { gpuFindings } from './gpu-findings.js';
import { precisionFindings } from './precision.js';
import { throughputFindings, throughputPoints } from './throughput.js';
import type { Finding, LatencyPoint, ReportData, SpeedupPoint } from './types.js';

const x = (v: number) => `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}×`;
const keysOf = (items: { trialKeys: string[] }[]) => [...new Set(items.flatMap((i) => i.trialKeys))];

export function computeFindings(data: ReportData): Finding[] {
  const engines = [...new Set(data.speedups.map((s) => s.engine))];
  // The acceleration the pattern, batch and depth findings describe: an accelerated engine at FP32
  // (a lower precision's gain over FP32 has findings of its own, see precision.ts).
  const primary = engines.find((e) => data.points.some((p) => p.engine === e && p.role === 'accelerated' && p.precision === 'fp32')) ?? engines.find((e) => data.points.some((p) => p.engine === e && p.precision === 'fp32'));
  return [
    ...engines.map((e) => averageSpeedup(data, e)),
    ...(primary ? [patternGains(data, primary), batchTrend(data, primary), depthTrend(data, primary)] : []),
    ...[...new Set(data.points.map((p) => p.engine))].map((e) => macsVersusLatency(data.points, e)),
    ...missCorrelations(data.points).map((c) => missesFinding(data, c)),
    ...gpuFindings(data),
    // A software GPU's lower precision is no speed-up either: its figures still show it, labelled.
    ...precisionFindings(data.rows.filter((r) => !onSoftwareGpu(r))),
    ...throughputFindings(throughputPoints(data.scenarios)),
  ].filter((f): f is Finding => f !== undefined);
}

function averageSpeedup(data: ReportData, engine: string): Finding | undefined {
  const s = data.speedups.filter((p) => p.engine === engine);
  if (s.length === 0) return undefined;
  const g = geometricMean(s.map((p) => p.speedup));
  const min = s.reduce((a, b) => (b.speedup < a.speedup ? b : a));
  const max = s.reduce((a, b) => (b.speedup > a.speedup ? b : a));
  return {
    title: `Average speed-up of ${engine}`,
    text: `${engine} is ${x(g)} as fast as ${data.baseline} on average (geometric mean over ${s.length} model × batch pairs), from ${x(min.speedup)} (${min.model}, batch ${min.batch}) to ${x(max.speedup)} (${max.model}, batch ${max.batch}).${data.fidelity.length ? baselineFidelitySentence(data) : ''}`,
    value: g,
    trialKeys: keysOf(s),
  };
}

function byKey<T>(items: T[], key: (t: T) => string | number | null): Map<string | number, T[]> {
  const m = new Map<string | number, T[]>();
  for (const i of items) {
    const k = key(i);
    if (k === null) continue;
    m.set(k, [...(m.get(k) ?? []), i]);
  }
  return m;
}

function patternGains(data: ReportData, engine: string): Finding | undefined {
  const groups = [...byKey(data.speedups.filter((s) => s.engine === engine && s.kind === 'pattern'), (s) => s.pattern)];
  if (groups.length < 2) return undefined;
  const ranked = groups.map(([pattern, s]) => ({ pattern, g: geometricMean(s.map((p) => p.speedup)), s })).sort((a, b) => b.g - a.g);
  const most = ranked[0]!;
  const least = ranked.at(-1)!;
  return {
    title: 'Which design pattern gains most',
    text: `With ${engine}, ${most.pattern} gains most from acceleration (${x(most.g)} over ${data.baseline}, geometric mean of ${most.s.length} pairs) and ${least.pattern} least (${x(least.g)}, ${least.s.length} pairs); all patterns: ${ranked.map((r) => `${r.pattern} ${x(r.g)}`).join(', ')}.`,
    value: most.g / least.g,
    trialKeys: keysOf([...most.s, ...least.s]),
  };
}

/** Speed-ups of the depth series: the pattern networks measured at every depth and batch. */
function depthSeriesSpeedups(data: ReportData, engine: string): SpeedupPoint[] {
  const series = new Set(depthSeries(data.points).map((p) => p.model));
  return data.speedups.filter((s) => s.engine === engine && series.has(s.model));
}

function batchTrend(data: ReportData, engine: string): Finding | undefined {
  const groups = [...byKey(depthSeriesSpeedups(data, engine), (s) => s.batch)].sort((a, b) => Number(a[0]) - Number(b[0]));
  if (groups.length < 2) return undefined;
  const per = groups.map(([batch, s]) => ({ batch, g: geometricMean(s.map((p) => p.speedup)), s }));
  const first = per[0]!;
  const last = per.at(-1)!;
  return {
    title: 'How batch size changes the gain',
    text: `Over the depth series, ${engine}'s speed-up is ${x(first.g)} at batch ${first.batch} and ${x(last.g)} at batch ${last.batch} (${per.map((p) => `batch ${p.batch}: ${x(p.g)}`).join(', ')}; geometric means).`,
    value: last.g / first.g,
    trialKeys: keysOf(per.flatMap((p) => p.s)),
  };
}

function depthTrend(data: ReportData, engine: string): Finding | undefined {
  const groups = [...byKey(depthSeriesSpeedups(data, engine), (p) => p.depth)].sort((a, b) => Number(a[0]) - Number(b[0]));
  if (groups.length < 2) return undefined;
  const per = groups.map(([depth, g]) => ({ depth, g: geometricMean(g.map((p: SpeedupPoint) => p.speedup)), s: g }));
  const first = per[0]!;
  const last = per.at(-1)!;
  return {
    title: 'How depth changes the gain',
    text: `${engine}'s speed-up over ${data.baseline} is ${x(first.g)} at depth ${first.depth} and ${x(last.g)} at depth ${last.depth} (geometric mean over the patterns and batches of the depth series at each depth).`,
    value: last.g / first.g,
    trialKeys: keysOf(per.flatMap((p) => p.s)),
  };
}

/**
 * Where latency stops following MACs: the rate (GMAC/s) each pattern or network family reaches on
 * an engine. Equal rates would mean MACs predict latency; the spread between the most and least
 * efficient family is how far they do not.
 */
function macsVersusLatency(points: LatencyPoint[], engine: string): Finding | undefined {
  // A software GPU's rates are the CPU's running an emulator: no finding about where a GPU's latency goes.
  const ps = points.filter((p) => p.engine === engine && p.macs > 0 && !p.gpu?.software);
  const families = [...byKey(ps, (p) => p.pattern ?? p.model)].map(([family, g]) => ({ family, rate: median(g.map((p) => p.macs / 1e9 / (p.medianMs / 1000))), g }));
  if (families.length < 2) return undefined;
  families.sort((a, b) => b.rate - a.rate);
  const fast = families[0]!;
  const slow = families.at(-1)!;
  const c = macCorrelations(ps)[0];
  return {
    title: `Where latency stops following MACs on ${engine}`,
    text: `On ${engine}, ${slow.family} runs at ${slow.rate.toFixed(2)} GMAC/s against ${fast.rate.toFixed(2)} GMAC/s for ${fast.family}: per MAC it is ${x(fast.rate / slow.rate)} slower, so MACs under-predict its latency by that factor (median rates over ${slow.g.length} and ${fast.g.length} trials${c?.spearman !== undefined ? `; Spearman ρ between MACs and latency over all ${c.n} trials: ${c.spearman.toFixed(3)}, Pearson r: ${c.pearson?.toFixed(3)}` : ''}).`,
    value: fast.rate / slow.rate,
    trialKeys: keysOf([...fast.g, ...slow.g]),
  };
}

/** The seed paper's cache argument: do last-level misses track latency more closely than MACs do? */
function missesFinding(data: ReportData, c: MissCorrelation): Finding | undefined {
  if (c.missesLatency.spearman === undefined) return undefined;
  const points = data.points.filter((p) => p.engine === c.engine && p.counters?.llcMisses != null);
  const macs = macCorrelations(points)[0];
  const simulated = points.some((p) => p.counters?.simulated);
  return {
    title: `Cache misses and latency on ${c.engine}`,
    text: `On ${c.engine}, ${simulated ? 'simulated ' : ''}last-level cache misses per inference follow latency with Spearman ρ = ${c.missesLatency.spearman.toFixed(3)} (Pearson r = ${c.missesLatency.pearson?.toFixed(3) ?? 'n/a'}) over ${c.n} trials, against ρ = ${macs?.spearman?.toFixed(3) ?? 'n/a'} for MACs; misses follow MACs with ρ = ${c.missesMacs.spearman?.toFixed(3) ?? 'n/a'}.`,
    value: c.missesLatency.spearman,
    trialKeys: [...new Set(points.flatMap((p) => p.trialKeys))],
  };
}
