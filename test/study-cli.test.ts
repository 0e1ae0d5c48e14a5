import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ResultStore } from '../src/store/index.js';
import { testTempDir } from './temp-dir.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const tmp = testTempDir('formbench-study-cli-');
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function formbench(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 64 * 2 ** 20, cwd: tmp }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Six tiny trials: three models × two engines, a short budget each. */
const TINY = `name: tiny
models: [standard/d2/w16/r32, depthwise-separable/d2/w16/r32, bottleneck/d2/w16/r32]
engines: [ort, "ort:opt=disabled"]
budget: { timedSeconds: 0.2, warmupSeconds: 0.05 }
`;

async function storedRows(out: string) {
  const store = await ResultStore.open(join(out, 'results.duckdb'));
  try {
    return await store.rows();
  } finally {
    store.close();
  }
}

describe('formbench study (CLI)', () => {
  it('--dry-run prints the plan and creates nothing', async () => {
    writeFileSync(join(tmp, 'tiny.yaml'), TINY);
    const r = await formbench('study', 'tiny.yaml', '--dry-run', '--out', 'dry');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /6 trials: 0 already stored .* 6 to run, estimated \d+s/);
    assert.ok(!existsSync(join(tmp, 'dry')));
  });

  it('a study killed with kill -9 mid-run resumes with no trial lost or duplicated', async () => {
    writeFileSync(join(tmp, 'tiny.yaml'), TINY);
    const out = join(tmp, 'killed');
    // Kill the whole process group (the study and its trial worker) once two trials are stored.
    // A killed study cannot remove its prepared model: it goes into this test's folder, not /tmp.
    const child = spawn(process.execPath, [CLI, 'study', 'tiny.yaml', '--out', out, '--json', '--no-report'], { cwd: tmp, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
    let done = 0;
    let buffer = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const line of lines) if ((JSON.parse(line) as { type: string }).type === 'trial-done') done++;
        if (done >= 2 && child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
      });
      child.on('exit', () => resolve());
      child.on('error', reject);
    });
    assert.equal(child.signalCode, 'SIGKILL', 'the study was killed, not finished');
    const before = await storedRows(out);
    assert.ok(before.length >= 2 && before.length < 6, `stored before the kill: ${before.length}`);

    const r = await formbench('study', 'tiny.yaml', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`6 trials: ${before.length} already stored`));
    const rows = await storedRows(out);
    assert.equal(rows.length, 6);
    assert.equal(new Set(rows.map((x) => x.trialKey)).size, 6, 'no duplicates');
    for (const b of before) assert.deepEqual(rows.find((x) => x.trialKey === b.trialKey), b, 'trials stored before the kill are untouched');
    assert.ok(rows.every((x) => x.status === 'ok' && x.samplesMs.length === x.runs));
    assert.ok(existsSync(join(out, 'report.html')));

    // Running it again measures nothing new.
    const again = await formbench('study', 'tiny.yaml', '--out', out, '--no-report');
    assert.match(again.stderr, /6 already stored .* 0 to run/);
    assert.equal((await storedRows(out)).length, 6);
  });

  it('SIGTERM stops at once: the trial in flight is dropped, the stored ones kept, exit 130', async () => {
    writeFileSync(join(tmp, 'slow.yaml'), TINY.replace('name: tiny', 'name: slow').replace('timedSeconds: 0.2', 'timedSeconds: 30, ciPercent: 0.001, maxRuns: 100000000'));
    const out = join(tmp, 'stopped');
    const child = spawn(process.execPath, [CLI, 'study', 'slow.yaml', '--out', out, '--json'], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let scheduled = false;
    let killedAt: number | undefined;
    // The first trial would time runs for 30 s: stop it while it does.
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('"trial-start"') && !scheduled) {
        scheduled = true;
        setTimeout(() => {
          killedAt = Date.now();
          child.kill('SIGTERM');
        }, 1500);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 130, stderr);
    // From the signal, not from the start: a loaded machine may take long to reach the first trial.
    assert.ok(killedAt !== undefined && Date.now() - killedAt < 15_000, 'it did not wait for the trial budget');
    assert.match(stderr, /interrupted: every finished trial is stored/);
    assert.equal((await storedRows(out)).length, 0, 'the interrupted trial is not stored as a result');
  });

  it('results export as CSV, JSON and Parquet; report rewrites the page', async () => {
    const out = join(tmp, 'killed');
    const csv = await formbench('results', out, '--format', 'csv');
    assert.equal(csv.code, 0, csv.stderr);
    assert.equal(csv.stdout.trim().split('\n').length, 7);
    const json = JSON.parse((await formbench('results', out, '--format', 'json')).stdout) as { engine: string }[];
    assert.equal(json.length, 6);
    const pq = await formbench('results', out, '--format', 'parquet', '-o', join(tmp, 'trials.parquet'));
    assert.equal(pq.code, 0, pq.stderr);
    assert.equal(readFileSync(join(tmp, 'trials.parquet')).subarray(0, 4).toString(), 'PAR1');
    const report = await formbench('report', out);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /ort is [\d.]+× as fast as ort:opt=disabled|ort:opt=disabled is [\d.]+× as fast as ort/);
  });

  it('a precision study stores each trial\'s precision, error and kernels, and reports INT8 beside FP32', async () => {
    writeFileSync(
      join(tmp, 'precision.yaml'),
      'name: precision\nmodels: [standard/d4/w32/r32]\nengines: ["ort:threads=1", "ort:precision=int8,threads=1"]\nbudget: { timedSeconds: 0.3, warmupSeconds: 0.05 }\n',
    );
    const out = join(tmp, 'precision');
    const r = await formbench('study', 'precision.yaml', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    const rows = await storedRows(out);
    const fp32 = rows.find((x) => x.precision === 'fp32')!;
    const int8 = rows.find((x) => x.precision === 'int8')!;
    assert.equal(int8.status, 'ok', int8.reason ?? '');
    assert.equal(fp32.kernelPrecision, null, 'FP32 trials are not profiled');
    const kernels = JSON.parse(int8.kernelPrecision!) as { macKernels: Record<string, number> };
    assert.ok((kernels.macKernels['integer'] ?? 0) >= 4, int8.kernelPrecision!);
    assert.ok(int8.outputRelativeError! > fp32.outputRelativeError! && int8.outputRelativeError! < 0.5);
    assert.ok(int8.outputMaxAbsError! > 0 && int8.outputTop1Agreement !== null);
    assert.match(r.stdout, /ort int8 is [\d.]+× as fast as FP32 on ort/);
    assert.ok(existsSync(join(out, 'figures', 'precision-speedups.png')) && existsSync(join(out, 'figures', 'precision-error-vs-speedup.svg')));
  });

  it('bad input: one line, exit 2, and the stored results are untouched', async () => {
    const out = join(tmp, 'killed');
    const before = readFileSync(join(out, 'results.duckdb'));
    writeFileSync(join(tmp, 'bad.yaml'), 'name: tiny\nmodels: [standard/d2/w16/r32]\nengines: [ort]\nbatch: [1]\n');
    for (const args of [['study', 'bad.yaml', '--out', out], ['study', 'nope'], ['results', join(tmp, 'nowhere')], ['results', out, '--format', 'xlsx']]) {
      const r = await formbench(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
    assert.match((await formbench('study', 'bad.yaml', '--out', out)).stderr, /bad\.yaml: unknown key 'batch'/);
    assert.deepEqual(readFileSync(join(out, 'results.duckdb')), before);
  });
});
