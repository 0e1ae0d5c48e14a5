import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { UserError } from '../src/errors.js';
import { engineByName, parseCpuFlags, parseEngineChoice } from '../src/engines/index.js';
import { toOnnxBytes } from '../src/onnx/index.js';
import { calibrateBatchNorm, seededNormal } from '../src/weights/index.js';
import { buildZooModel } from '../src/zoo/index.js';

describe('engine choices', () => {
  it('parse options over the defaults and keep the user’s spelling as the label', () => {
    const c = parseEngineChoice('ort:opt=disabled,threads=1');
    assert.equal(c.engine.name, 'ort');
    assert.deepEqual(c.options, { opt: 'disabled', threads: '1', execution: 'sequential', precision: 'fp32' });
    assert.equal(c.label, 'ort:opt=disabled,threads=1');
    assert.equal(parseEngineChoice('ort').label, 'ort');
    assert.equal(parseEngineChoice('ort').options['opt'], 'all');
  });

  const bad: [string, RegExp][] = [
    ['onnxrt', /unknown engine 'onnxrt'/],
    ['ort:opt=fast', /opt=fast of engine ort is not one of disabled, basic, extended, all/],
    ['ort:speed=9', /engine ort has no option 'speed'/],
    ['ort:threads', /option 'threads' of engine ort needs a value/],
  ];
  for (const [text, message] of bad) {
    it(`rejects '${text}'`, () => {
      assert.throws(() => parseEngineChoice(text), (e: unknown) => e instanceof UserError && message.test(e.message));
    });
  }
});

describe('CPU features', () => {
  it('reads the ISA extensions from /proc/cpuinfo flags', () => {
    const isa = parseCpuFlags('processor\t: 0\nflags\t\t: fpu sse4_2 avx2 fma avx512f avx512_vnni amx_tile amx_bf16\n');
    assert.deepEqual(isa, ['FMA', 'AVX2', 'AVX-512F', 'AVX-512 VNNI', 'AMX', 'AMX-BF16']);
    assert.deepEqual(parseCpuFlags('no flags here'), []);
  });
});

describe('ort engine', () => {
  it('runs a zoo model at every optimisation level with the same outputs as onnxruntime itself', async () => {
    const zoo = buildZooModel('depthwise-bottleneck/d3/w32/r64');
    const graph = await calibrateBatchNorm(zoo.graph, { gains: zoo.bnGains });
    const onnx = toOnnxBytes(graph);
    const dims = [2, 3, 64, 64];
    const input = seededNormal(1, 'input', 2 * 3 * 64 * 64, 1);
    const direct = await ort.InferenceSession.create(onnx, { graphOptimizationLevel: 'disabled' });
    const expected = (await direct.run({ input: new ort.Tensor('float32', input, dims) }))[direct.outputNames[0]!]!.data as Float32Array;
    await direct.release();
    for (const opt of ['disabled', 'basic', 'extended', 'all']) {
      const { engine, options } = parseEngineChoice(`ort:opt=${opt},threads=1`);
      const session = await engine.load({ spec: zoo.spec, graph, onnx }, options);
      const out = await session.run(input, dims);
      await session.dispose();
      assert.equal(out.length, 2000);
      const worst = out.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!) / (1 + Math.abs(expected[i]!))), 0);
      assert.ok(worst < 1e-4, `opt=${opt}: relative error ${worst}`);
    }
    assert.equal((await engineByName('ort').availability()).available, true);
  });
});

describe('ort-wasm engine', () => {
  it('runs a reference network in WebAssembly with the same outputs as ort', async () => {
    const zoo = buildZooModel('mobilenet_v2/r64');
    const graph = await calibrateBatchNorm(zoo.graph, { gains: zoo.bnGains });
    const onnx = toOnnxBytes(graph);
    const dims = [2, 3, 64, 64];
    const input = seededNormal(2, 'input', 2 * 3 * 64 * 64, 1);
    const outputs: Float32Array[] = [];
    for (const text of ['ort:opt=disabled', 'ort-wasm:threads=2']) {
      const { engine, options } = parseEngineChoice(text);
      const session = await engine.load({ spec: zoo.spec, graph, onnx }, options);
      outputs.push(Float32Array.from(await session.run(input, dims)));
      await session.dispose();
    }
    const scale = Math.max(...outputs[0]!.map(Math.abs));
    const worst = outputs[1]!.reduce((m, v, i) => Math.max(m, Math.abs(v - outputs[0]![i]!)), 0);
    assert.ok(worst / scale < 1e-4, `relative error ${worst / scale}`);
    const availability = await engineByName('ort-wasm').availability();
    assert.equal(availability.available, true);
  });
});
