import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { availabilityOf, parseEngineList, type EngineChoice } from '../../engines/index.js';
import { UserError } from '../../errors.js';
import { currentEnvironment } from '../../measure/index.js';
import { calibrate, type CalibrationEvent, type EngineCalibration } from '../../predict/index.js';
import { ResultStore, STORE_FILE } from '../../store/index.js';
import { makeTable, printJson } from '../format.js';
import { duration } from '../progress.js';

/** Where calibrate keeps its store, and predict and advise read it, unless --out says otherwise. */
export const CALIBRATION_DIR = join('formbench-results', 'calibration');

interface CalibrateOptions {
  engines: string;
  minutes: number;
  out: string;
  json?: boolean;
}

/** --minutes: a positive number (fractions allowed: tests calibrate for seconds). */
export function positiveMinutes(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 24 * 60) throw new InvalidArgumentError('expected a number of minutes above 0 and at most 1440.');
  return n;
}

export function registerCalibrateCommand(program: Command): void {
  program
    .command('calibrate')
    .description('fit kernel-level latency models of each engine on this machine from profiled probe networks (resumable: a re-run continues)')
    .option('--engines <list>', 'engines to calibrate', (v: string) => v, 'ort,torch')
    .option('--minutes <n>', 'time limit for all engines together', positiveMinutes, 15)
    .option('--out <dir>', 'store folder', CALIBRATION_DIR)
    .option('--json', 'machine-readable summary')
    .action(calibrateCommand);
}

/** The engines asked for, each one able to run here (a calibration of an absent engine is an error, not an empty model). */
export async function runnableEngines(list: string): Promise<EngineChoice[]> {
  const engines = parseEngineList(list);
  for (const e of engines) {
    const a = await availabilityOf(e.engine);
    if (!a.available) throw new UserError(`${e.label} is not available: ${a.reason}`, "'formbench engines' lists what can run on this machine");
    if (!e.engine.profiles) throw new UserError(`${e.label} has no per-layer profiler, so its kernels cannot be timed`, 'calibrate ort or torch');
  }
  return engines;
}

async function calibrateCommand(o: CalibrateOptions): Promise<void> {
  const engines = await runnableEngines(o.engines);
  const environment = currentEnvironment();
  const store = await ResultStore.open(join(resolve(o.out), STORE_FILE));
  try {
    await store.recordEnvironment(environment);
    const started = Date.now();
    const progress = (e: CalibrationEvent) => {
      if (o.json) return;
      const what = e.status === 'ok' ? `${e.kernels} kernels, ${e.unprofiledMs!.toFixed(3)} ms` : `failed: ${e.reason}`;
      const eta = new Date(Date.now() + e.leftS * 1000).toISOString().slice(11, 19);
      process.stderr.write(`[${e.engine} probe ${e.done}] ${e.purpose}: ${what}; ${duration(e.leftS)} left of its share (until ${eta} UTC)\n`);
    };
    if (!o.json) process.stderr.write(`calibrating ${engines.map((e) => e.label).join(', ')} on machine ${environment.fingerprint} for at most ${duration(o.minutes * 60)}; store ${o.out}\n`);
    const results = await calibrate({ engines, minutes: o.minutes, environment, tables: store.calibration(), onProbe: progress });
    const wallS = (Date.now() - started) / 1000;
    if (o.json) {
      printJson({ fingerprint: environment.fingerprint, wallS, engines: results.map(({ model, ...r }) => ({ ...r, network: model.network, fusion: Object.fromEntries(model.fusion) })) });
      return;
    }
    for (const r of results) printCalibration(r);
    console.log(`Calibration took ${duration(wallS)}; models stored in ${join(o.out, STORE_FILE)} for machine ${environment.fingerprint}.`);
  } finally {
    store.close();
  }
}

function printCalibration(r: EngineCalibration): void {
  console.log(`${r.engine} (${r.engineVersion}): ${r.measured} probes measured now, ${r.resumed} already stored, ${r.failed} failed; ${r.kernelSamples} kernel samples; ${duration(r.wallS)}`);
  const fused = [...r.model.fusion].filter(([s]) => s.includes('+')).sort((a, b) => b[1] - a[1]);
  console.log(`  fusion learned from its profiles: ${fused.length ? fused.map(([s, n]) => `${s} (${n}×)`).join(', ') : 'none (runs op by op)'}`);
  const table = makeTable(['kernel class', 'samples', 'in-sample median |error|'], ['left', 'right', 'right']);
  for (const c of r.classes.sort((a, b) => b.samples - a.samples)) table.push([c.kernelClass, c.samples, `${(100 * c.mdape).toFixed(1)}%`]);
  console.log(table.toString());
  const n = r.model.network;
  console.log(`  network model: latency = ${n.interceptMs.toFixed(4)} ms + ${n.kernelSumScale.toFixed(3)} × Σ kernel ms ${n.perKernelMs >= 0 ? '+' : '−'} ${Math.abs(n.perKernelMs * 1000).toFixed(2)} µs × kernels; median |error| over the probes ${(100 * r.probeMdape).toFixed(1)}% (each with its own samples left out)`);
  const k = r.model.correction.k;
  console.log(`  local correction: ${k ? `each kernel moved by the residuals of its ${k} nearest samples` : 'none (the class models alone predicted the probes best)'}, the count chosen by leave-one-probe-out`);
}

/** Opens an existing calibration store; none there is a user error naming the command that makes one. */
export async function openCalibrationStore(dir: string): Promise<ResultStore> {
  if (!existsSync(join(dir, STORE_FILE))) throw new UserError(`no calibration in ${dir} (no ${STORE_FILE}): predictions need latency models fitted on this machine`, `run 'formbench calibrate' first, or give --out <dir> of a folder it wrote`);
  return ResultStore.open(join(dir, STORE_FILE));
}
