#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { UserError } from '../errors.js';
import { analyzeCommand } from './commands/analyze.js';
import { benchCommand } from './commands/bench.js';
import { checkCommand } from './commands/check.js';
import { registerConvertCommand } from './commands/convert.js';
import { registerCountersCommand } from './commands/counters.js';
import { enginesCommand } from './commands/engines.js';
import { exportCommand } from './commands/export.js';
import { registerFidelityCommand } from './commands/fidelity.js';
import { modelsCommand } from './commands/models.js';
import { registerProfileCommand } from './commands/profile.js';
import { registerQuantizeCommand } from './commands/quantize.js';
import { registerSparsityCommand } from './commands/sparsity.js';
import { EXPORT_FORMATS, reportCommand, resultsCommand } from './commands/results.js';
import { studyCommand } from './commands/study.js';
import { intList, positiveInt } from './options.js';
import { PRESET_NAMES } from '../study/presets.js';

/** Exit code for anything the user can fix: a bad spec, file, flag or value. */
const USAGE_EXIT = 2;

const program = new Command('formbench')
  .description('How a network\'s form decides what hardware-specific acceleration buys it')
  .exitOverride()
  .showHelpAfterError(false);

program
  .command('study')
  .description('run a study (a preset or a YAML file) into a results store, then write its report')
  .argument('<study>', `preset (${PRESET_NAMES.join(', ')}) or a YAML study file`)
  .option('--out <dir>', 'results folder (default: ./formbench-results/<study name>)')
  .option('--dry-run', 'print the plan only')
  .option('--resume', 'skip trials already stored for this machine (always on: re-running a study resumes it)')
  .option('--no-report', 'do not write the report at the end')
  .option('--json', 'machine-readable events, one JSON object per line')
  .action(studyCommand);

program
  .command('results')
  .description('export the stored trials of a results folder for pandas, R or a spreadsheet')
  .argument('<dir>', 'results folder written by formbench study')
  .addOption(new Option('--format <format>', 'output format').choices([...EXPORT_FORMATS]).default('csv'))
  .option('-o, --output <file>', 'write to a file (default: stdout)')
  .action(resultsCommand);

program
  .command('report')
  .description('write report.html, figures (SVG, PNG) and tables (CSV, Markdown) from a results folder')
  .argument('<dir>', 'results folder written by formbench study')
  .option('--baseline <engine>', 'engine the speed-ups are relative to (default: the first native framework)')
  .action(reportCommand);

program
  .command('models')
  .description('list the model zoo (design patterns, spec syntax)')
  .option('--json', 'machine-readable output')
  .action(modelsCommand);

program
  .command('analyze')
  .description('static cost per layer and in total: MACs, FLOPs, parameters, bytes, arithmetic intensity')
  .argument('[specs...]', 'model specs (pattern/d<depth>/w<width>[/r<res>]) or .onnx files')
  .option('--batch <n>', 'batch size', positiveInt, 1)
  .option('--zoo', 'add the six patterns at every --depths × --widths')
  .option('--depths <list>', 'depths for --zoo', intList, [10, 20, 30, 40, 50])
  .option('--widths <list>', 'widths for --zoo', intList, [64])
  .option('--check', 'also run each model once in onnxruntime and check activation health')
  .option('--json', 'machine-readable output')
  .action(async (specs: string[], options) => {
    if (specs.length === 0 && !options.zoo) throw new UserError('analyze needs a model spec or --zoo', "e.g. 'formbench analyze standard/d10/w64' or 'formbench analyze --zoo'");
    await analyzeCommand(specs, options);
  });

program
  .command('check')
  .description('run a model once and report each layer\'s activation std and subnormal fraction')
  .argument('<spec>', 'model spec or .onnx file')
  .option('--batch <n>', 'batch size', positiveInt, 1)
  .option('--json', 'machine-readable output')
  .action(async (spec: string, options) => {
    if (!(await checkCommand(spec, options))) process.exitCode = 1;
  });

program
  .command('bench')
  .description('time models on engines, each trial in its own worker process: medians, intervals, speed-ups')
  .argument('<specs...>', 'model specs or .onnx files')
  .option('--engines <list>', 'engines with options, e.g. ort,ort:opt=disabled', (v: string) => v.split(/,(?![^,:]*=)/), ['ort', 'ort:opt=disabled'])
  .option('--batch <list>', 'batch sizes', intList, [1])
  .option('--baseline <engine>', 'engine the speed-ups are relative to (default: the first)')
  .option('--budget-s <s>', 'time budget of the timed runs per trial, seconds', positiveInt, 10)
  .option('--ci <percent>', 'stop a trial once the 95% interval of its median is within ± this percent', positiveInt, 2)
  .option('--json', 'machine-readable output')
  .action(benchCommand);
registerCountersCommand(program);
registerFidelityCommand(program);

program
  .command('engines')
  .description('list the engines, whether each can run here (and why not), and the CPU\'s ISA features')
  .option('--json', 'machine-readable output')
  .action(enginesCommand);

program
  .command('export')
  .description('write a model as ONNX (zoo weights seeded and BatchNorm-calibrated)')
  .argument('<spec>', 'model spec or .onnx file')
  .requiredOption('-o, --output <file>', 'ONNX file to write')
  .option('--batch <n>', 'fix the batch size (default: symbolic N)', positiveInt)
  .addOption(new Option('--opset <n>', 'ONNX opset to declare').argParser(positiveInt).default(17))
  .action(exportCommand);

registerSparsityCommand(program);
registerProfileCommand(program);
registerQuantizeCommand(program);
registerConvertCommand(program);

try {
  await program.parseAsync();
} catch (e) {
  process.exitCode = report(e);
}

/** One line for user errors; the stack only for bugs. */
function report(e: unknown): number {
  if (e instanceof CommanderError) {
    // Commander has already printed its message (or help/version, which exit 0).
    return e.exitCode === 0 ? 0 : USAGE_EXIT;
  }
  if (e instanceof UserError) {
    // One line: what is wrong, then how to fix it.
    process.stderr.write(`formbench: error: ${e.message}${e.hint ? ` (hint: ${e.hint})` : ''}\n`);
    return USAGE_EXIT;
  }
  process.stderr.write(`formbench: internal error (please report): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return 1;
}
