import type { Command } from 'commander';
import { resolve } from 'node:path';
import { parseEngineList } from '../../engines/index.js';
import { UserError } from '../../errors.js';
import { currentEnvironment } from '../../measure/index.js';
import { checkSpeeds, describeSpeedCheck, loadModels, predictSpec, validate, type ModelPrediction, type Validation } from '../../predict/index.js';
import { formatCount, makeTable, printJson } from '../format.js';
import { batchSize, positiveInt } from '../options.js';
import { duration } from '../progress.js';
import { CALIBRATION_DIR, openCalibrationStore } from './calibrate.js';

interface PredictOptions {
  engines: string;
  batch: number;
  validate?: boolean;
  speedCheck?: boolean;
  top: number;
  out: string;
  json?: boolean;
}

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description("predict each engine's latency and the speed-up of acceleration from this machine's calibration, kernel by kernel; --validate measures held-out networks")
    .argument('[specs...]', 'model specs or .onnx files')
    .option('--engines <list>', 'engines, each calibrated on this machine', (v: string) => v, 'ort,torch')
    .option('--batch <n>', 'batch size', batchSize, 1)
    .option('--validate', 'measure the held-out networks with the bench protocol and print how close the predictions were')
    .option('--speed-check', 'first time a few stored probe networks again and scale the predictions by how much faster or slower this machine runs than at calibration (also with --validate; off by default: on this project\'s VM it added more error than it took away)')
    .option('--top <n>', 'kernels shown per engine in the breakdown', positiveInt, 8)
    .option('--out <dir>', 'calibration store folder', CALIBRATION_DIR)
    .option('--json', 'machine-readable output')
    .action(predictCommand);
}

async function predictCommand(specs: string[], o: PredictOptions): Promise<void> {
  if (!o.validate && specs.length === 0) throw new UserError('predict needs a model spec or an .onnx file', "e.g. 'formbench predict standard/d10/w64', or 'formbench predict --validate'");
  // Before the store is opened: a bad engine name is an error of its own.
  const engines = parseEngineList(o.engines);
  const store = await openCalibrationStore(resolve(o.out));
  try {
    const fingerprint = currentEnvironment().fingerprint;
    let loaded = await loadModels(store.calibration(), engines, fingerprint);
    // Opt-in, for --validate too (a validation's figures are the predictor's own unless asked).
    // Measured on this project's VM, four validations of three calibrations: scaling by the
    // check's drift moved ort's held-out pattern networks within ±10% from 50 to 43 of 72,
    // torch's from 31 to 30, the speed-ups within ±15% from 53 to 50 of 88. Two of them, three
    // minutes apart, measured ort's networks within 0.95–1.05× of each other while the check's
    // median drift went from 1.030 to 1.049 and ort's score with it from 12 to 7 of 18 (13 and 13
    // unscaled): its ten short probes drift by chance about as much as the machine does.
    if (o.speedCheck) {
      loaded = await checkSpeeds(store.calibration(), loaded, fingerprint);
      for (const l of loaded) process.stderr.write(`${describeSpeedCheck(l.speed!)}\n`);
    }
    const speedChecks = loaded.flatMap((l) => (l.speed ? [l.speed] : []));
    const predictions = specs.map((s) => predictSpec(s, loaded, o.batch));
    if (o.validate) {
      const progress = (t: { model: string; engine: string; status: string; summary?: { medianMs: number } }, done: number, total: number) => {
        if (!o.json) process.stderr.write(`[${done}/${total}] ${t.model} ${t.engine}: ${t.summary ? `${t.summary.medianMs.toFixed(3)} ms` : t.status}\n`);
      };
      const v = await validate(loaded, store.calibration(), fingerprint, { batch: o.batch, onTrial: progress });
      if (o.json) printJson({ speedChecks, predictions: predictions.map(jsonOf), validation: v });
      else {
        for (const p of predictions) printPrediction(p, o.top);
        printValidation(v);
      }
      return;
    }
    if (o.json) printJson({ fingerprint, speedChecks, predictions: predictions.map(jsonOf) });
    else for (const p of predictions) printPrediction(p, o.top);
  } finally {
    store.close();
  }
}

