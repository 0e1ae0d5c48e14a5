import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { analyzeGraph } from '../src/analysis/index.js';
import { litertEngine } from '../src/engines/litert.js';
import { createDefaultSession, runFloat32 } from '../src/engines/ort-runtime.js';
import type { EngineSession } from '../src/engines/engine.js';
import { FP32_TOLERANCE } from '../src/engines/precision.js';
import { UserError } from '../src/errors.js';
import { attr, type Graph } from '../src/ir/index.js';
import { prepareModel, resolveModel } from '../src/model/index.js';
import { toOnnxBytes } from '../src/onnx/index.js';
import { fromTfliteBytes, readTflite, readTfliteFile, toTfliteBytes } from '../src/tflite/index.js';
import { Op, OptionsType, TensorTypeCode } from '../src/tflite/schema.js';
import { writeTflite } from '../src/tflite/write.js';
import { seededNormal } from '../src/weights/index.js';
import { runCli } from './cli-helpers.js';
import { graphOf, node } from './onnx-helpers.js';
import { testTempDir } from './temp-dir.js';

/** Every design pattern at a tiny size; grouped at width 32 so that it has two groups. */
const PATTERNS = ['standard/d2/w16/r32', 'factorized/d2/w16/r32', 'bottleneck/d2/w16/r32', 'depthwise-separable/d2/w16/r32', 'depthwise-bottleneck/d2/w16/r32', 'grouped/d2/w32/r32'];

async function prepared(spec: string): Promise<Graph> {
  return prepareModel(resolveModel(spec));
}

function inputFor(graph: Graph): { data: Float32Array; dims: number[] } {
  const dims = graph.inputs[0]!.type.shape.map((d) => (typeof d === 'number' ? d : 1));
  return { data: seededNormal(7, 'input', dims.reduce((a, b) => a * b, 1), 1), dims };
}

async function ortOutput(graph: Graph, input: { data: Float32Array; dims: number[] }): Promise<Float32Array> {
  const session = await createDefaultSession(toOnnxBytes(graph, { batch: input.dims[0]! }));
  try {
    return [...(await runFloat32(session, { data: input.data, dims: input.dims })).values()][0]!;
  } finally {
    await session.release();
  }
}

/** Largest difference over the reference's largest magnitude: the protocol's output check. */
function relativeError(reference: Float32Array, other: Float32Array): number {
  assert.equal(other.length, reference.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < reference.length; i++) {
    diff = Math.max(diff, Math.abs(reference[i]! - other[i]!));
    scale = Math.max(scale, Math.abs(reference[i]!));
  }
  return diff / scale;
}

/** BatchNorm channels: what folding removes from the parameter count (scale · shift → bias). */
function batchNormChannels(graph: Graph): number {
  return graph.nodes.filter((n) => n.op === 'BatchNormalization').reduce((a, n) => a + graph.initializers.get(n.inputs[1]!)!.elementCount, 0);
}

const sessions: EngineSession[] = [];
after(async () => {
  for (const s of sessions) await s.dispose();
});

