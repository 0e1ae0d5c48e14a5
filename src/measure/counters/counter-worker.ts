/**
 * The counter worker: a plain child process (no IPC channel, so that it can run under `perf stat`
 * or valgrind) that loads one model into one engine exactly as the trial worker does, runs one
 * warm-up inference, then the counted ones, and exits. Under perf it switches the counters on and
 * off around the counted inferences only; under callgrind it touches a marker after each
 * inference, where the simulator writes its counts out (callgrind.ts).
 *
 * Input: one JSON argument (CounterWorkerRequest). Output: one JSON line on stdout
 * (CounterWorkerReport); progress lines on stderr, each prefixed with PROGRESS_PREFIX.
 */
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { PROGRESS_PREFIX, type CounterWorkerReport, type CounterWorkerRequest } from './worker-protocol.js';
import { loadWorkerSession } from '../worker-session.js';

/** perf answers each control command within milliseconds; longer means it is not listening. */
const ACK_TIMEOUT_MS = 30_000;
const PROGRESS_EVERY_MS = 5_000;

async function main(r: CounterWorkerRequest): Promise<CounterWorkerReport> {
  const loaded = await loadWorkerSession(r);
  if (!loaded.ok) return { status: 'failed', reason: loaded.reason };
  const { session, input, dims, loadMs, engineVersion } = loaded;
  progress(`loaded in ${(loadMs / 1000).toFixed(1)} s`);
  const control = r.perfControl ? openPerfControl(r.perfControl.ctlFifo, r.perfControl.ackFifo) : undefined;
  try {
    await session.run(input, dims);
    markInferenceEnd();
    progress('warm-up inference done');
    const t1 = performance.now();
    control?.command('enable');
    // Progress inside the counted window is itself counted: never under perf, and under
    // simulation (seconds per inference) at most every few seconds.
    let lastProgressMs = performance.now();
    for (let i = 0; i < r.inferences; i++) {
      await session.run(input, dims);
      markInferenceEnd();
      if (!control && performance.now() - lastProgressMs > PROGRESS_EVERY_MS) {
        progress(`inference ${i + 1}/${r.inferences}`);
        lastProgressMs = performance.now();
      }
    }
    control?.command('disable');
    progress(`${r.inferences} inferences done`);
    return { status: 'ok', engineVersion, loadMs, countedMs: performance.now() - t1 };
  } finally {
    control?.close();
    await session.dispose();
  }
}

/** Reading process.ppid calls getppid(2): the marker callgrind cuts its counts at (INFERENCE_MARKER). */
function markInferenceEnd(): void {
  void process.ppid;
}

function progress(line: string): void {
  process.stderr.write(`${PROGRESS_PREFIX}${line}\n`);
}

/**
 * perf's control interface: a command written to the control fifo, answered with "ack\n" on the
 * ack fifo once perf has enabled or disabled its counters. perf opens both fifos read-write and
 * non-blocking, so neither open here waits for the other end.
 */
function openPerfControl(ctlFifo: string, ackFifo: string): { command(cmd: 'enable' | 'disable'): void; close(): void } {
  const ctl = openSync(ctlFifo, 'w');
  const ack = openSync(ackFifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const buffer = Buffer.alloc(64);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  return {
    command(cmd) {
      writeSync(ctl, `${cmd}\n`);
      // Synchronous on purpose: nothing else may run between the command and the counted work.
      const deadline = Date.now() + ACK_TIMEOUT_MS;
      let answer = '';
      while (!answer.includes('ack')) {
        let n = 0;
        try {
          n = readSync(ack, buffer, 0, buffer.length, null);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        }
        answer += buffer.subarray(0, n).toString('latin1');
        if (n === 0) {
          if (Date.now() > deadline) throw new Error(`perf did not acknowledge '${cmd}' within ${ACK_TIMEOUT_MS / 1000} s`);
          Atomics.wait(sleeper, 0, 0, 1);
        }
      }
    },
    close() {
      closeSync(ctl);
      closeSync(ack);
    },
  };
}

const request = JSON.parse(process.argv[2] ?? '{}') as CounterWorkerRequest;
main(request)
  .catch((e: unknown): CounterWorkerReport => ({ status: 'failed', reason: (e as Error).message.split('\n')[0]! }))
  .then((report) => {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    // Engines may keep thread pools alive; the report is out, so leave now.
    process.exit(report.status === 'ok' ? 0 : 1);
  });
