import type { Command } from 'commander';
import { availabilityOf, ENGINES, parseEngineChoice, parseEngineList, type EngineChoice } from '../../engines/index.js';
import { UserError } from '../../errors.js';
import { INPUT_SEED, FIDELITY_WARNING_RATIO, runFidelity, DEFAULT_BUDGET, type FidelityRecord } from '../../measure/index.js';
import { makeTable, printJson } from '../format.js';
import { batchList, positiveInt } from '../options.js';

interface FidelityOptions {
  engines?: string;
  batch: number[];
  budgetS: number;
  ci: number;
  json?: boolean;
}

/** The native engines that can run here; the very slow ones (tfjs-cpu: under 1 GMAC/s) only when asked for. */
async function defaultEngines(): Promise<EngineChoice[]> {
  const natives = ENGINES.filter((e) => e.role === 'native' && (e.planningRate?.gmacsPerS ?? Infinity) >= 1);
  const usable = [];
  for (const e of natives) if ((await availabilityOf(e)).available) usable.push(parseEngineChoice(e.name));
  if (usable.length === 0) throw new UserError('no native engine can run here', "'formbench engines' says why; or name engines with --engines");
  return usable;
}

export const ratioText = (r: FidelityRecord): string => (r.ratio === undefined ? '-' : `${r.ratio.toFixed(3)}×${r.ratioInterval ? ` (${r.ratioInterval[0].toFixed(2)}–${r.ratioInterval[1].toFixed(2)})` : ''}`);

async function fidelityCommand(specs: string[], o: FidelityOptions): Promise<void> {
  const engines = o.engines ? parseEngineList(o.engines) : await defaultEngines();
  const budget = { ...DEFAULT_BUDGET, timedBudgetMs: o.budgetS * 1000, targetCiRelative: o.ci / 100 };
  const records = await runFidelity({ specs, engines, batches: o.batch, budget, inputSeed: INPUT_SEED }, (r, done, total) => {
    if (!o.json) process.stderr.write(`[${done}/${total}] ${r.model} ${r.engine} batch ${r.batch}: ${r.status === 'ok' ? ratioText(r) : `failed: ${r.reason}`}\n`);
  });
  if (o.json) {
    printJson(records);
    return;
  }
  const table = makeTable(['model', 'batch', 'engine', 'engine ms', 'idiomatic ms', 'engine ÷ idiomatic (median of paired runs, 95% CI)', 'rounds'], ['left', 'right', 'left', 'right', 'right', 'right', 'right']);
  for (const r of records) {
    if (r.status !== 'ok') {
      table.push([r.model, r.batch, r.engine, { colSpan: 4, content: `failed: ${r.reason}` }]);
      continue;
    }
    table.push([r.model, r.batch, r.engine, r.engineMedianMs!.toFixed(3), r.idiomaticMedianMs!.toFixed(3), `${ratioText(r)}${r.ratio! > FIDELITY_WARNING_RATIO ? ' SLOW' : ''}`, r.engineSamplesMs!.length]);
  }
  console.log(table.toString());
  for (const name of [...new Set(records.map((r) => r.engine))]) {
    const described = records.find((r) => r.engine === name && r.idiomatic)?.idiomatic;
    if (described) console.log(`${name}: idiomatic side = ${described.replace(/^([^;]*);.*$/, '$1')}`);
  }
  const slow = records.filter((r) => r.ratio !== undefined && r.ratio > FIDELITY_WARNING_RATIO);
  if (slow.length) {
    console.log(`Warning: ${slow.length} check(s) found formbench over ${FIDELITY_WARNING_RATIO}× slower than the framework's own execution: speed-ups over those engines are inflated by that factor.`);
  }
  if (records.some((r) => r.status === 'failed')) process.exitCode = 1;
}

export function registerFidelityCommand(program: Command): void {
  program
    .command('fidelity')
    .description("time each native engine against its framework's own idiomatic execution of the same network, interleaved (torchvision / nn.Sequential, a tfjs-converter GraphModel, a bare InferenceSession)")
    .argument('<specs...>', 'model specs or .onnx files')
    .option('--engines <list>', 'engines with options (default: every native engine that can run here)')
    .option('--batch <list>', 'batch sizes', batchList, [1])
    .option('--budget-s <s>', 'time budget of the interleaved runs, seconds', positiveInt, 10)
    .option('--ci <percent>', 'stop once both medians are within ± this percent (95% interval)', positiveInt, 2)
    .option('--json', 'machine-readable output, every sample kept')
    .action(fidelityCommand);
}