describe('.tflite export', () => {
  for (const spec of PATTERNS) {
    it(`${spec}: parses back, runs on LiteRT.js matching ort, and imports with the zoo's MACs`, async () => {
      const graph = await prepared(spec);
      const bytes = toTfliteBytes(graph, { batch: 1 });
      const file = readTflite(bytes, spec);
      assert.deepEqual(file.tensors[file.inputs[0]!]!.shape, [1, 3, 32, 32], 'the file keeps the IR\'s NCHW input');
      assert.deepEqual(file.tensors[file.outputs[0]!]!.shape, [1, 1000]);
      assert.equal(file.operators[0]!.builtin, Op.TRANSPOSE, 'one transpose to NHWC after the input');
      assert.equal(file.operators.filter((o) => o.builtin === Op.TRANSPOSE).length, 1, 'and no other');
      assert.ok(!file.operators.some((o) => o.builtin === Op.RELU || o.builtin === Op.RELU6 || o.builtin === Op.MUL), 'activations fused, BatchNorms folded');

      const input = inputFor(graph);
      const reference = await ortOutput(graph, input);
      const session = await litertEngine.load({ spec, graph, onnx: new Uint8Array() }, { accelerator: 'wasm', threads: '2' });
      sessions.push(session);
      const litert = await session.run(input.data, input.dims);
      assert.ok(relativeError(reference, litert) < FP32_TOLERANCE, `LiteRT.js vs ort: ${relativeError(reference, litert)}`);

      const imported = fromTfliteBytes(bytes, `${spec}.tflite`);
      const zooCost = analyzeGraph(graph, { batch: 1 });
      const importedCost = analyzeGraph(imported, { batch: 1 });
      assert.equal(importedCost.macs, zooCost.macs);
      assert.equal(importedCost.params, zooCost.params - batchNormChannels(graph));
      assert.ok(!imported.nodes.some((n) => n.op === 'Transpose'), 'the NCHW round trip needs no transpose in the IR');
      assert.ok(relativeError(reference, await ortOutput(imported, input)) < FP32_TOLERANCE, 'the imported graph computes what the zoo graph does');
      // And exports again (what the litert engine does with a .tflite the user gives).
      const again = fromTfliteBytes(toTfliteBytes(imported), 'again.tflite');
      assert.equal(analyzeGraph(again, { batch: 1 }).macs, zooCost.macs);
    });
  }

  it('mobilenet_v2 at 224²: LiteRT.js matches ort, the import has its MACs', async () => {
    const graph = await prepared('mobilenet_v2');
    const bytes = toTfliteBytes(graph);
    const input = inputFor(graph);
    const session = await litertEngine.load({ spec: 'mobilenet_v2', graph, onnx: new Uint8Array() }, { accelerator: 'wasm', threads: '2' });
    sessions.push(session);
    assert.ok(relativeError(await ortOutput(graph, input), await session.run(input.data, input.dims)) < FP32_TOLERANCE);
    assert.equal(analyzeGraph(fromTfliteBytes(bytes, 'm.tflite')).macs, analyzeGraph(graph).macs);
  });

  it('writes other batches than 1 (LiteRT shapes are static; the engine compiles one per batch)', async () => {
    const graph = await prepared('depthwise-bottleneck/d1/w16/r32');
    const input = inputFor(graph);
    const batch2 = { data: new Float32Array([...input.data, ...input.data]), dims: [2, ...input.dims.slice(1)] };
    const session = await litertEngine.load({ spec: 'dwb', graph, onnx: new Uint8Array() }, { accelerator: 'wasm', threads: '1' });
    sessions.push(session);
    const out = await session.run(batch2.data, batch2.dims);
    assert.equal(out.length, 2000);
    assert.ok(relativeError(await ortOutput(graph, batch2), out) < FP32_TOLERANCE);
  });

  it('refuses an operator it has no export for, naming it', () => {
    const graph = graphOf({ nodes: [node('elu', 'Elu', ['x'])], initializers: {} });
    assert.throws(() => toTfliteBytes(graph), (e: Error) => e instanceof UserError && /operator Elu has no \.tflite export/.test(e.message));
  });

  it('refuses an average pool that excludes non-SAME padding', () => {
    const graph = graphOf({
      nodes: [node('pool', 'AveragePool', ['x'], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), count_include_pad: attr.int(0) })],
      initializers: {},
    });
    assert.throws(() => toTfliteBytes(graph), /AveragePool.*no \.tflite equivalent/);
  });
});

