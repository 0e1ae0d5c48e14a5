import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { closedForm } from './closed-form.js';
import { testTempDir } from './temp-dir.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built command as a user would. */
function formbench(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function assertUserError(r: Run, message: RegExp): void {
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, 'one line');
  assert.match(r.stderr, /^formbench: error: /);
}

const tmp = testTempDir('formbench-cli-');

describe('formbench CLI', () => {
  it('lists the six patterns', async () => {
    const r = await formbench('models', '--json');
    assert.equal(r.code, 0);
    assert.deepEqual(
      JSON.parse(r.stdout).patterns.map((p: { pattern: string }) => p.pattern),
      ['standard', 'factorized', 'bottleneck', 'depthwise-separable', 'depthwise-bottleneck', 'grouped'],
    );
  });

  it('analyzes a spec as JSON with totals and per-layer costs', async () => {
    const r = await formbench('analyze', 'grouped/d10/w64', '--batch', '4', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const expected = closedForm({ pattern: 'grouped', depth: 10, width: 64 });
    assert.equal(out.macs, 4 * expected.macs);
    assert.equal(out.flops, 8 * expected.macs);
    assert.equal(out.params, expected.params);
    assert.ok(out.activationBytes > 0);
    const conv = out.layers.find((l: { name: string }) => l.name === 'block1.conv1');
    assert.deepEqual(conv.outputShape, [4, 64, 56, 56]);
    assert.equal(conv.macs, 4 * 56 * 56 * 64 * 16 * 9);
    assert.equal(conv.op, 'Conv');
  });

  it('prints a readable table with totals', async () => {
    const r = await formbench('analyze', 'standard/d2/w32');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /block2\.conv1 .*Conv .*1×32×56×56/);
    assert.match(r.stdout, /parameters .*\(/);
    assert.match(r.stdout, /arithmetic intensity/);
  });

  it('compares several models in one table', async () => {
    const r = await formbench('analyze', '--zoo', '--depths', '10,20', '--widths', '32', '--json');
    assert.equal(r.code, 0, r.stderr);
    const models = JSON.parse(r.stdout).models;
    assert.equal(models.length, 12);
    assert.equal(models[0].model, 'standard/d10/w32');
  });

  it('exports a model whose analysis as an ONNX file equals the zoo analysis', async () => {
    const file = join(tmp, 'dwb.onnx');
    const exported = await formbench('export', 'depthwise-bottleneck/d3/w32', '-o', file);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /wrote .*dwb\.onnx/);
    const fromFile = JSON.parse((await formbench('analyze', file, '--batch', '2', '--json')).stdout);
    const fromZoo = JSON.parse((await formbench('analyze', 'depthwise-bottleneck/d3/w32', '--batch', '2', '--json')).stdout);
    for (const key of ['macs', 'params', 'elementwiseOps', 'activationBytes', 'weightBytes']) assert.equal(fromFile[key], fromZoo[key], key);
  });

  it('checks activation health of a deep network', async () => {
    const r = await formbench('check', 'depthwise-bottleneck/d50/w32/r64', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.healthy, true);
    assert.equal(out.maxSubnormalFraction, 0);
    assert.ok(out.layers.length > 200);
  });

  it('benches a model on engines and reports medians, intervals and speed-ups as JSON', async () => {
    const r = await formbench('bench', 'standard/d2/w32/r32', '--engines', 'ort:opt=disabled,threads=1,ort:threads=1', '--budget-s', '1', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.trials.map((t: { engine: string; status: string }) => [t.engine, t.status]), [['ort:opt=disabled,threads=1', 'ok'], ['ort:threads=1', 'ok']]);
    assert.ok(out.trials.every((t: { medianMs: number; runs: number; outputsMatch: boolean }) => t.medianMs > 0 && t.runs >= 10 && t.outputsMatch));
    assert.equal(out.speedups.length, 1);
    assert.equal(out.speedups[0].baseline, 'ort:opt=disabled,threads=1');
  });

  it('lists the engines and the CPU features', async () => {
    const r = await formbench('engines', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.engines.find((e: { name: string }) => e.name === 'ort').available, true);
    assert.ok(Array.isArray(out.cpu.isa));
  });

  describe('user errors: one line, exit 2, no stack', () => {
    it('unknown engine', async () => assertUserError(await formbench('bench', 'standard/d1/w32', '--engines', 'tensorrt'), /unknown engine 'tensorrt'/));
    it('bad engine option', async () => assertUserError(await formbench('bench', 'standard/d1/w32', '--engines', 'ort:opt=max'), /is not one of disabled, basic, extended, all/));
    it('unknown model', async () => assertUserError(await formbench('analyze', 'resnet9000'), /unknown model 'resnet9000'/));
    it('bad width', async () => assertUserError(await formbench('analyze', 'grouped/d10/w40'), /not divisible by the group width 16/));
    it('missing file', async () => assertUserError(await formbench('analyze', join(tmp, 'nope.onnx')), /no such file/));
    it('corrupt file', async () => {
      const file = join(tmp, 'corrupt.onnx');
      writeFileSync(file, Buffer.from('this is not a protobuf at all, just some text \x00\xff\xfe'));
      assertUserError(await formbench('analyze', file), /is not a valid ONNX model/);
    });
    it('bad batch', async () => {
      const r = await formbench('analyze', 'standard/d1/w32', '--batch', 'zero');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--batch zero is not a batch size/);
    });
    it('unknown command', async () => {
      const r = await formbench('frobnicate');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /unknown command/);
    });
  });
});
