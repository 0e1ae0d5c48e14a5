/**
 * What the GPU trials show: per design pattern, whether GPU-specific acceleration beats the CPU's
 * (hardware adapters only: a software GPU's times are the CPU's), and whether a GPU session's
 * convolutions really ran on the GPU (ort's WebGPU provider hands operators it lacks to the CPU).
 */
import { describeAdapter } from '../engines/webgpu-adapter.js';
import { geometricMean, median } from '../measure/index.js';
import type { StoredTrial } from '../store/index.js';
import { speedupsOver } from './data.js';
import { allMacKernels, cpuMacKernels, cpuShare, engineLabel, onSoftwareGpu } from './gpu.js';
import type { Finding, LatencyPoint, ReportData, SpeedupPoint } from './types.js';

/**
 * A GPU and a CPU within this factor of each other, either way, are level: "the CPU keeps up".
 * Ten per cent is about what two engines' medians move between runs of a study on a quiet machine.
 */
export const LEVEL_BAND = 0.1;

const x = (v: number) => `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}×`;
const keysOf = (items: { trialKeys: string[] }[]) => [...new Set(items.flatMap((i) => i.trialKeys))];

export function gpuFindings(data: ReportData): Finding[] {
  return [...gpuAgainstCpu(data), ...placementFindings(data.rows)];
}

export interface PatternGain {
  pattern: string;
  /** Geometric mean of the CPU engine's median ÷ the GPU engine's, over the pattern's model × batch pairs: above 1, the GPU is faster. */
  gain: number;
  verdict: 'gpu faster' | 'level' | 'cpu faster';
  pairs: SpeedupPoint[];
}

/** Engines of the points with a role and precision, most points first, default options (`ort`, not `ort:opt=disabled`) before others. */
function enginesOf(points: LatencyPoint[], keep: (p: LatencyPoint) => boolean): string[] {
  const counts = new Map<string, number>();
  for (const p of points) if (keep(p)) counts.set(p.engine, (counts.get(p.engine) ?? 0) + 1);
  return [...counts].sort(([a, na], [b, nb]) => Number(a.includes(':')) - Number(b.includes(':')) || nb - na).map(([e]) => e);
}

/** Hardware-GPU engines at FP32 and the CPU-accelerated engine at FP32 they are compared with. */
export function gpuComparison(points: LatencyPoint[]): { cpu: string; gpus: string[] } | undefined {
  const cpu = enginesOf(points, (p) => p.role === 'accelerated' && p.precision === 'fp32' && !p.gpu)[0];
  const gpus = enginesOf(points, (p) => p.gpu?.software === false && p.precision === 'fp32');
  return cpu && gpus.length ? { cpu, gpus } : undefined;
}

/** The GPU engine's gain over the CPU engine per design pattern, largest first. */
export function gpuGainsByPattern(points: LatencyPoint[], cpu: string, gpu: string): PatternGain[] {
  const pairs = speedupsOver(points.filter((p) => p.engine === cpu || p.engine === gpu), cpu).filter((s) => s.kind === 'pattern' && s.pattern);
  const byPattern = new Map<string, SpeedupPoint[]>();
  for (const s of pairs) byPattern.set(s.pattern!, [...(byPattern.get(s.pattern!) ?? []), s]);
  return [...byPattern]
    .map(([pattern, ps]) => {
      const gain = geometricMean(ps.map((s) => s.speedup));
      const verdict: PatternGain['verdict'] = gain > 1 + LEVEL_BAND ? 'gpu faster' : gain < 1 / (1 + LEVEL_BAND) ? 'cpu faster' : 'level';
      return { pattern, gain, verdict, pairs: ps };
    })
    .sort((a, b) => b.gain - a.gain);
}

