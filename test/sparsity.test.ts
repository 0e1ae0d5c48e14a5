import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { prepareModel, resolveModel } from '../src/model/index.js';
import { GraphExtender, runOnce } from '../src/weights/ort-run.js';
import { ACTIVATION_OPS, activationSparsity, folderImages, imageInputOf, randomImages } from '../src/weights/sparsity.js';
import { testTempDir } from './temp-dir.js';

const SMALL = 'depthwise-bottleneck/d2/w16/r32';

describe('activation sparsity', () => {
  it('equals a direct count of zeros in the activations onnxruntime returns', async () => {
    const graph = await prepareModel(resolveModel(SMALL));
    const source = randomImages(imageInputOf(graph), 2, 5);
    const report = await activationSparsity(graph, source, { batch: 2 });

    const plain = new GraphExtender(graph, 2);
    const activations = graph.nodes.filter((n) => ACTIVATION_OPS.has(n.op));
    for (const n of graph.nodes) plain.keep(n);
    for (const n of activations) plain.expose(n.outputs[0]!);
    const perImage = plain.input.dims.slice(1).reduce((a, b) => a * b, 1);
    const data = new Float32Array(2 * perImage);
    await source.fill(0, data, 0);
    await source.fill(1, data, perImage);
    const values = await runOnce(plain.graph, { ...plain.input, data }, activations.map((n) => n.outputs[0]!));

    assert.equal(report.layers.length, activations.length);
    let zerosAll = 0;
    let elementsAll = 0;
    report.layers.forEach((layer, i) => {
      const v = values.get(activations[i]!.outputs[0]!)!;
      const per = v.length / 2;
      const fractions = [0, 1].map((k) => v.subarray(k * per, (k + 1) * per).filter((x) => x === 0).length / per);
      zerosAll += fractions[0]! * per + fractions[1]! * per;
      elementsAll += 2 * per;
      assert.equal(layer.elementsPerInput, per);
      assert.ok(Math.abs(layer.zeroFraction - (fractions[0]! + fractions[1]!) / 2) < 1e-6, `${layer.name}: ${layer.zeroFraction} vs ${fractions}`);
      assert.ok(Math.abs(layer.min - Math.min(...fractions)) < 1e-6 && Math.abs(layer.max - Math.max(...fractions)) < 1e-6);
    });
    assert.ok(Math.abs(report.overall.zeroFraction - zerosAll / elementsAll) < 1e-6);
  });

  it('gives every layer of a zoo model a fraction in [0, 1], and the same numbers at any batch', async () => {
    const graph = await prepareModel(resolveModel(SMALL));
    const input = imageInputOf(graph);
    assert.deepEqual([input.layout, input.height], ['nchw', 32]);
    const one = await activationSparsity(graph, randomImages(input, 3, 1), { batch: 1 });
    const two = await activationSparsity(graph, randomImages(input, 3, 1), { batch: 2 });
    for (const l of one.layers) assert.ok(l.min >= 0 && l.min <= l.zeroFraction && l.zeroFraction <= l.max && l.max <= 1, JSON.stringify(l));
    one.layers.forEach((l, i) => assert.ok(Math.abs(l.zeroFraction - two.layers[i]!.zeroFraction) < 1e-6, l.name));
    assert.ok(one.overall.zeroFraction > 0 && one.overall.zeroFraction < 1);
  });

  it('reads, resizes and normalises real images from a folder', async () => {
    const dir = testTempDir('formbench-images-');
    try {
      // A black image: after ImageNet normalisation every pixel is negative, unlike random noise.
      await sharp({ create: { width: 40, height: 20, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toFile(join(dir, 'black.png'));
      await sharp({ create: { width: 10, height: 50, channels: 4, background: { r: 250, g: 120, b: 10, alpha: 1 } } }).png().toFile(join(dir, 'orange.png'));
      const graph = await prepareModel(resolveModel(SMALL));
      const source = await folderImages(dir, imageInputOf(graph));
      assert.equal(source.count, 2);
      const data = new Float32Array(3 * 32 * 32);
      await source.fill(0, data, 0);
      assert.ok(Math.abs(data[0]! - (0 - 0.485) / 0.229) < 1e-6, 'black, ImageNet-normalised red channel');
      const report = await activationSparsity(graph, source);
      assert.equal(report.inputs, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('formbench sparsity', () => {
  it('reports per-layer zero fractions of nsfwjs MobileNetV2 as JSON', () => {
    const r = spawnSync('node', ['dist/src/cli/main.js', 'sparsity', 'nsfwjs:mobilenet_v2', '--inputs', '2', '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { inputs: number; layers: { name: string; op: string; zeroFraction: number; min: number; max: number }[]; overall: { zeroFraction: number } };
    assert.equal(out.inputs, 2);
    // 35 ReLU6 (as Clip) in the backbone, then the two Dense ReLUs of nsfwjs's head.
    assert.deepEqual([out.layers.filter((l) => l.op === 'Clip').length, out.layers.filter((l) => l.op === 'Relu').length], [35, 2]);
    for (const l of out.layers) assert.ok(l.zeroFraction >= 0 && l.zeroFraction <= 1, l.name);
    assert.ok(out.overall.zeroFraction > 0.1 && out.overall.zeroFraction < 0.9);
  });

  it('a model without an image input is a one-line error with exit 2', () => {
    const r = spawnSync('node', ['dist/src/cli/main.js', 'sparsity', 'test/fixtures/tfjs-graph/tiny-graph'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^formbench: error: .*does not take one 3-channel image/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
});
