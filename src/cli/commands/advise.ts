import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { parseEngineChoice, parseEngineList } from '../../engines/index.js';
import { currentEnvironment } from '../../measure/index.js';
import { ADVISE_ROUNDS, advise, checkSpeeds, describeSpeedCheck, loadModels, type Advice, type Candidate } from '../../predict/index.js';
import { DEFAULT_RESOLUTION } from '../../zoo/index.js';
import { formatCount, makeTable, printJson } from '../format.js';
import { batchSize, positiveInt } from '../options.js';
import { CALIBRATION_DIR, openCalibrationStore } from './calibrate.js';

interface AdviseOptions {
  engine: string;
  native: string;
  budgetMs: number;
  batch: number;
  resolution: number;
  out: string;
  speedCheck?: boolean;
  json?: boolean;
}

function positiveMs(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of milliseconds.');
  return n;
}

export function registerAdviseCommand(program: Command): void {
  program
    .command('advise')
    .description('the widest and deepest network of each design pattern predicted to meet a latency budget, the top ones then measured')
    .option('--engine <engine>', 'the engine to meet the budget on', 'ort')
    .option('--native <engine>', 'the native engine compared with, where calibrated', 'torch')
    .requiredOption('--budget-ms <ms>', 'latency budget of one run, ms', positiveMs)
    .option('--batch <n>', 'batch size', batchSize, 1)
    .option('--resolution <px>', 'input resolution', positiveInt, DEFAULT_RESOLUTION)
    .option('--out <dir>', 'calibration store folder', CALIBRATION_DIR)
    .option('--speed-check', 'first time a few stored probe networks again and scale the predictions by the drift found (as formbench predict --speed-check)')
    .option('--json', 'machine-readable output')
    .action(adviseCommand);
}

async function adviseCommand(o: AdviseOptions): Promise<void> {
  const engine = parseEngineChoice(o.engine);
  const native = parseEngineList(o.native)[0]!;
  const store = await openCalibrationStore(resolve(o.out));
  try {
    const fingerprint = currentEnvironment().fingerprint;
    const [loaded] = await loadModels(store.calibration(), [engine], fingerprint);
    // The native engine only adds a comparison: without its calibration the advice still stands.
    const nativeLoaded = await loadModels(store.calibration(), [native], fingerprint).then((l) => l[0], (e: Error) => {
      if (!o.json) process.stderr.write(`note: no comparison with ${native.label}: ${e.message}\n`);
      return undefined;
    });
    // Predictions choose the candidates, measurements confirm them; scaled by the speed check's
    // drift only when asked (predict.ts: it added more error than it took away on this VM).
    const engines = nativeLoaded && nativeLoaded.choice.label !== loaded!.choice.label ? [loaded!, nativeLoaded] : [loaded!];
    const checked = o.speedCheck ? await checkSpeeds(store.calibration(), engines, fingerprint) : engines;
    if (!o.json) for (const l of checked) if (l.speed) process.stderr.write(`${describeSpeedCheck(l.speed)}\n`);
    const progress = (t: { model: string; summary?: { medianMs: number }; status: string }, done: number, total: number) => {
      if (!o.json) process.stderr.write(`[${done}/${total}] measuring ${t.model}: ${t.summary ? `${t.summary.medianMs.toFixed(3)} ms` : t.status}\n`);
    };
    const a = await advise(checked[0]!, nativeLoaded ? (checked[1] ?? checked[0]) : undefined, { budgetMs: o.budgetMs, batch: o.batch, resolution: o.resolution, onTrial: progress });
    if (o.json) printJson({ ...a, speedChecks: checked.flatMap((l) => (l.speed ? [l.speed] : [])) });
    else printAdvice(a);
  } finally {
    store.close();
  }
}

const cell = (c: Candidate | undefined) => (c ? `d${c.depth}/w${c.width}: ${c.predictedMs.toFixed(2)} ms, ${formatCount(c.macs)} MACs, ${formatCount(c.params)} params` : 'none fits');

function printAdvice(a: Advice): void {
  console.log(`Networks predicted to run within ${a.budgetMs} ms on ${a.engine} at batch ${a.batch}, input ${a.resolution}×${a.resolution} (depth ≤ 60, widths 8–512):`);
  const table = makeTable(['pattern', 'widest', 'deepest', 'most MACs'], ['left', 'left', 'left', 'left']);
  for (const p of a.patterns) table.push([p.pattern, cell(p.widest), cell(p.deepest), cell(p.mostCapacity)]);
  console.log(table.toString());
  for (const b of a.bestPattern) console.log(b.pattern ? `Most capacity under ${a.budgetMs} ms on ${b.engine} (predicted): ${b.pattern}, ${formatCount(b.macs!)} MACs.` : `On ${b.engine} no network of any pattern is predicted to fit ${a.budgetMs} ms.`);
  if (a.measured.length) {
    const m = makeTable(['round', 'candidate', 'predicted ms', 'measured ms', 'error', 'met budget'], ['right', 'left', 'right', 'right', 'right', 'left']);
    for (const x of a.measured) {
      const ms = x.trial.summary?.medianMs;
      m.push([String(x.round), x.candidate.spec, x.candidate.predictedMs.toFixed(3), ms === undefined ? `failed: ${x.trial.reason}` : ms.toFixed(3), ms === undefined ? '-' : `${((100 * (x.candidate.predictedMs - ms)) / ms).toFixed(1)}%`, x.met === undefined ? '-' : x.met ? 'yes' : 'no']);
    }
    console.log(`Each pattern's most-MACs candidate measured on ${a.engine} with the bench protocol; one that missed the budget replaced by the deepest of its width (else the largest) predicted to fit a budget scaled by its error, up to ${ADVISE_ROUNDS} rounds (predictions choose, measurements confirm):`);
    console.log(m.toString());
    const c = makeTable(['pattern', `confirmed under ${a.budgetMs} ms (measured)`], ['left', 'left']);
    for (const x of a.confirmed) c.push([x.pattern, x.candidate ? `${x.candidate.spec}: ${x.measuredMs!.toFixed(3)} ms, ${formatCount(x.candidate.macs)} MACs, ${formatCount(x.candidate.params)} params` : `none confirmed in ${ADVISE_ROUNDS} rounds`]);
    console.log(c.toString());
    const top = a.confirmed.filter((x) => x.candidate).sort((p, q) => q.candidate!.macs - p.candidate!.macs)[0];
    if (top) console.log(`Most capacity confirmed under ${a.budgetMs} ms on ${a.engine} (measured): ${top.pattern}, ${formatCount(top.candidate!.macs)} MACs.`);
  }
}
