/**
 * The speed check: a machine runs the same network at different speeds an hour apart (a shared
 * host, its neighbours, frequency scaling; measured on this project's VM: ort's resnet18 at 12.80
 * ms and 45 minutes later at 14.67 ms, nothing else running). A calibration
 * keeps the speed of the hour it was made in. Before predictions are compared with measurements,
 * a few stored probe networks are timed again with the calibration's own protocol, and the
 * median of now ÷ then is how much faster or slower the machine runs at present; predictions are
 * multiplied by it, and it is printed. Nothing held out is measured to get it.
 */
import { runTrial } from '../measure/trial.js';
import { INPUT_SEED, median } from '../measure/index.js';
import { withPreparedModel } from '../measure/prepared.js';
import type { EngineChoice } from '../engines/index.js';
import type { StoredProbe } from '../store/index.js';
import { PROBE_BUDGET } from './calibrate.js';
import { buildProbe, networkProbes, probeKey, type Probe } from './probes.js';

/** Stored probes timed again: pattern networks first (in their sampling order), then chains. */
export const SPEED_CHECK_PROBES = 10;

/** A drift past these bounds is flagged: the calibration no longer describes the machine. */
export const SPEED_DRIFT_WARN = { slower: 1.25, faster: 0.8 } as const;

export interface SpeedCheck {
  engine: string;
  /** Median of (unprofiled median now ÷ the stored one) over the probes timed again. */
  ratio: number;
  probes: { probeKey: string; storedMs: number; nowMs: number }[];
  wallS: number;
}

/** The stored probes a speed check times again: the first pattern networks stored, then the first chains. */
export function speedCheckProbes(stored: readonly StoredProbe[], count = SPEED_CHECK_PROBES): StoredProbe[] {
  const ok = stored.filter((p) => p.status === 'ok' && p.unprofiledMedianMs !== null);
  const byKey = new Map(ok.map((p) => [p.probeKey, p]));
  const networks = networkProbes().map((p) => byKey.get(probeKey(p))).filter((p): p is StoredProbe => p !== undefined);
  const chains = ok.filter((p) => !(p.probe as Probe).network);
  return [...networks, ...chains].slice(0, count);
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

/** One line for a speed check, with a warning when the drift is past SPEED_DRIFT_WARN. */
export function describeSpeedCheck(s: SpeedCheck): string {
  const way = s.ratio >= 1 ? `${((s.ratio - 1) * 100).toFixed(1)}% slower` : `${((1 - s.ratio) * 100).toFixed(1)}% faster`;
  const warn = s.ratio > SPEED_DRIFT_WARN.slower || s.ratio < SPEED_DRIFT_WARN.faster ? ` — past ${SPEED_DRIFT_WARN.faster}–${SPEED_DRIFT_WARN.slower}×: this machine is not in the state it was calibrated in; consider calibrating again` : '';
  return `speed check of ${s.engine}: ${s.probes.length} stored probe networks ran ${way} than at calibration (median ratio ${s.ratio.toFixed(3)}, ${s.wallS.toFixed(0)} s); its predictions are scaled by ${s.ratio.toFixed(3)}${warn}`;
}
