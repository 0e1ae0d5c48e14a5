/**
 * The speed check: a machine runs the same network at different speeds an hour apart (a shared
 * host, its neighbours, frequency scaling; measured on this project's VM: ort's resnet18 at 12.80
 * ms and 45 minutes later at 14.67 ms, nothing else running). A calibration
 * keeps the speed of the hour it was made in. With --speed-check (predict, validate, advise; off
 * by default, cli/commands/predict.ts says why), a few stored probe networks are timed again with
 * the calibration's own protocol, and now ÷ then is how much faster or slower the machine runs.
 * The drift is not the same for every size: in two validations ten minutes apart ort's held-out
 * networks (1.2–16 ms) ran a median 8% slower while ten small probe networks (0.1–1.8 ms) ran 1%
 * faster. So the probes timed again are spread over the stored probe networks' latencies, and a
 * prediction is multiplied by the median drift of the SCALE_NEIGHBOURS probes nearest to it in
 * (unscaled) latency. Nothing held out is measured to get it.
 */
import { runTrial } from '../measure/trial.js';
import { INPUT_SEED, median } from '../measure/index.js';
import { withPreparedModel } from '../measure/prepared.js';
import type { EngineChoice } from '../engines/index.js';
import type { StoredProbe } from '../store/index.js';
import { PROBE_BUDGET } from './calibrate.js';
import { buildProbe, type Probe } from './probes.js';

/** Stored probes timed again: pattern networks spread over their latencies, chains where there are too few. */
export const SPEED_CHECK_PROBES = 10;
/** Probes, nearest in latency, whose median drift scales one prediction. */
export const SCALE_NEIGHBOURS = 3;

/** A drift past these bounds is flagged: the calibration no longer describes the machine. */
export const SPEED_DRIFT_WARN = { slower: 1.25, faster: 0.8 } as const;

export interface SpeedCheck {
  engine: string;
  /** Median of (unprofiled median now ÷ the stored one) over the probes timed again. */
  ratio: number;
  probes: { probeKey: string; storedMs: number; nowMs: number }[];
  wallS: number;
}

/**
 * The stored probes a speed check times again: pattern networks at evenly spaced ranks of their
 * stored latency (the fastest and the slowest among them), then chains where fewer are stored.
 */
export function speedCheckProbes(stored: readonly StoredProbe[], count = SPEED_CHECK_PROBES): StoredProbe[] {
  const ok = stored.filter((p) => p.status === 'ok' && p.unprofiledMedianMs !== null);
  const networks = ok.filter((p) => (p.probe as Probe).network).sort((a, b) => a.unprofiledMedianMs! - b.unprofiledMedianMs! || a.probeKey.localeCompare(b.probeKey));
  const chains = ok.filter((p) => !(p.probe as Probe).network);
  if (networks.length <= count) return [...networks, ...chains].slice(0, count);
  const ranks = new Set(Array.from({ length: count }, (_, i) => Math.round((i * (networks.length - 1)) / (count - 1))));
  return [...ranks].map((r) => networks[r]!);
}

/** The drift a prediction of `unscaledMs` is multiplied by: the median of the probes nearest to it in ln(latency). */
export function speedScaleAt(check: { probes: readonly { storedMs: number; nowMs: number }[] }, unscaledMs: number): number {
  const nearest = [...check.probes].sort((a, b) => Math.abs(Math.log(a.storedMs / unscaledMs)) - Math.abs(Math.log(b.storedMs / unscaledMs))).slice(0, SCALE_NEIGHBOURS);
  return nearest.length ? median(nearest.map((p) => p.nowMs / p.storedMs)) : 1;
}

/** Times the speed-check probes of one engine in trial workers; fails in one line when none is stored or none runs. */
export async function speedCheck(choice: EngineChoice, stored: readonly StoredProbe[]): Promise<SpeedCheck> {
  const t0 = Date.now();
  const probes: SpeedCheck['probes'] = [];
  for (const p of speedCheckProbes(stored)) {
    const probe = p.probe as Probe;
    const spec = `probe-${p.probeKey}`;
    const r = await withPreparedModel({ spec, source: 'onnx', graph: buildProbe(probe) }, ({ onnxPath }) =>
      runTrial({ spec, onnxPath, engine: choice.engine.name, options: choice.options, batch: p.batch, inputSeed: INPUT_SEED, budget: PROBE_BUDGET }),
    );
    if (r.status === 'ok') probes.push({ probeKey: p.probeKey, storedMs: p.unprofiledMedianMs!, nowMs: median(r.timing.samplesMs) });
  }
  if (probes.length === 0) throw new Error(`speed check of ${choice.label}: no stored probe ran again`);
  return { engine: choice.label, ratio: median(probes.map((p) => p.nowMs / p.storedMs)), probes, wallS: (Date.now() - t0) / 1000 };
}

const fmtMs = (ms: number) => `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;

/** One line for a speed check, with a warning when the drift is past SPEED_DRIFT_WARN. */
export function describeSpeedCheck(s: SpeedCheck): string {
  const way = s.ratio >= 1 ? `${((s.ratio - 1) * 100).toFixed(1)}% slower` : `${((1 - s.ratio) * 100).toFixed(1)}% faster`;
  const warn = s.ratio > SPEED_DRIFT_WARN.slower || s.ratio < SPEED_DRIFT_WARN.faster ? ` — past ${SPEED_DRIFT_WARN.faster}–${SPEED_DRIFT_WARN.slower}×: this machine is not in the state it was calibrated in; consider calibrating again` : '';
  const ratios = s.probes.map((p) => p.nowMs / p.storedMs);
  const spread = ratios.length > 1 ? `, ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} over ${fmtMs(Math.min(...s.probes.map((p) => p.storedMs)))}–${fmtMs(Math.max(...s.probes.map((p) => p.storedMs)))}` : '';
  return `speed check of ${s.engine}: ${s.probes.length} stored probe networks ran ${way} than at calibration (median ratio ${s.ratio.toFixed(3)}${spread}, ${s.wallS.toFixed(0)} s); each prediction is scaled by the median of the ${SCALE_NEIGHBOURS} nearest it in latency${warn}`;
}
