/** What the CLI tests share: running the built command as a user would, and small probes. */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ResultStore } from '../src/store/index.js';

export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time of the whole process, ms. */
  ms: number;
}

/** Runs `formbench args…` in a fresh Node process and collects its exit code and output. */
export function runCli(args: string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliRun> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 64 * 2 ** 20, ...(options.cwd ? { cwd: options.cwd } : {}), ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}), env: { ...process.env, ...options.env } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Whether a command-line tool is installed (it answers --version). */
export function hasTool(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The rows a study stored in its results folder. */
export async function storedRows(out: string) {
  const store = await ResultStore.open(join(out, 'results.duckdb'));
  try {
    return await store.rows();
  } finally {
    store.close();
  }
}
