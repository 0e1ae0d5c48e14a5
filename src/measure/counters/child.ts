/**
 * Runs a counted process (perf or valgrind with the counter worker under it) as a plain child:
 * collects the worker's report from stdout, forwards its progress lines, and stops it on
 * timeout. The child stays in our process group, so a Ctrl-C at the terminal stops it too; on
 * timeout it gets SIGTERM first, because perf passes that on to its workload (a SIGKILLed perf
 * would leave the worker running), then SIGKILL.
 */
import { spawn } from 'node:child_process';
import { PROGRESS_PREFIX, type CounterWorkerReport } from './worker-protocol.js';

/** How long a timed-out child has to stop after SIGTERM before it is killed. */
const TERM_GRACE_MS = 5_000;

export interface ChildOutcome {
  /** The worker's report, when it printed one. */
  report?: CounterWorkerReport;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The last lines of stderr that were not progress lines, for failure reasons. */
  stderrTail: string;
  /** The spawn itself failed (ENOENT: the tool is not installed). */
  spawnError?: NodeJS.ErrnoException;
}

export function runCounted(command: string, args: string[], timeoutMs: number, onProgress: (line: string) => void, env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    // SIGKILL on abort: valgrind tears down its traced children with it.
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env, ...(signal ? { signal, killSignal: 'SIGKILL' as const } : {}) });
    let stdout = '';
    let stderrTail = '';
    let pending = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout = (stdout + d.toString()).slice(-100_000);
    });
    child.stderr.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith(PROGRESS_PREFIX)) onProgress(line.slice(PROGRESS_PREFIX.length));
        else if (line.trim()) stderrTail = `${stderrTail}\n${line}`.slice(-4000);
      }
    });
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), TERM_GRACE_MS);
    }, timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ exitCode: null, signal: null, timedOut, stderrTail, spawnError: e });
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      clearTimeout(killer);
      const last = stdout.trim().split('\n').at(-1) ?? '';
      let report: CounterWorkerReport | undefined;
      try {
        const parsed = JSON.parse(last) as CounterWorkerReport;
        if (parsed && (parsed.status === 'ok' || parsed.status === 'failed')) report = parsed;
      } catch {
        // No report: the reason is in the exit status and stderr.
      }
      resolve({ ...(report ? { report } : {}), exitCode, signal, timedOut, stderrTail: stderrTail.trim() });
    });
  });
}

/** Why a counted child produced no result, in one line. */
export function failureReason(what: string, o: ChildOutcome, timeoutMs: number): string {
  if (o.report?.status === 'failed') return o.report.reason;
  if (o.timedOut) return `${what} did not finish within ${Math.round(timeoutMs / 1000)} s`;
  const how = o.signal ? `signal ${o.signal}` : `exit code ${o.exitCode}`;
  const last = o.stderrTail.split('\n').at(-1);
  return `${what} failed (${how})${last ? `: ${last}` : ''}`;
}
