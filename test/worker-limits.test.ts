/**
 * A runaway, oversized or hanging trial is stopped without taking the bench or the study with it:
 * trials predicted not to fit are refused before any worker starts (with the estimate), a worker
 * over its memory cap is killed with its children, and a time limit names the phase it caught.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { activationPeak, storedWeightBytes } from '../src/analysis/index.js';
import type { EngineChoice } from '../src/engines/index.js';
import { ConstTensor, type Graph } from '../src/ir/index.js';
import { estimateTrialMemory } from '../src/measure/index.js';
import { runCli, storedRows } from './cli-helpers.js';
import { CHILD_PID_FILE_ENV } from './fixtures/hungry-engines.js';

const tmp = mkdtempSync(join(tmpdir(), 'formbench-limits-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const MODULES = { FORMBENCH_ENGINE_MODULES: ['hungry-engines.js', 'failing-engines.js', 'stuck-engines.js'].map(fixture).join(':') };
const TINY = 'standard/d1/w8/r32';
/** At batch 4096 (the largest formbench runs) its activations need about 2.6 GiB: over a 1 GiB cap. */
const WIDE_INPUT = 'standard/d1/w8/r128';

/** Gone, or a zombie: killed, but left unreaped where the container's init does not reap orphans. */
function isRunning(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * X → A=Relu(X) → B=Relu(A) → C=Relu(B) → D=Add(A, C) → E=Mul(D, W): A stays alive across B and C
 * for the Add, so the peak is A, B, C while C is written (B's last read) and again A, C, D: three
 * 2×4×4 float tensors, 3 × 128 bytes per sample; not the largest tensor (128) nor their sum (768).
 */
function residualChain(): Graph {
  const type = { dtype: 'float32' as const, shape: ['N', 2, 4, 4] };
  const node = (name: string, op: string, inputs: string[]) => ({ name, op, inputs, outputs: [name.toUpperCase()], attrs: {} });
  return {
    name: 'residual-chain',
    inputs: [{ name: 'X', type }],
    outputs: [{ name: 'E', type }],
    initializers: new Map([['W', ConstTensor.fromFloat32([1, 2, 1, 1], Float32Array.of(1, 2))]]),
    nodes: [node('a', 'Relu', ['X']), node('b', 'Relu', ['A']), node('c', 'Relu', ['B']), node('d', 'Add', ['A', 'C']), node('e', 'Mul', ['D', 'W'])],
    metadata: {},
  };
}

describe('the memory estimate', () => {
  it('takes the liveness peak of the activations, by hand on a residual chain', () => {
    assert.deepEqual(activationPeak(residualChain(), 1), { peakBytes: 3 * 128, atNode: 'c' });
    assert.deepEqual(activationPeak(residualChain(), 4), { peakBytes: 4 * 3 * 128, atNode: 'c' });
    assert.equal(storedWeightBytes(residualChain()), 8);
  });

  it("adds the engine's base, weight copies and activation factor", () => {
    const footprint = { baseBytes: 1000, weightCopies: 3, activationFactor: 2 };
    const choice = { engine: { name: 'x', memoryFootprint: () => footprint }, options: {}, given: {}, label: 'x' } as unknown as EngineChoice;
    assert.deepEqual(estimateTrialMemory(residualChain(), 2, choice), { totalBytes: 1000 + 3 * 8 + 2 * 768, baseBytes: 1000, weightBytes: 24, activationBytes: 1536 });
  });
});

describe('refused before it starts', () => {
  it('bench: a batch that cannot fit is one line with the estimate in GiB, exit 2, in seconds', async () => {
    const r = await runCli(['bench', 'standard/d2/w512', '--batch', '4096', '--engines', 'ort']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^formbench: error: standard\/d2\/w512 at batch 4096 on ort would need about [\d.]+ GiB of memory \(weights [\d.]+ GiB, activations [\d.]+ GiB\), more than the [\d.]+ GiB a worker may use \(hint: use a smaller --batch/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.ok(r.ms < 20_000, `${r.ms} ms`);
  });

  it('an ONNX file over 2 GiB is refused from the parameter count, before any weight is built', async () => {
    const out = join(tmp, 'huge.onnx');
    for (const args of [['export', 'standard/d10/w4096/r1024', '--batch', '64', '-o', out], ['bench', 'standard/d10/w4096/r1024', '--batch', '64']]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^formbench: error: the ONNX file for '.*' would be at least 5\.\d\d GiB \(its weights alone\), over protobuf's 2 GiB limit \(hint: /);
      // Building its 5.6 GiB of weights took a minute.
      assert.ok(r.ms < 20_000, `${args[0]}: ${r.ms} ms`);
    }
    assert.ok(!existsSync(out));
  });

  it('FORMBENCH_WORKER_MEMORY_MB lowers the cap, and a value the machine cannot hold is an error', async () => {
    const low = await runCli(['bench', TINY, '--engines', 'ort'], { env: { FORMBENCH_WORKER_MEMORY_MB: '16' } });
    assert.equal(low.code, 2, low.stderr);
    assert.match(low.stderr, /would need about 0\.\d\d GiB .* more than the 0\.02 GiB a worker may use/);
    for (const bad of ['lots', String(2 ** 40)]) {
      const r = await runCli(['bench', TINY], { env: { FORMBENCH_WORKER_MEMORY_MB: bad } });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^formbench: error: FORMBENCH_WORKER_MEMORY_MB/);
    }
  });

  it('study: the plan flags it, the run records it failed with the estimate and goes on', async () => {
    writeFileSync(join(tmp, 'big.yaml'), `name: big\nmodels: [${WIDE_INPUT}]\nbatches: [1, 4096]\nengines: ["ort:threads=1"]\nbudget: { timedSeconds: 0.2, warmupSeconds: 0.05 }\n`);
    const env = { FORMBENCH_WORKER_MEMORY_MB: '1024' };
    const dry = await runCli(['study', 'big.yaml', '--dry-run', '--out', join(tmp, 'big')], { cwd: tmp, env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, /1 trial over the worker memory cap of 1\.00 GiB .*: refused when it comes up, stored as failed/);
    assert.match(dry.stderr, /standard\/d1\/w8\/r128 batch 4096 on ort:threads=1: about [\d.]+ GiB/);
    const run = await runCli(['study', 'big.yaml', '--out', join(tmp, 'big'), '--no-report'], { cwd: tmp, env });
    assert.equal(run.code, 0, run.stderr);
    const rows = await storedRows(join(tmp, 'big'));
    assert.deepEqual(rows.map((r) => [r.batch, r.status]).sort(), [[1, 'ok'], [4096, 'failed']]);
    assert.match(rows.find((r) => r.batch === 4096)!.reason!, /^refused before starting: estimated peak memory [\d.]+ GiB .* exceeds the worker memory cap of 1\.00 GiB/);
  });

  it('study: a scenario run over the cap is flagged in the plan as a trial is', async () => {
    writeFileSync(join(tmp, 'big-offline.yaml'), `name: big-offline\nmodels: [${WIDE_INPUT}]\nbatches: [1, 4096]\nengines: ["ort:threads=1"]\nscenario: offline\n`);
    const dry = await runCli(['study', 'big-offline.yaml', '--dry-run', '--out', join(tmp, 'big-offline')], { cwd: tmp, env: { FORMBENCH_WORKER_MEMORY_MB: '1024' } });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, /1 trial over the worker memory cap of 1\.00 GiB/);
    assert.match(dry.stderr, /standard\/d1\/w8\/r128 batch 4096 on ort:threads=1: about [\d.]+ GiB/);
  });
});

describe('a worker over its memory cap', () => {
  it('is killed with its children; the bench goes on and shows why', async () => {
    const pidFile = join(tmp, 'child.pid');
    const r = await runCli(['bench', TINY, '--engines', 'ort:threads=1,test-leak,test-leak-child', '--budget-s', '1', '--json'], { env: { ...MODULES, FORMBENCH_WORKER_MEMORY_MB: '400', [CHILD_PID_FILE_ENV]: pidFile } });
    assert.equal(r.code, 0, r.stderr);
    const trials = (JSON.parse(r.stdout) as { trials: { engine: string; status: string; reason?: string; peakRssMb?: number }[] }).trials;
    assert.equal(trials.find((t) => t.engine === 'ort:threads=1')?.status, 'ok');
    for (const engine of ['test-leak', 'test-leak-child']) {
      const t = trials.find((x) => x.engine === engine)!;
      assert.equal(t.status, 'failed');
      assert.match(t.reason!, /^worker exceeded its memory cap of 400 MiB \(peak seen (\d+) MiB\)$/);
      assert.ok(t.peakRssMb! > 400 && t.peakRssMb! < 1000, `${engine}: peak ${t.peakRssMb} MiB`);
    }
    // SIGKILL is delivered at once, but a process unmapping hundreds of MiB takes a moment to end.
    const childPid = Number(readFileSync(pidFile, 'utf8'));
    for (let waitedMs = 0; isRunning(childPid) && waitedMs < 3000; waitedMs += 100) await new Promise((r) => setTimeout(r, 100));
    assert.equal(isRunning(childPid), false, 'the leaking child outlived its worker');
  });
});

describe('time limits per phase', () => {
  it('name the phase: a hang while loading and one in the first run', async () => {
    const r = await runCli(['bench', TINY, '--engines', 'test-hang,test-hang-run', '--budget-s', '1', '--json'], { env: { ...MODULES, FORMBENCH_LOAD_TIMEOUT_S: '2' } });
    assert.equal(r.code, 0, r.stderr);
    const reasons = Object.fromEntries((JSON.parse(r.stdout) as { trials: { engine: string; reason?: string }[] }).trials.map((t) => [t.engine, t.reason]));
    assert.equal(reasons['test-hang'], 'timed out after 2 s while loading the model');
    assert.equal(reasons['test-hang-run'], 'timed out after 2 s while running the first inference');
  });

  it('a bad FORMBENCH_LOAD_TIMEOUT_S is one error before any work', async () => {
    const r = await runCli(['bench', TINY], { env: { FORMBENCH_LOAD_TIMEOUT_S: 'soon' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^formbench: error: FORMBENCH_LOAD_TIMEOUT_S must be a positive number of seconds, got 'soon'/);
  });
});
