/**
 * The GPU engines against the CPU reference on every design pattern, their adapter provenance,
 * FP16's refusal where the adapter has no shader-f16, and where their kernels ran. Without a GPU
 * they run on a software adapter (chromium's SwiftShader): correctness only, so nothing here is
 * timed. Where no adapter is found the engine tests are skipped, saying why, unless
 * FORMBENCH_REQUIRE_WEBGPU_ADAPTER=1 (.ci/run sets it once it has installed the software adapter):
 * then the absence itself fails.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import type { EngineModel, GpuAdapter } from '../src/engines/engine.js';
import { parseEngineChoice } from '../src/engines/index.js';
import { ortPlacement, placementFromTrace } from '../src/engines/ort-webgpu.js';
import { PRECISION_TOLERANCE } from '../src/engines/precision.js';
import { describeAdapter, isSoftware, webgpuAdapter } from '../src/engines/webgpu-adapter.js';
import { UserError } from '../src/errors.js';
import { compareOutputs } from '../src/measure/compare.js';
import { toOnnxBytes } from '../src/onnx/index.js';
import { calibrateBatchNorm, seededNormal } from '../src/weights/index.js';
import { buildZooModel, PATTERNS } from '../src/zoo/index.js';

const found = await webgpuAdapter();
const required = process.env['FORMBENCH_REQUIRE_WEBGPU_ADAPTER'] === '1';
const skip = found.ok || required ? false : `no WebGPU adapter here: ${found.reason}`;
const adapter = (): GpuAdapter => {
  assert.ok(found.ok, `FORMBENCH_REQUIRE_WEBGPU_ADAPTER=1 but the adapter search found none: ${found.ok ? '' : found.reason}`);
  return found.adapter;
};

async function zooModel(spec: string): Promise<EngineModel> {
  const zoo = buildZooModel(spec);
  const graph = await calibrateBatchNorm(zoo.graph, { gains: zoo.bnGains });
  return { spec, graph, onnx: toOnnxBytes(graph) };
}

async function cpuReference(onnx: Uint8Array, input: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(onnx, { graphOptimizationLevel: 'disabled' });
  try {
    return (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, dims) }))[session.outputNames[0]!]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

async function runOnce(choiceText: string, model: EngineModel, input: Float32Array, dims: number[]): Promise<Float32Array> {
  const { engine, options } = parseEngineChoice(choiceText);
  const session = await engine.load(model, options);
  try {
    return Float32Array.from(await session.run(input, dims));
  } finally {
    await session.dispose();
  }
}

describe('software adapters are told apart from GPUs', () => {
  const info = (vendor: string, architecture: string, device: string, description: string, isFallbackAdapter = false) => ({ vendor, architecture, device, description, isFallbackAdapter });
  it('by the names their drivers give and by the fallback flag', () => {
    assert.equal(isSoftware(info('google', 'swiftshader', 'swiftshader-device-subzero-', 'SwiftShader driver 5.0.0', true)), true);
    assert.equal(isSoftware(info('mesa', '', 'llvmpipe (LLVM 15.0.6, 256 bits)', 'Mesa 22.3.6 (LLVM 15.0.6)')), true);
    assert.equal(isSoftware(info('mesa', '', 'lavapipe', '')), true);
    assert.equal(isSoftware(info('microsoft', '', 'Microsoft Basic Render Driver', '')), true);
    assert.equal(isSoftware(info('google', 'swiftshader', 'x', 'y')), true);
    assert.equal(isSoftware(info('nvidia', 'hopper', 'NVIDIA H200', 'NVIDIA: 570.86.15')), false);
    assert.equal(isSoftware(info('intel', 'gen-12lp', 'Intel(R) UHD Graphics 770', 'Intel open-source Mesa driver: Mesa 23.1')), false);
    assert.equal(isSoftware(info('apple', 'metal-3', 'Apple M2', '')), false);
  });

  it('and a description says which it is', () => {
    const a: GpuAdapter = { vendor: 'google', architecture: 'swiftshader', device: 'd', driver: 'SwiftShader driver 5.0.0', backend: 'vulkan', software: true, features: [], source: 's' };
    assert.equal(describeAdapter(a), 'SwiftShader driver 5.0.0 (google swiftshader, vulkan, software GPU)');
    assert.match(describeAdapter({ ...a, vendor: 'nvidia', architecture: 'hopper', driver: 'NVIDIA: 570', software: false }), /hardware GPU/);
  });
});

describe('GPU engine options', () => {
  it('tfjs-webgpu refuses fp16 with the reason when the choice is made', () => {
    assert.throws(() => parseEngineChoice('tfjs-webgpu:precision=fp16'), (e: unknown) => e instanceof UserError && /no float16 kernels/.test(e.message) && /ort-webgpu:precision=fp16/.test(e.message));
    assert.equal(parseEngineChoice('ort-webgpu:precision=fp16').options['precision'], 'fp16');
  });

  it('neither is run under the CPU cache simulator, with the reason', () => {
    for (const name of ['ort-webgpu', 'tfjs-webgpu']) assert.match(parseEngineChoice(name).engine.notSimulated?.reason ?? '', /outside the CPU cache valgrind simulates/);
  });
});

describe('the adapter the GPU engines run on', { skip }, () => {
  it('is described in both engines’ availability, software or not', async () => {
    for (const name of ['ort-webgpu', 'tfjs-webgpu']) {
      const a = await parseEngineChoice(name).engine.availability();
      assert.ok(a.available, `${name}: ${a.available ? '' : a.reason}`);
      assert.deepEqual(a.gpu, adapter(), name);
      assert.equal(a.details?.['adapter'], describeAdapter(adapter()));
    }
    const a = adapter();
    assert.ok(a.vendor || a.device, 'the adapter names a vendor or device');
    assert.match(a.backend, /^(vulkan|metal|d3d12)$/);
    assert.match(a.source, /^Dawn \(webgpu \d/);
    // SwiftShader is what this project's CI and development machines have: it must be labelled.
    if (/swiftshader/i.test(`${a.architecture} ${a.driver}`)) assert.equal(a.software, true);
  });
});

describe('GPU engines compute what the CPU computes, on every design pattern', { skip }, () => {
  const dims = [2, 3, 32, 32];
  const input = seededNormal(7, 'input', dims.reduce((a, b) => a * b, 1), 1);
  for (const pattern of PATTERNS) {
    it(pattern, async () => {
      adapter();
      const model = await zooModel(`${pattern}/d2/w16/r32`);
      const expected = await cpuReference(model.onnx, input, dims);
      for (const engine of ['ort-webgpu', 'tfjs-webgpu']) {
        const out = await runOnce(engine, model, input, dims);
        const c = compareOutputs(expected, out, dims[0]!, PRECISION_TOLERANCE.fp32);
        // FP32 on the GPU within the CPU engines' tolerance (1e-3 of the largest output): the
        // same sums in another order, as between two CPU engines.
        assert.ok(c.matches, `${pattern} on ${engine}: relative error ${c.relativeError}`);
        assert.equal(c.top1Agreement, 1, `${pattern} on ${engine}: arg-max differs`);
      }
    });
  }
});

describe('FP16 on the GPU', { skip }, () => {
  it('runs within the FP16 tolerance where the adapter has shader-f16, and is refused with the reason where not', async () => {
    const model = await zooModel('standard/d4/w32/r32');
    const dims = [1, 3, 32, 32];
    const input = seededNormal(3, 'input', 3 * 32 * 32, 1);
    if (!adapter().features.includes('shader-f16')) {
      await assert.rejects(runOnce('ort-webgpu:precision=fp16', model, input, dims), /precision=fp16 needs the adapter's shader-f16 feature, which .* lacks/);
      return;
    }
    const expected = await cpuReference(model.onnx, input, dims);
    const out = await runOnce('ort-webgpu:precision=fp16', model, input, dims);
    // FP16 keeps 11 significant bits: the error grows with depth, and 5% of the largest output
    // still catches a broken conversion (garbage, NaN, a wrong layout); precision.ts says why.
    const c = compareOutputs(expected, out, 1, PRECISION_TOLERANCE.fp16);
    assert.ok(c.matches, `fp16: relative error ${c.relativeError}`);
    assert.ok(c.relativeError > 0, 'fp16 differs from fp32 at all: it really computed in half precision');
  });
});

describe('where a GPU session’s kernels ran', { skip }, () => {
  const dims = [1, 3, 32, 32];
  const input = seededNormal(5, 'input', 3 * 32 * 32, 1);

  for (const name of ['ort-webgpu', 'tfjs-webgpu']) {
    it(`${name}: every convolution and matrix product on the GPU, and the on-device time where timestamp queries exist`, async () => {
      const model = await zooModel('standard/d2/w16/r32');
      const { engine, options } = parseEngineChoice(name);
      const session = await engine.load(model, options);
      try {
        const p = await session.placement!(input, dims);
        assert.equal(p.runs, 3);
        assert.equal(p.providers[0]!.provider, 'webgpu', JSON.stringify(p));
        assert.ok(p.providers[0]!.kernels > 0);
        // Three convolutions and the classifier's Gemm (ort) or MatMul (TF.js).
        assert.ok((p.macKernels['webgpu'] ?? 0) >= 3, `MAC kernels on the GPU: ${JSON.stringify(p.macKernels)}`);
        assert.equal(p.macKernels['cpu'] ?? 0, 0);
        if (adapter().features.includes('timestamp-query')) assert.ok(p.deviceMs! > 0, `on-device time ${p.deviceMs}`);
      } finally {
        await session.dispose();
      }
    });
  }

  it('ort-webgpu: a convolution onnxruntime put on the CPU shows as a CPU MAC kernel', async () => {
    const model = await zooModel('standard/d2/w16/r32');
    // onnxruntime's own switch for putting a node on the CPU: as its fallback for an operator the
    // WebGPU EP lacks would.
    const p = await ortPlacement(model.onnx, { executionProviders: [{ name: 'webgpu', forceCpuNodeNames: ['stem.conv1'] } as unknown as 'webgpu'], graphOptimizationLevel: 'disabled' }, input, dims);
    assert.equal(p.macKernels['cpu'], 1, JSON.stringify(p));
    assert.equal(p.providers.find((s) => s.provider === 'cpu')?.ops['Conv'], 1);
  });
});

describe('per-layer profiles on the GPU', { skip }, () => {
  it('both engines time every convolution, on the device where timestamp queries exist', async () => {
    const model = await zooModel('standard/d2/w16/r32');
    const dims = [1, 3, 32, 32];
    const input = seededNormal(5, 'input', 3 * 32 * 32, 1);
    for (const name of ['ort-webgpu', 'tfjs-webgpu']) {
      const { engine, options } = parseEngineChoice(name);
      const session = await engine.load(model, options);
      try {
        const p = await session.profile!(input, dims, 3);
        const convs = p.layers.filter((l) => l.nodes[0]?.endsWith('conv1'));
        assert.equal(convs.length, 3, `${name}: ${JSON.stringify(p.layers.map((l) => l.name))}`);
        for (const c of convs) assert.ok(c.ms > 0, `${name}: ${c.name} ${c.ms} ms`);
        assert.equal(p.profiledRunMs.length, 3);
        if (adapter().features.includes('timestamp-query')) assert.match(p.method, /on the device/);
      } finally {
        await session.dispose();
      }
    }
  });
});

describe('placement from an onnxruntime trace', () => {
  it('counts kernels per provider from one inference, times over every kept one, and sums the GPU programs per run', () => {
    const run = (ts: number) => [
      { cat: 'Session', name: 'model_run', ph: 'X', ts, dur: 1000 },
      { cat: 'Node', name: 'conv_kernel_time', ph: 'X', ts: ts + 10, dur: 100, args: { op_name: 'Conv', provider: 'WebGpuExecutionProvider' } },
      { cat: 'Node', name: 'gemm_kernel_time', ph: 'X', ts: ts + 200, dur: 300, args: { op_name: 'Gemm', provider: 'CPUExecutionProvider' } },
      { cat: 'Api', name: 'conv&Conv&Conv2dMM', ph: 'X', ts: ts + 20, dur: 400 },
    ];
    const p = placementFromTrace([...run(0), ...run(2000), ...run(4000)], 1);
    assert.equal(p.runs, 2);
    assert.deepEqual(p.macKernels, { webgpu: 1, cpu: 1 });
    assert.deepEqual(p.providers.map((s) => [s.provider, s.kernels, s.ms, s.share]), [['cpu', 1, 0.3, 0.75], ['webgpu', 1, 0.1, 0.25]]);
    assert.equal(p.deviceMs, 0.4);
    assert.equal(placementFromTrace(run(0).slice(0, 3).concat(run(2000).slice(0, 3)), 1).deviceMs, undefined);
  });
});
