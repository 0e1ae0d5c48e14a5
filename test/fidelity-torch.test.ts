import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { EngineSession } from '../src/engines/engine.js';
import { parseEngineChoice } from '../src/engines/index.js';
import { torchEngine } from '../src/engines/torch.js';
import { runFidelity, type FidelityRecord } from '../src/measure/fidelity.js';
import { attr } from '../src/ir/index.js';
import { prepareModel, resolveModel } from '../src/model/index.js';
import { toOnnxBytes } from '../src/onnx/index.js';
import { seededNormal } from '../src/weights/index.js';
import { graphOf, node, weight } from './onnx-helpers.js';

const availability = await torchEngine.availability();
const skip = availability.available ? false : `torch engine unavailable: ${availability.reason}`;
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

const torchOptions = (given: Record<string, string> = {}) => parseEngineChoice(`torch${Object.keys(given).length ? `:${Object.entries(given).map(([k, v]) => `${k}=${v}`).join(',')}` : ''}`).options;

async function withSession<T>(spec: string, options: Record<string, string>, body: (s: EngineSession, dims: number[], input: Float32Array) => Promise<T>): Promise<T> {
  const graph = await prepareModel(resolveModel(spec));
  const dims = graph.inputs[0]!.type.shape.map((d, i) => (i === 0 ? 1 : d)) as number[];
  const input = seededNormal(1, 'input', dims.reduce((a, b) => a * b, 1), 1);
  const session = await torchEngine.load({ spec, graph, onnx: toOnnxBytes(graph) }, options);
  try {
    return await body(session, dims, input);
  } finally {
    await session.dispose();
  }
}

function relativeError(got: Float32Array, want: Float32Array): number {
  assert.equal(got.length, want.length);
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
  return got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i]!)), 0) / scale;
}

describe('fidelity: the idiomatic PyTorch module computes what the torch engine computes', { skip }, () => {
  const specs = [
    'standard/d2/w16/r32',
    'factorized/d2/w16/r32',
    'bottleneck/d2/w16/r32',
    'depthwise-separable/d2/w16/r32',
    'depthwise-bottleneck/d2/w16/r32',
    'grouped/d2/w32/r32/group-width=8',
    'resnet50/r64',
    'mobilenet_v2/r64',
    'inception_v3/r96',
    'darts/r64',
  ];
  for (const spec of specs) {
    it(spec, async () => {
      await withSession(spec, torchOptions({ threads: '1' }), async (session, dims, input) => {
        const idiomatic = await session.idiomatic!();
        const want = await session.run(input, dims);
        const got = await idiomatic.run(input, dims);
        assert.ok(relativeError(got, want) < 1e-4, `${spec}: relative error ${relativeError(got, want)}`);
        const expected = spec.startsWith('resnet') || spec.startsWith('mobilenet') || spec.startsWith('inception') ? /torchvision\.models\./ : spec.startsWith('darts') ? /DARTS/ : /nn\.Sequential/;
        assert.match(idiomatic.description, expected);
        // Timed on the worker's clock, like the engine.
        assert.ok((await idiomatic.timedRun!(input, dims)).ms > 0);
      });
    });
  }

  it('refuses, naming the node, a network that is not a chain of layers with residual additions', async () => {
    // Two branches from the input, concatenated: no nn.Sequential holds it.
    const graph = graphOf({
      nodes: [node('left', 'Conv', ['x', 'w1']), node('right', 'Conv', ['x', 'w2']), node('join', 'Concat', ['left', 'right'], { axis: attr.int(1) })],
      initializers: { w1: weight(4, 3, 1, 1), w2: weight(4, 3, 1, 1) },
    });
    const session = await torchEngine.load({ spec: 'two-branches', graph, onnx: toOnnxBytes(graph) }, torchOptions({ threads: '1' }));
    try {
      await assert.rejects(session.idiomatic!(), /no idiomatic PyTorch module for two-branches: node 'right' \(Conv\) does not read the previous layer's output/);
    } finally {
      await session.dispose();
    }
  });

  it('times the engine within 1.5× of the idiomatic module, interleaved in one worker (a coarse guard: the fine target is the benchmark)', async () => {
    const budget = { targetCiRelative: 0.03, timedBudgetMs: 1500, warmupBudgetMs: 500, minRuns: 10, maxRuns: 1000 };
    const [r] = await runFidelity({ specs: ['depthwise-bottleneck/d4/w32/r64'], engines: [parseEngineChoice('torch:threads=1')], batches: [2], budget, inputSeed: 1 });
    assert.equal(r!.status, 'ok', r!.reason);
    assert.ok(r!.ratio! <= 1.5, `engine / idiomatic = ${r!.ratio}`);
    assert.ok(r!.engineSamplesMs!.length >= 10 && r!.idiomaticSamplesMs!.length === r!.engineSamplesMs!.length);
    assert.ok(r!.outputRelativeError! < 1e-4);
  });

  it('formbench fidelity prints each engine against its idiomatic execution, and JSON with every sample', () => {
    const run = spawnSync(process.execPath, [CLI, 'fidelity', 'standard/d2/w16/r32', '--engines', 'torch:threads=1,ort:threads=1', '--budget-s', '1', '--json'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const records = JSON.parse(run.stdout) as FidelityRecord[];
    assert.deepEqual(records.map((r) => [r.engine, r.status]), [['torch:threads=1', 'ok'], ['ort:threads=1', 'ok']]);
    for (const r of records) {
      assert.ok(r.ratio! > 0 && r.ratioInterval![0] <= r.ratio! && r.ratio! <= r.ratioInterval![1]);
      assert.equal(r.engineSamplesMs!.length, r.idiomaticSamplesMs!.length);
    }
    assert.match(records[1]!.idiomatic!, /InferenceSession\.create/);
  });
});
