#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { loadEngineModules } from '../engines/index.js';
import { formatUserError, UserError } from '../errors.js';
import { loadAllowanceMs, workerMemoryCapBytes } from '../measure/index.js';
import { useRunTempDir } from './run-temp.js';
import { registerAdviseCommand } from './commands/advise.js';
import { registerAnalyzeCommand } from './commands/analyze.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerCalibrateCommand } from './commands/calibrate.js';
import { registerCheckCommand } from './commands/check.js';
import { registerConvertCommand } from './commands/convert.js';
import { registerCountersCommand } from './commands/counters.js';
import { registerEnginesCommand } from './commands/engines.js';
import { registerExportCommand } from './commands/export.js';
import { registerFidelityCommand } from './commands/fidelity.js';
import { registerModelsCommand } from './commands/models.js';
import { registerPredictCommand } from './commands/predict.js';
import { registerProfileCommand } from './commands/profile.js';
import { registerQuantizeCommand } from './commands/quantize.js';
import { registerReportCommand } from './commands/report.js';
import { registerResultsCommand } from './commands/results.js';
import { registerServeCommand } from './commands/serve.js';
import { registerSparsityCommand } from './commands/sparsity.js';
import { registerStudyCommand } from './commands/study.js';
import { registerFleetCommand } from './commands/fleet.js';
import { registerWorkerCommand } from './commands/worker.js';

/** Exit code for anything the user can fix: a bad spec, file, flag or value. */
const USAGE_EXIT = 2;

/** The installed package's own version (dist/src/cli/main.js sits three folders below package.json). */
const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('formbench')
  .version(version)
  .description('How a network\'s form decides what hardware-specific acceleration buys it')
  .exitOverride()
  .showHelpAfterError(false);

// In the order `formbench --help` lists them.
registerStudyCommand(program);
registerResultsCommand(program);
registerReportCommand(program);
registerModelsCommand(program);
registerAnalyzeCommand(program);
registerCheckCommand(program);
registerBenchCommand(program);
registerCountersCommand(program);
registerFidelityCommand(program);
registerEnginesCommand(program);
registerExportCommand(program);
registerSparsityCommand(program);
registerProfileCommand(program);
registerQuantizeCommand(program);
registerConvertCommand(program);
registerCalibrateCommand(program);
registerPredictCommand(program);
registerAdviseCommand(program);
registerWorkerCommand(program);
registerFleetCommand(program);
registerServeCommand(program);

// Commander's own errors (unknown option, missing argument, invalid value) in formbench's one-line form.
for (const command of [program, ...program.commands, ...program.commands.flatMap((c) => c.commands)]) {
  const name = command === program ? 'formbench' : `formbench ${command.parent && command.parent !== program ? `${command.parent.name()} ` : ''}${command.name()}`;
  command.configureOutput({ outputError: (text, write) => write(commanderErrorLine(text, name)) });
}

useRunTempDir();

try {
  // Engines registered at run time (FORMBENCH_ENGINE_MODULES) before any option names them.
  await loadEngineModules();
  // A bad limit in the environment is one error before any work, not a surprise in a worker.
  workerMemoryCapBytes();
  loadAllowanceMs();
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
    process.stderr.write(`${formatUserError(e)}\n`);
    return USAGE_EXIT;
  }
  process.stderr.write(`formbench: internal error (please report): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return 1;
}

/**
 * Commander writes "error: unknown option '--x'" and, on a second line, "(Did you mean --y?)";
 * formbench's errors are one line with the fix as its hint.
 */
function commanderErrorLine(text: string, command: string): string {
  const lines = text.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  const message = (lines[0] ?? 'invalid command line').replace(/^error:\s*/, '');
  const suggestion = lines.slice(1).join(' ').match(/^\((.*)\)$/)?.[1];
  const hint = suggestion ? `${suggestion[0]!.toLowerCase()}${suggestion.slice(1)}` : `'${command} --help' lists what it takes`;
  return `formbench: error: ${message} (hint: ${hint})\n`;
}