describe('.tflite import', () => {
  it('refuses an operator it does not read, naming it and listing what it reads', () => {
    const bytes = writeTflite({
      version: 3,
      description: 'exp',
      tensors: [
        { name: 'x', shape: [1, 4], type: TensorTypeCode.FLOAT32, buffer: 0 },
        { name: 'y', shape: [1, 4], type: TensorTypeCode.FLOAT32, buffer: 0 },
      ],
      buffers: [new Uint8Array(0)],
      operators: [{ builtin: 47, inputs: [0], outputs: [1] }],
      inputs: [0],
      outputs: [1],
      subgraphCount: 1,
    });
    assert.throws(
      () => fromTfliteBytes(bytes, 'exp.tflite'),
      (e: Error) => e instanceof UserError && /operator 0 is EXP, which formbench does not import/.test(e.message) && /CONV_2D/.test((e as UserError).hint ?? ''),
    );
  });

  it('dequantises INT8 weights with per-channel scales', () => {
    // y = x · Wᵀ with W stored as int8 q and scales [0.5, 0.25] per output row: W = scale · q.
    const q = Int8Array.from([2, -4, 8, 12]);
    const bytes = writeTflite({
      version: 3,
      description: 'int8 weights',
      tensors: [
        { name: 'x', shape: [1, 2], type: TensorTypeCode.FLOAT32, buffer: 0 },
        { name: 'w', shape: [2, 2], type: TensorTypeCode.INT8, buffer: 1, quantization: { scale: [0.5, 0.25], zeroPoint: [0, 0], axis: 0 } },
        { name: 'y', shape: [1, 2], type: TensorTypeCode.FLOAT32, buffer: 0 },
      ],
      buffers: [new Uint8Array(0), new Uint8Array(q.buffer)],
      operators: [{ builtin: Op.FULLY_CONNECTED, inputs: [0, 1, -1], outputs: [2], options: { type: OptionsType.FullyConnectedOptions, fields: [] } }],
      inputs: [0],
      outputs: [2],
      subgraphCount: 1,
    });
    const graph = fromTfliteBytes(bytes, 'q.tflite');
    const gemm = graph.nodes.find((n) => n.op === 'Gemm')!;
    assert.deepEqual([...graph.initializers.get(gemm.inputs[1]!)!.float32()], [1, -2, 2, 3]);
  });

  it('a damaged file is one readable error, whatever the damage', async () => {
    const good = toTfliteBytes(await prepared('standard/d1/w8/r32'));
    const damaged: Record<string, Uint8Array> = {
      truncated: good.subarray(0, 200),
      'not a flatbuffer': new TextEncoder().encode('this is not a model at all, just some text'),
      'wrong identifier': Uint8Array.from(good, (b, i) => (i >= 4 && i < 8 ? 0x41 : b)),
      'offsets scrambled': Uint8Array.from(good, (b, i) => (i > 8 && i < 64 ? 0xff : b)),
    };
    for (const [what, bytes] of Object.entries(damaged)) {
      assert.throws(
        () => fromTfliteBytes(bytes, 'bad.tflite'),
        (e: Error) => e instanceof UserError && !e.message.includes('\n') && /bad\.tflite/.test(e.message),
        what,
      );
    }
    const dir = testTempDir('tflite-test-');
    const path = join(dir, 'bad.tflite');
    writeFileSync(path, damaged['truncated']!);
    assert.throws(() => readTfliteFile(path), /is not a readable \.tflite file/);
  });
});

describe('.tflite on the command line', () => {
  const dir = testTempDir('tflite-cli-');

  it('formbench export … -o m.tflite, then analyze m.tflite (the same MACs) and bench m.tflite on ort and litert', async () => {
    const path = join(dir, 'm.tflite');
    const exported = await runCli(['export', 'depthwise-separable/d3/w16/r64', '-o', path]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /\.tflite FP32, batch 1/);
    assert.equal(readFileSync(path).subarray(4, 8).toString(), 'TFL3');
    const zoo = await runCli(['analyze', 'depthwise-separable/d3/w16/r64']);
    const file = await runCli(['analyze', path]);
    assert.equal(file.code, 0, file.stderr);
    const macs = (out: string) => /MACs ([\d.]+ [kMG]?)/.exec(out)?.[1];
    assert.ok(macs(zoo.stdout));
    assert.equal(macs(file.stdout), macs(zoo.stdout));
    // The file itself as the model: ort runs its import, litert the file written again from it.
    const bench = await runCli(['bench', path, '--engines', 'ort,litert', '--budget-s', '1', '--json'], { timeoutMs: 120_000 });
    assert.equal(bench.code, 0, bench.stderr);
    const trials = (JSON.parse(bench.stdout) as { trials: { engine: string; status: string; outputsMatch: boolean }[] }).trials;
    assert.deepEqual(trials.map((t) => [t.engine, t.status, t.outputsMatch]), [
      ['ort', 'ok', true],
      ['litert', 'ok', true],
    ]);
  });

  it('a damaged .tflite is one error line and a non-zero exit', async () => {
    const path = join(dir, 'broken.tflite');
    writeFileSync(path, 'TFL3TFL3 broken');
    const r = await runCli(['analyze', path]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /broken\.tflite is not a readable \.tflite file/);
  });

  it('formbench bench standard/d10/w16 --engines ort,litert,tfjs-wasm: every engine runs and matches', async () => {
    const r = await runCli(['bench', 'standard/d10/w16/r64', '--engines', 'ort,litert,tfjs-wasm', '--budget-s', '1', '--json'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const trials = (JSON.parse(r.stdout) as { trials: { engine: string; status: string; outputsMatch: boolean }[] }).trials;
    assert.deepEqual(trials.map((t) => [t.engine, t.status, t.outputsMatch]), [
      ['ort', 'ok', true],
      ['litert', 'ok', true],
      ['tfjs-wasm', 'ok', true],
    ]);
  });
});