function jsonOf(p: ModelPrediction) {
  return { ...p, predictions: p.predictions.map((x) => ({ ...x, kernels: x.kernels.map((k) => ({ name: k.name, kernelClass: k.kernelClass, signature: k.signature, nodes: k.nodes, ms: k.ms, modelClass: k.modelClass })) })) };
}

function printPrediction(p: ModelPrediction, top: number): void {
  const first = p.predictions[0]!;
  const scaled = p.predictions.some((x) => x.speedScale !== 1) ? ', scaled by the speed check' : '';
  console.log(`${p.model} at batch ${p.batch}: ${formatCount(first.macs)} MACs, ${formatCount(first.params)} params (predicted from this machine's calibration${scaled}, not measured)`);
  const table = makeTable(['engine', 'predicted ms', 'kernels', 'speed-up'], ['left', 'right', 'right', 'left']);
  for (const x of p.predictions) {
    const s = p.speedups.filter((su) => su.engine === x.engine).map((su) => `${su.ratio.toFixed(2)}× over ${su.over}`);
    table.push([x.engine, x.latencyMs.toFixed(3), x.kernels.length, s.join(', ') || (p.speedups.some((su) => su.over === x.engine) ? 'native' : '-')]);
  }
  console.log(table.toString());
  for (const x of p.predictions) {
    const kernels = [...x.kernels].sort((a, b) => b.ms - a.ms).slice(0, top);
    const breakdown = makeTable(['kernel', 'class', 'runs as', 'ms', 'share'], ['left', 'left', 'left', 'right', 'right']);
    for (const k of kernels) breakdown.push([k.name, k.kernelClass + (k.modelClass === 'fallback' ? ' (fallback model)' : ''), k.signature, k.ms.toFixed(4), `${((100 * k.ms) / x.kernelSumMs).toFixed(1)}%`]);
    console.log(`${x.engine}: slowest ${kernels.length} of ${x.kernels.length} kernels (times on the profiler's scale; the network model maps their sum ${x.kernelSumMs.toFixed(3)} ms to ${x.latencyMs.toFixed(3)} ms)`);
    console.log(breakdown.toString());
  }
}

const pct = (x: number) => (Number.isNaN(x) ? '-' : `${(100 * x).toFixed(1)}%`);

export function printValidation(v: Pick<Validation, 'engines' | 'speedups'> & Partial<Pick<Validation, 'wallS' | 'failed'>>): void {
  const table = makeTable(['engine', 'held out', 'networks', 'within ±5%', 'within ±10%', 'median |error|', 'Spearman ρ'], ['left', 'left', 'right', 'right', 'right', 'right', 'right']);
  for (const e of v.engines) {
    for (const [name, a] of [['pattern (off grid)', e.pattern], ['reference', e.reference], ['all', e.all]] as const) {
      table.push([e.engine, name, a.count, pct(a.within5), pct(a.within10), pct(a.mdape), Number.isNaN(a.spearman) ? '-' : a.spearman.toFixed(3)]);
    }
  }
  console.log(`Held-out validation${v.wallS !== undefined ? ` (measured with the bench protocol in ${duration(v.wallS)})` : ''}`);
  console.log(table.toString());
  for (const s of v.speedups) console.log(`Speed-up of ${s.engine} over ${s.over}: predicted within ±15% of the measured one for ${pct(s.withinShare)} of ${s.pairs} held-out pairs.`);
  for (const e of v.engines) {
    if (e.repeatability.networks === 0) continue;
    console.log(`Repeatability of ${e.engine}: the first round's measurement within ±10% of the second's for ${pct(e.repeatability.within)} of ${e.repeatability.networks} held-out networks (what a perfect predictor of one round would score on the other).`);
  }
  for (const t of v.failed ?? []) console.log(`Note: ${t.model} on ${t.engine} failed (${t.reason}); left out.`);
}
