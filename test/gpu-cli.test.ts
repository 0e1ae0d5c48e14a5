/**
 * GPU engines in the commands a user runs. A software adapter (SwiftShader: Vulkan on the CPU)
 * is never GPU acceleration: a study refuses it unless --allow-software-gpu, bench labels its rows
 * and shows no speed-up for them, `engines` names the adapter, and the presets add the GPU line
 * only on a hardware adapter.
 *
 * The rules are tested twice: on fake GPU engines (fixtures/fake-gpu-engines.ts, a software and a
 * hardware adapter, no GPU needed, so they hold wherever these tests run), and on the real
 * ort-webgpu and tfjs-webgpu where the adapter search finds SwiftShader (skipped, with the reason,
 * where it finds no adapter or a hardware one).
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gpuLines } from '../src/cli/print-gpu.js';
import { ENGINE_MODULES_ENV, engineChoice, type GpuAdapter } from '../src/engines/index.js';
import { UserError } from '../src/errors.js';
import { checkSoftwareGpu, planStudy, presetEngines, presetNotes, presetStudy, type GpuAvailability } from '../src/study/index.js';
import { runCli, storedRows, type CliRun } from './cli-helpers.js';
// Registers the fake GPU engines in this process too, for the in-process checks.
import './fixtures/fake-gpu-engines.js';
import { testTempDir } from './temp-dir.js';

const FAKE_GPU = fileURLToPath(new URL('./fixtures/fake-gpu-engines.js', import.meta.url));
const tmp = testTempDir('formbench-gpu-cli-');
after(() => rmSync(tmp, { recursive: true, force: true }));

const MODEL = 'standard/d2/w16/r32';
const withFakes = { [ENGINE_MODULES_ENV]: FAKE_GPU };
const formbench = (args: string[], env: Record<string, string> = {}): Promise<CliRun> => runCli(args, { cwd: tmp, env, timeoutMs: 120_000 });

/** A one-model study file on these engines with a short budget; returns its path. */
function studyFile(name: string, engines: string[]): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nmodels: [${MODEL}]\nengines: [${engines.map((e) => `"${e}"`).join(', ')}]\nbudget: { timedSeconds: 0.2, warmupSeconds: 0.05 }\n`);
  return file;
}

/** The one-line refusal: exit 2, no stack, what is wrong and both ways out, and no results folder. */
function assertRefused(r: CliRun, out: string, engine: string): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`^formbench: error: the study runs ${engine} on a software GPU, .*software GPU\\).*--allow-software-gpu.*hardware GPU`));
  assert.ok(!existsSync(out), `${out} was created`);
}

describe('software GPU rule (fake engines, no GPU needed)', () => {
  it('checkSoftwareGpu refuses a software adapter unless allowed, and passes a hardware one or none', async () => {
    const soft = engineChoice('fake-soft-gpu');
    await assert.rejects(checkSoftwareGpu([engineChoice('fake-native'), soft], false), (e: unknown) => e instanceof UserError && /fake-soft-gpu on a software GPU/.test(e.message) && /--allow-software-gpu/.test(e.hint ?? ''));
    assert.deepEqual((await checkSoftwareGpu([soft], true)).map((u) => u.engine), ['fake-soft-gpu']);
    assert.deepEqual(await checkSoftwareGpu([engineChoice('fake-hard-gpu'), engineChoice('fake-native')], false), []);
  });

  it('a study naming a software-GPU engine: refused (also as a dry run) without the flag, run with it', async () => {
    const file = studyFile('soft', ['fake-native', 'fake-soft-gpu']);
    const out = join(tmp, 'soft-out');
    assertRefused(await formbench(['study', file, '--out', out], withFakes), out, 'fake-soft-gpu');
    assertRefused(await formbench(['study', file, '--out', out, '--dry-run'], withFakes), out, 'fake-soft-gpu');
    const r = await formbench(['study', file, '--out', out, '--allow-software-gpu', '--no-report'], withFakes);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /note: fake-soft-gpu runs on a software GPU, Fake software driver 1\.0 .*labelled software GPU/);
    const rows = await storedRows(out);
    assert.deepEqual(rows.map((row) => `${row.engine} ${row.status}`).sort(), ['fake-native ok', 'fake-soft-gpu ok']);
  });

  it('a study on a hardware adapter needs no flag', async () => {
    const r = await formbench(['study', studyFile('hard', ['fake-native', 'fake-hard-gpu']), '--out', join(tmp, 'hard-out'), '--dry-run'], withFakes);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /software GPU/);
  });

  it('--help documents --allow-software-gpu', async () => {
    const r = await formbench(['study', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--allow-software-gpu\s+let GPU engines run on a software adapter/);
  });

  it('bench labels software-GPU rows and gives them no speed-up; a hardware GPU keeps its speed-up', async () => {
    const args = ['bench', MODEL, '--engines', 'fake-native,fake-soft-gpu,fake-hard-gpu', '--budget-s', '1'];
    const text = await formbench(args, withFakes);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /│ fake-soft-gpu \(software GPU\) .*│ +— \(software GPU\) │/);
    // The fake hardware GPU runs FAKE_DEFAULT_GAIN (4) times faster than fake-native, exactly.
    assert.match(text.stdout, /│ fake-hard-gpu +│.*│ +4\.00×/);
    assert.match(text.stdout, /GPU adapter: Fake software driver 1\.0 \(fake-vendor fake-swiftshader, vulkan, software GPU\), for fake-soft-gpu: .*no GPU acceleration/);
    assert.match(text.stdout, /GPU adapter: Fake hardware driver 1\.0 \(fake-gpu-vendor fake-arch, vulkan, hardware GPU\), for fake-hard-gpu\n/);
    assert.match(text.stdout, /fake-soft-gpu \(software GPU\) batch 1: first inference [\d.]+ ms/);

    const json = await formbench([...args, '--json'], withFakes);
    assert.equal(json.code, 0, json.stderr);
    const result = JSON.parse(json.stdout) as { trials: { engine: string; gpu?: { software: boolean }; firstRunMs?: number }[]; speedups: { engine: string }[] };
    const soft = result.trials.find((t) => t.engine === 'fake-soft-gpu')!;
    assert.equal(soft.gpu?.software, true);
    assert.equal(typeof soft.firstRunMs, 'number');
    assert.deepEqual(result.speedups.map((s) => s.engine), ['fake-hard-gpu']);
  });
});

describe("bench's GPU lines", () => {
  const adapter: GpuAdapter = { vendor: 'nvidia', architecture: 'hopper', device: 'H200', driver: 'NVIDIA 550.54', backend: 'vulkan', software: false, features: ['timestamp-query'], source: 'test' };
  const trial = (cpuMacKernels: number) => ({
    model: MODEL,
    engine: 'ort-webgpu',
    options: {},
    batch: 8,
    status: 'ok' as const,
    firstRunMs: 812.46,
    gpu: adapter,
    placement: { runs: 10, providers: [{ provider: 'webgpu', kernels: 9, ms: 0.9, share: 0.9, ops: {} }, { provider: 'cpu', kernels: 2, ms: 0.1, share: 0.1, ops: {} }], macKernels: { webgpu: 3, cpu: cpuMacKernels }, deviceMs: 0.4321, method: 'test' },
  });

  it('name the adapter once, give first inference and on-device time, and warn of convolutions on the CPU', () => {
    const lines = gpuLines([trial(2), { ...trial(0), batch: 1 }]);
    assert.deepEqual(lines, [
      'GPU adapter: NVIDIA 550.54 (nvidia hopper, vulkan, hardware GPU), for ort-webgpu',
      `  ${MODEL} ort-webgpu batch 8: first inference 812.5 ms (allocation and shader compilation); on the device 0.432 ms per inference; kernels: webgpu 90%, cpu 10%`,
      `  ${MODEL} ort-webgpu batch 1: first inference 812.5 ms (allocation and shader compilation); on the device 0.432 ms per inference; kernels: webgpu 90%, cpu 10%`,
      `Warning: ${MODEL} ort-webgpu batch 8: 2 convolution or matrix-product kernels ran on the CPU, not the GPU: this trial's time is partly the CPU's (see its placement in --json)`,
    ]);
    assert.deepEqual(gpuLines([{ ...trial(0), gpu: undefined, placement: undefined }]), []);
  });
});

describe('presets and the GPU line', () => {
  const cpuEngines: [string, GpuAvailability][] = [
    ['torch', { available: true }],
    ['ort', { available: true }],
    ['tfjs-wasm', { available: true }],
  ];
  const engineSets = (e: ReturnType<typeof presetEngines>) => [...new Set(presetStudy('quick', e).sweeps.map((s) => s.engines.join(',')))];

  it('adds ort-webgpu as the third line on a hardware adapter, to the latency presets only', () => {
    const e = presetEngines(new Map([...cpuEngines, ['ort-webgpu', { available: true, gpu: { software: false } }]]));
    assert.deepEqual(engineSets(e), ['torch,ort,ort-webgpu', 'torch:mode=jit-frozen']);
    for (const name of ['cache', 'precision'] as const) assert.ok(planStudy(presetStudy(name, e)).trials.every((t) => t.choice.engine.name !== 'ort-webgpu'), name);
    assert.deepEqual(presetNotes('quick', e), []);
  });

  it('leaves the presets unchanged on a software adapter or none, and says so in one note', () => {
    const none = presetEngines(new Map(cpuEngines));
    for (const gpu of [{ available: true, gpu: { software: true, driver: 'SwiftShader driver 5.0.0' } }, { available: false, reason: 'no WebGPU adapter' }]) {
      const e = presetEngines(new Map([...cpuEngines, ['ort-webgpu', gpu]]));
      assert.deepEqual(presetStudy('quick', e), presetStudy('quick', none));
      const notes = presetNotes('quick', e);
      assert.equal(notes.length, 1);
      assert.match(notes[0]!, /^no hardware GPU: ort-webgpu (has only a software adapter here \(SwiftShader driver 5\.0\.0\)|cannot run \(no WebGPU adapter\)), so the presets leave out the GPU line/);
      assert.deepEqual(presetNotes('cache', e), []);
    }
  });
});

/** What this machine's adapter search found, asked as a user would (`engines --json`). */
const probe = await formbench(['engines', '--json']);
const gpuEngines = (JSON.parse(probe.stdout) as { engines: { name: string; available: boolean; reason?: string; adapter?: string; gpu?: { software: boolean } }[] }).engines.filter((e) => e.name === 'ort-webgpu' || e.name === 'tfjs-webgpu');
const ortWebgpu = gpuEngines.find((e) => e.name === 'ort-webgpu');
// .ci/run sets FORMBENCH_REQUIRE_WEBGPU_ADAPTER=1 once it has installed SwiftShader's loader: there, its absence fails.
const noSoftwareGpu = process.env['FORMBENCH_REQUIRE_WEBGPU_ADAPTER'] === '1' ? false : !ortWebgpu?.available ? `ort-webgpu cannot run here: ${ortWebgpu?.reason ?? 'not registered'}` : !ortWebgpu.gpu?.software ? `the adapter here is a hardware GPU (${ortWebgpu.adapter}): the software-GPU rules do not apply` : false;

describe('on the real software adapter (SwiftShader)', { skip: noSoftwareGpu }, () => {
  it('engines lists ort-webgpu and tfjs-webgpu on the software GPU, in the table and in --json', async () => {
    assert.deepEqual(gpuEngines.map((e) => [e.name, e.available, e.gpu?.software, /software GPU\)$/.test(e.adapter ?? '')]), [
      ['ort-webgpu', true, true, true],
      ['tfjs-webgpu', true, true, true],
    ]);
    const r = await formbench(['engines']);
    assert.equal(r.code, 0, r.stderr);
    for (const name of ['ort-webgpu', 'tfjs-webgpu']) assert.match(r.stdout, new RegExp(`│ ${name} +│ gpu-accelerated │ yes +│ [\\d.]+ on .*software GPU\\)`));
  });

  it('a study with ort-webgpu is refused without --allow-software-gpu and runs with it', async () => {
    const file = studyFile('swiftshader', ['ort', 'ort-webgpu']);
    const out = join(tmp, 'swiftshader-out');
    assertRefused(await formbench(['study', file, '--out', out]), out, 'ort-webgpu');
    const r = await formbench(['study', file, '--out', out, '--allow-software-gpu', '--no-report']);
    assert.equal(r.code, 0, r.stderr);
    const rows = await storedRows(out);
    assert.deepEqual(rows.map((row) => `${row.engine} ${row.status}`).sort(), ['ort ok', 'ort-webgpu ok']);
  });

  it('profile names the software adapter and times each layer on the device', async () => {
    const r = await formbench(['profile', MODEL, '--engine', 'ort-webgpu', '--runs', '3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^standard\/d2\/w16\/r32 on ort-webgpu \(software GPU\) /m);
    assert.match(r.stdout, /^GPU adapter: .*software GPU\): a CPU implementation/m);
    assert.match(r.stdout, /each GPU program timed on the device \(timestamp queries\)/);
    assert.match(r.stdout, /│ stem\.conv1 /);
  });

  it('bench rows on it say software GPU, match the CPU, and show no speed-up (the issue\'s command)', async () => {
    const r = await formbench(['bench', 'standard/d10/w64/r64', '--engines', 'ort,ort-webgpu,tfjs-webgpu', '--budget-s', '1']);
    assert.equal(r.code, 0, r.stderr);
    for (const engine of ['ort-webgpu', 'tfjs-webgpu']) assert.match(r.stdout, new RegExp(`│ ${engine} \\(software GPU\\) .*│ +— \\(software GPU\\) │ match +│`));
    // No speed-up in a software GPU's table row (the lifecycle line's "first ÷ median" is no speed-up).
    assert.doesNotMatch(r.stdout, /^│ (ort|tfjs)-webgpu[^\n]*\d×/m);
    assert.match(r.stdout, /GPU adapter: .*software GPU\), for ort-webgpu/);
    assert.match(r.stdout, /ort-webgpu \(software GPU\) batch 1: first inference [\d.]+ ms .*on the device [\d.]+ ms per inference/);
  });
});
