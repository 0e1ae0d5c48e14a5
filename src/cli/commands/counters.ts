import type { Command } from 'commander';
import { parseEngineChoice } from '../../engines/index.js';
import { UserError } from '../../errors.js';
import { INPUT_SEED, COUNTER_FIELDS, countedNothing, measureSpecCounters, parseGeometry, PERF_EVENT_OF, simulationOptions, type CounterMode, type CounterOk, type CountsPerInference } from '../../measure/index.js';
import { formatCount, makeTable, printJson } from '../format.js';
import { batchSize, positiveInt } from '../options.js';

export interface CountersOptions {
  engine: string;
  batch: number;
  inferences?: number;
  /** true for `--simulate` alone (the default geometry), else the geometry text. */
  simulate?: true | string;
  timeoutS?: number;
  json?: boolean;
}

/** Counted inferences when --inferences is not given: perf is cheap, simulation ~50× slow. */
const DEFAULT_INFERENCES = { perf: 50, simulate: 3 };
const DEFAULT_TIMEOUT_S = { perf: 300, simulate: 1800 };

const SIMULATE_HINT = 'use --simulate to count a simulated cache with valgrind instead';

export function registerCountersCommand(program: Command): void {
  program
    .command('counters')
    .description('hardware counters per inference (LLC misses, instructions, branches): perf, or a valgrind-simulated cache with --simulate')
    .argument('<spec>', 'model spec (pattern/d<depth>/w<width>[/r<res>]; a small /r keeps simulation affordable) or .onnx file')
    .option('--engine <engine>', 'engine with options, e.g. ort:opt=disabled', 'ort')
    .option('--batch <n>', 'batch size', batchSize, 1)
    .option('--inferences <n>', `counted inferences (default ${DEFAULT_INFERENCES.perf} with perf, ${DEFAULT_INFERENCES.simulate} simulated)`, positiveInt)
    .option('--simulate [geometry]', 'simulate the caches with valgrind (callgrind): paper (4MiB,16,64, the default), paper-r56 (256KiB,16,64 for 56×56 inputs), host, or <size>,<assoc>,<line> of the last level (write --simulate=<geometry>)')
    .option('--timeout-s <s>', `time limit, seconds (default ${DEFAULT_TIMEOUT_S.perf} with perf, ${DEFAULT_TIMEOUT_S.simulate} simulated)`, positiveInt)
    .option('--json', 'machine-readable output')
    .action(countersCommand);
}

/** `formbench counters`: count one model on one engine and print the figures per inference. */
export async function countersCommand(spec: string, o: CountersOptions): Promise<void> {
  const choice = parseEngineChoice(o.engine);
  const simulated = o.simulate !== undefined;
  const mode: CounterMode = simulated ? { simulate: parseGeometry(o.simulate === true ? undefined : o.simulate) } : 'perf';
  const { options, note } = simulated ? simulationOptions(choice) : { options: choice.options, note: undefined };
  const key = simulated ? 'simulate' : 'perf';
  const result = await measureSpecCounters({
    spec,
    engine: choice.engine.name,
    options,
    batch: o.batch,
    inputSeed: INPUT_SEED,
    inferences: o.inferences ?? DEFAULT_INFERENCES[key],
    mode,
    timeoutMs: (o.timeoutS ?? DEFAULT_TIMEOUT_S[key]) * 1000,
    onProgress: (line) => process.stderr.write(`${line}\n`),
  });
  if (result.status === 'failed') throw new UserError(`counting failed: ${result.reason}`, result.hint ?? (simulated ? undefined : SIMULATE_HINT));
  if (countedNothing(result)) {
    throw new UserError(`hardware counters are not supported on this machine: perf answered <not supported> for ${result.unsupported.join(', ')} (a VM without a virtual PMU?)`, SIMULATE_HINT);
  }
  const caveats = note ? [note, ...result.caveats] : result.caveats;
  if (o.json) {
    printJson({ ...result, engineLabel: choice.label, caveats });
    return;
  }
  printHuman(result, choice.label, caveats);
}

const LABELS: Record<keyof CountsPerInference, string> = {
  llcMissesPerInference: 'LLC misses (all)',
  llcLoadsPerInference: 'LLC loads',
  llcLoadMissesPerInference: 'LLC load misses',
  cacheReferencesPerInference: 'cache references (LLC accesses)',
  cacheMissesPerInference: 'cache misses (LLC)',
  instructionsPerInference: 'instructions',
  cyclesPerInference: 'cycles',
  branchesPerInference: 'branches',
  branchMissesPerInference: 'branch misses',
};

function printHuman(r: CounterOk, engineLabel: string, caveats: string[]): void {
  const what = r.simulated ? `simulated by valgrind, ${r.geometry!.name} geometry` : 'measured by perf';
  console.log(`${r.spec} on ${engineLabel}${r.simulated && r.options['threads'] ? ` (threads=${r.options['threads']})` : ''}, batch ${r.batch}: ${r.inferences} inferences, ${what}`);
  // Simulated figures are medians over the inferences, so a total would not be per inference × n.
  const withTotal = !r.simulated;
  const table = makeTable(['counter', 'per inference', ...(withTotal ? [`total over ${r.inferences}`] : [])], ['left', 'right', 'right']);
  for (const field of COUNTER_FIELDS) {
    if (field === 'cacheMissesPerInference') continue; // the same figure as llcMissesPerInference
    const v = r[field];
    const total = v === null ? '-' : formatCount(Math.round(v * r.inferences));
    table.push([LABELS[field], v === null ? notCountedLabel(r, field) : formatCount(Math.round(v)), ...(withTotal ? [total] : [])]);
  }
  console.log(table.toString());
  if (r.llcMissesByInference) console.log(`LLC misses by inference: ${r.llcMissesByInference.map((m) => formatCount(m)).join(', ')} (median above)`);
  console.log(`source: ${r.source}${r.simulated ? ' (simulated, not measured)' : ''}`);
  console.log(`method: ${r.method}`);
  if (caveats.length) console.log(`caveats:\n${caveats.map((c) => `  - ${c}`).join('\n')}`);
}

function notCountedLabel(r: CounterOk, field: keyof CountsPerInference): string {
  if (r.source === 'callgrind') return 'not simulated';
  return r.unsupported.includes(PERF_EVENT_OF[field]) ? 'not supported' : 'not counted';
}
