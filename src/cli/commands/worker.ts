import { Option, type Command } from 'commander';
import { ALLOW_SOFTWARE_GPU_FLAG } from '../../study/index.js';
import { fleetUrlOption, positiveSeconds } from '../fleet-options.js';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description("run a fleet's trials on this machine, one at a time, into its PostgreSQL store")
    .addOption(fleetUrlOption())
    .option('--name <name>', 'this machine in the fleet (default: its host name); stored with every row it measures')
    .option('--class <class>', 'the machine class to share split studies with (default: CPU model, cores, memory and engine versions)')
    .option(ALLOW_SOFTWARE_GPU_FLAG, 'run GPU engines on a software adapter (SwiftShader, on the CPU) too: for correctness; their trials are labelled software GPU')
    .option('--no-peaks', "do not measure the machine's peak GFLOP/s and bandwidth (a few seconds per class, before its first trial): the report draws no roofline for it")
    .option('--exit-when-idle', 'stop once no trial is left queued, running or waiting for a retry on this machine')
    .addOption(new Option('--poll-s <seconds>', 'how often an idle worker looks for trials').argParser(positiveSeconds).default(2))
    .action(workerCommand);
}

/** `formbench worker`: takes trials until stopped (Ctrl-C: the trial in flight goes back to the queue). */
async function workerCommand(o: { fleet: string; name?: string; class?: string; exitWhenIdle?: boolean; allowSoftwareGpu?: boolean; peaks: boolean; pollS: number }): Promise<void> {
  // pg-boss and pg load when a fleet command runs, not with every other command.
  const { parseFleetUrl, runWorker } = await import('../../fleet/index.js');
  const url = parseFleetUrl(o.fleet);
  const controller = new AbortController();
  const stop = () => {
    controller.abort();
    process.stderr.write('\nstopping: the trial in flight goes back to the queue for another worker\n');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const { trials } = await runWorker({
    url,
    ...(o.name ? { name: o.name } : {}),
    ...(o.class ? { className: o.class } : {}),
    exitWhenIdle: o.exitWhenIdle === true,
    allowSoftwareGpu: o.allowSoftwareGpu === true,
    noPeaks: !o.peaks,
    pollMs: o.pollS * 1000,
    signal: controller.signal,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stderr.write(`worker stored ${trials} result${trials === 1 ? '' : 's'} (trials and fidelity checks)\n`);
  if (controller.signal.aborted) process.exitCode = 130;
}
