import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEngineChoice } from '../src/engines/index.js';
import { torchEngine } from '../src/engines/torch.js';
import { toOnnxBytes } from '../src/onnx/index.js';
import { outputError } from '../src/quantize/index.js';
import { calibrateBatchNorm, seededNormal } from '../src/weights/index.js';
import { buildZooModel } from '../src/zoo/index.js';

const zoo = buildZooModel('bottleneck/d2/w32/r32');
const graph = await calibrateBatchNorm(zoo.graph, { gains: zoo.bnGains });
const model = { spec: zoo.spec, graph, onnx: toOnnxBytes(graph) };
const dims = [4, 3, 32, 32];
const input = seededNormal(1, 'input', 4 * 3 * 32 * 32, 1);

async function outputOf(engine: string): Promise<Float32Array> {
  const choice = parseEngineChoice(engine);
  const session = await choice.engine.load(model, choice.options);
  try {
    return Float32Array.from(await session.run(input, dims));
  } finally {
    await session.dispose();
  }
}

describe('ort precision option', async () => {
  const fp32 = await outputOf('ort:threads=1');

  it('int8 quantises at load, stays close to FP32, and its profile says the kernels ran integer', async () => {
    const e = outputError([fp32], [await outputOf('ort:precision=int8,threads=1')], [4]);
    assert.ok(e.relativeError > 0 && e.relativeError < 0.05, `relative error ${e.relativeError}`);
    const choice = parseEngineChoice('ort:precision=int8,threads=1');
    const session = await choice.engine.load(model, choice.options);
    try {
      const profile = await session.profile!(input, dims, 3);
      // stem + 2×3 block convolutions + the classifier
      assert.match(profile.method, /Conv\/Gemm\/MatMul kernels: 8 integer$/);
      assert.ok(profile.layers.some((l) => l.op === 'QLinearConv'));
    } finally {
      await session.dispose();
    }
  });

  it('fp16 runs with float32 input and output within float16 rounding of FP32', async () => {
    const e = outputError([fp32], [await outputOf('ort:precision=fp16,threads=1')], [4]);
    assert.ok(e.relativeError > 0 && e.relativeError < 5e-3, `relative error ${e.relativeError}`);
  });

  it('fp32 profile says its kernels ran float32', async () => {
    const choice = parseEngineChoice('ort:threads=1');
    const session = await choice.engine.load(model, choice.options);
    try {
      assert.match((await session.profile!(input, dims, 2)).method, /Conv\/Gemm\/MatMul kernels: 8 float32$/);
    } finally {
      await session.dispose();
    }
  });
});

const availability = await torchEngine.availability();
describe('torch precision option', { skip: availability.available ? false : `torch engine unavailable: ${availability.reason}` }, async () => {
  const fp32 = availability.available ? await outputOf('torch:threads=1') : new Float32Array();
  for (const precision of ['bf16', 'bf16-autocast']) {
    it(`${precision} computes in bfloat16: off FP32 by bfloat16 rounding, not more`, async () => {
      const e = outputError([fp32], [await outputOf(`torch:precision=${precision},threads=1`)], [4]);
      // bfloat16 keeps 8 significant bits (relative step 2^-8 ≈ 4e-3); errors add up over the layers.
      assert.ok(e.relativeError > 1e-4 && e.relativeError < 5e-2, `relative error ${e.relativeError}`);
    });
  }
  it('rejects bf16-autocast with a traced module', async () => {
    await assert.rejects(outputOf('torch:precision=bf16-autocast,mode=jit-frozen,threads=1'), /needs mode=eager/);
  });
});