/** Where the GPU beats CPU acceleration and where it does not, per design pattern; nothing without a hardware GPU. */
function gpuAgainstCpu(data: ReportData): Finding[] {
  const engines = gpuComparison(data.points);
  if (!engines) return [];
  return engines.gpus.flatMap((gpu) => {
    const gains = gpuGainsByPattern(data.points, engines.cpu, gpu);
    if (gains.length === 0) return [];
    const adapter = data.points.find((p) => p.engine === gpu)!.gpu!;
    // A pattern whose convolutions ran on the CPU is no GPU result: say so beside its number.
    const cpuConv = new Set(data.rows.filter((r) => engineLabel(r) === gpu && r.status === 'ok' && r.placement && cpuMacKernels(r.placement) > 0).map((r) => r.pattern));
    const item = (g: PatternGain) => `${g.pattern} (${x(g.gain)}${cpuConv.has(g.pattern) ? ', its convolutions ran on the CPU' : ''})`;
    const list = (gs: PatternGain[]) => gs.map(item).join(', ');
    const faster = gains.filter((g) => g.verdict === 'gpu faster');
    const level = gains.filter((g) => g.verdict === 'level');
    const slower = gains.filter((g) => g.verdict === 'cpu faster');
    const parts = [
      faster.length ? `${gpu} beats ${engines.cpu} on ${list(faster)}` : `${gpu} beats ${engines.cpu} on no pattern`,
      level.length ? `the CPU keeps up (within ±${LEVEL_BAND * 100}%) on ${list(level)}` : '',
      slower.length ? `the CPU is faster on ${list(slower)}` : '',
    ].filter(Boolean);
    const all = gains.flatMap((g) => g.pairs);
    return [
      {
        title: `GPU against CPU acceleration: ${gpu} and ${engines.cpu}`,
        text: `On ${describeAdapter(adapter)}, ${parts.join('; ')} (${engines.cpu}'s median ÷ ${gpu}'s, geometric mean over each pattern's model × batch pairs, ${all.length} pairs in all, FP32).`,
        value: geometricMean(all.map((s) => s.speedup)),
        trialKeys: keysOf(all),
      },
    ];
  });
}

/**
 * Whether each GPU engine's convolutions and matrix products ran on the GPU, from its placement
 * profile: a "GPU" trial whose MAC kernels ran on the CPU provider is a finding, not GPU
 * acceleration (as an INT8 trial whose kernels stayed in float32 is, in precision.ts).
 */
export function placementFindings(rows: StoredTrial[]): Finding[] {
  const profiled = rows.filter((r) => r.status === 'ok' && r.gpuAdapter && r.placement);
  return [...new Set(profiled.map(engineLabel))].map((label) => {
    const ts = profiled.filter((r) => engineLabel(r) === label);
    const onCpu = ts.filter((r) => cpuMacKernels(r.placement!) > 0);
    const mac = ts.reduce((a, r) => a + allMacKernels(r.placement!), 0);
    const cpuMac = ts.reduce((a, r) => a + cpuMacKernels(r.placement!), 0);
    const models = [...new Set(onCpu.map((r) => r.model))];
    const share = (trials: StoredTrial[]) => (100 * median(trials.map((r) => cpuShare(r.placement!)))).toFixed(1);
    const software = onSoftwareGpu(ts[0]!) ? ' On a software GPU the WebGPU provider itself runs on the CPU: this says which code path ran, not on which device.' : '';
    return onCpu.length
      ? {
          title: `GPU placement: ${label} ran convolutions on the CPU`,
          text:
            `In ${onCpu.length} of ${ts.length} ${label} trials, Conv/Gemm/MatMul kernels ran on the CPU provider: ${cpuMac} of ${mac} such kernels in all (${models.slice(0, 6).join(', ')}${models.length > 6 ? ', …' : ''}); ` +
            `the CPU took a median ${share(onCpu)}% of those trials' kernel time. Their times are partly the CPU's, not GPU acceleration.${software}`,
          value: cpuMac / (mac || 1),
          trialKeys: onCpu.map((r) => r.trialKey),
        }
      : {
          title: `GPU placement: where ${label}'s kernels ran`,
          text: `In ${label}'s placement profile of ${ts.length} trials, all ${mac} Conv/Gemm/MatMul kernels ran on the WebGPU provider; the CPU took a median ${share(ts)}% of kernel time (other operators).${software}`,
          value: 0,
          trialKeys: ts.map((r) => r.trialKey),
        };
  });
}
