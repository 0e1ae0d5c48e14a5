import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { kernelPrecisionOf, profileKernelPrecision } from '../src/engines/ort-kernel-precision.js';
import { toOnnxBytes } from '../src/onnx/index.js';
import { ModelProto } from '../src/onnx/schema.js';
import { compareModels, convertToFp16, outputError, quantizeOnnx, seededInputs } from '../src/quantize/index.js';
import { halfBits, halfToFloat } from '../src/quantize/half.js';
import { asymmetricParams, dequantize, INT8_REDUCED_RANGE, INT8_SYMMETRIC_RANGE, quantize, quantizeBias, quantizePerChannel, roundHalfEven, UINT8_RANGE, weightRange } from '../src/quantize/params.js';
import { Histogram, MinMax } from '../src/quantize/ranges.js';
import { calibrateBatchNorm, Rng, seededNormal } from '../src/weights/index.js';
import { buildZooModel } from '../src/zoo/index.js';
import { testTempDir } from './temp-dir.js';

describe('quantisation parameters', () => {
  it('round half to even, as ONNX QuantizeLinear does', () => {
    assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6].map(roundHalfEven), [0, 2, 2, -0, -2, -2, 2, -3]);
  });

  it('map a range onto uint8 with zero exactly representable', () => {
    const p = asymmetricParams(-1, 3);
    assert.equal(p.scale, Math.fround(4 / 255));
    assert.equal(p.zeroPoint, 64); // 1 / (4/255) = 63.75, rounded
    assert.equal(dequantize(quantize(0, p, UINT8_RANGE), p), 0);
    assert.equal(quantize(100, p, UINT8_RANGE), 255, 'saturates above the range');
    assert.equal(quantize(-100, p, UINT8_RANGE), 0, 'saturates below the range');
    // A range that excludes 0 is widened to include it; ReLU outputs get zero point 0.
    assert.deepEqual(asymmetricParams(0.5, 2), { scale: Math.fround(2 / 255), zeroPoint: 0 });
    assert.equal(asymmetricParams(-2, -1).zeroPoint, 255);
    assert.deepEqual(asymmetricParams(0, 0), { scale: 1, zeroPoint: 0 });
  });

  it('quantise weights per output channel within half a step of each channel’s own scale', () => {
    const dims = [4, 3, 3, 3];
    const w = seededNormal(3, 'w', 4 * 27, 1);
    for (let i = 27; i < 54; i++) w[i]! *= 1e-3; // a channel of small weights beside large ones
    const q = quantizePerChannel(w, dims, 0, INT8_SYMMETRIC_RANGE);
    assert.equal(q.scales.length, 4);
    for (let c = 0; c < 4; c++) {
      const slice = w.subarray(c * 27, (c + 1) * 27);
      const absMax = Math.max(...Array.from(slice, Math.abs));
      assert.equal(q.scales[c], Math.fround(absMax / 127));
      for (let i = 0; i < 27; i++) {
        const back = q.values[c * 27 + i]! * q.scales[c]!;
        assert.ok(Math.abs(back - slice[i]!) <= q.scales[c]! / 2 + 1e-12, `channel ${c} weight ${i}`);
      }
    }
    assert.ok(q.values.every((v) => v >= -127 && v <= 127));
    // The small channel keeps its resolution: a per-tensor scale would round it all to zero.
    assert.ok(q.values.subarray(27, 54).some((v) => Math.abs(v) > 60));
  });

  it('quantise along the last axis of a K×N matrix', () => {
    const w = Float32Array.of(1, 10, -2, 20, 0.5, -40); // 3×2: column 0 max 2, column 1 max 40
    const q = quantizePerChannel(w, [3, 2], 1, INT8_SYMMETRIC_RANGE);
    assert.deepEqual(Array.from(q.scales), [Math.fround(2 / 127), Math.fround(40 / 127)]);
    assert.deepEqual(Array.from(q.values), [64, 32, -127, 64, 32, -127]);
  });

  it('quantise weights to 7 bits where the CPU has no VNNI (AVX2 sums two u8 × s8 products in a saturating int16)', () => {
    assert.deepEqual(weightRange(['AVX2', 'AVX-512F', 'AVX-512 VNNI']), INT8_SYMMETRIC_RANGE);
    assert.deepEqual(weightRange(['AVX2', 'AVX-VNNI']), INT8_SYMMETRIC_RANGE);
    assert.deepEqual(weightRange(['FMA', 'AVX2']), INT8_REDUCED_RANGE);
    const q = quantizePerChannel(Float32Array.of(1, 10, -2, 20, 0.5, -40), [3, 2], 1, INT8_REDUCED_RANGE);
    assert.deepEqual(Array.from(q.scales), [Math.fround(2 / 64), Math.fround(40 / 64)]);
    assert.deepEqual(Array.from(q.values), [32, 16, -64, 32, 16, -64]);
    assert.ok(2 * 255 * INT8_REDUCED_RANGE[1] <= 32767 && 2 * 255 * INT8_SYMMETRIC_RANGE[1] > 32767);
  });

  it('quantise a bias in the accumulator’s scale', () => {
    const b = quantizeBias(Float32Array.of(1, -1), 0.1, Float32Array.of(0.01, 0.02));
    assert.deepEqual(Array.from(b.values), [1000, -500]);
  });
});

describe('calibration ranges', () => {
  it('min/max and histogram percentiles agree with sorting', () => {
    const values = seededNormal(5, 'activations', 200_000, 2);
    const mm = new MinMax();
    mm.add(values.subarray(0, 100_000));
    mm.add(values.subarray(100_000));
    const sorted = Float64Array.from(values).sort();
    assert.deepEqual(mm.range(), { min: sorted[0], max: sorted.at(-1) });
    const h = new Histogram(mm.min, mm.max);
    h.add(values);
    const binWidth = (mm.max - mm.min) / 4096;
    for (const q of [0.0001, 0.01, 0.5, 0.99, 0.9999]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!; // the value with a fraction q of all at or below it
      assert.ok(Math.abs(h.quantile(q) - exact) <= binWidth, `quantile ${q}: ${h.quantile(q)} vs ${exact}`);
    }
    const r = h.percentileRange(99.99);
    assert.ok(r.min > mm.min && r.max < mm.max, 'the percentile range drops the extreme tails');
    const all = h.percentileRange(100);
    assert.ok(Math.abs(all.min - mm.min) <= binWidth && Math.abs(all.max - mm.max) <= binWidth);
  });
});

describe('float16 conversion', () => {
  it('rounds like onnxruntime’s Cast, subnormals and overflow included', async () => {
    const rng = new Rng(9, 'half');
    const special = [0, -0, 1, -1, 65504, 65519, 65520, 1e6, -1e6, 6.1e-5, 5.96e-8, 2 ** -25, 1.5 * 2 ** -25, 2 ** -26, 1e-9, 0.1, 1 / 3, Infinity, -Infinity];
    const values = Float32Array.from([...special, ...Array.from({ length: 2000 }, () => (rng.uniform() - 0.5) * 10 ** (12 * rng.uniform() - 8))]);
    const model = {
      ir_version: 8,
      opset_import: [{ domain: '', version: 17 }],
      graph: {
        name: 'cast',
        node: [{ op_type: 'Cast', input: ['x'], output: ['y'], attribute: [{ name: 'to', type: 2, i: 10 }] }],
        input: [{ name: 'x', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: values.length }] } } } }],
        output: [{ name: 'y', type: { tensor_type: { elem_type: 10, shape: { dim: [{ dim_value: values.length }] } } } }],
      },
    };
    const session = await ort.InferenceSession.create(ModelProto.encode(model).finish());
    const y = (await session.run({ x: new ort.Tensor('float32', values, [values.length]) }))['y']!.data as Uint16Array;
    await session.release();
    for (let i = 0; i < values.length; i++) assert.equal(halfBits(values[i]!), y[i], `value ${values[i]}`);
    assert.ok(Number.isNaN(halfToFloat(halfBits(NaN))));
    for (const h of [0x0001, 0x03ff, 0x0400, 0x3c00, 0x7bff, 0xfbff]) assert.equal(halfBits(halfToFloat(h)), h);
  });
});

describe('output error', () => {
  it('measures max abs, relative L2 and top-1 agreement row by row', () => {
    const ref = [Float32Array.of(1, 2, 3, 3, 2, 1)];
    const cand = [Float32Array.of(1, 2, 3, 1, 2, 3.5)];
    const e = outputError(ref, cand, [2]);
    assert.equal(e.images, 2);
    assert.equal(e.maxAbsError, 2.5);
    assert.equal(e.top1Agree, 1);
    assert.equal(e.top1Agreement, 0.5);
    assert.equal(e.referenceClasses, 2);
    // Mean reference output (2, 2, 2): centred rows (-1, 0, 1) and (1, 0, -1) vs (-1, 0, 1) and (-1, 0, 1.5).
    assert.equal(e.centredTop1Agreement, 0.5);
    assert.equal(e.centredReferenceClasses, 2);
    assert.ok(Math.abs(e.relativeError - Math.sqrt(4 + 6.25) / Math.sqrt(28)) < 1e-12);
    assert.equal(outputError(ref, ref, [2]).relativeError, 0);
  });
});

describe('lower-precision models on onnxruntime', async () => {
  const zoo = buildZooModel('standard/d4/w16/r32');
  const fp32 = toOnnxBytes(await calibrateBatchNorm(zoo.graph, { gains: zoo.bnGains }));
  const heldOut = seededInputs([3, 32, 32], 32, 11, 'held-out', 8);

  it('INT8: every Conv and the Gemm run as integer kernels, outputs close to FP32', async () => {
    const q = await quantizeOnnx(fp32, { calibration: seededInputs([3, 32, 32], 8, 11, 'calibration'), method: 'minmax' });
    assert.deepEqual(q.summary.quantized, { Conv: 5, Gemm: 1 });
    assert.equal(q.summary.foldedActivations, 5, 'each Conv’s ReLU folds into its QuantizeLinear');
    const kernels = await profileKernelPrecision(q.onnx, heldOut[0]!, 3);
    assert.deepEqual(kernels.macKernels, { integer: 6 });
    const integer = kernels.classes.find((c) => c.precision === 'integer')!;
    assert.equal(integer.ops['QLinearConv'], 5);
    // Their share of the time is measured and printed by `formbench quantize`, not asserted: on a
    // loaded 2-core machine it swung from over half to 0.28.
    assert.ok(integer.share > 0 && integer.share <= 1, `integer kernels take ${integer.share} of the time`);
    const error = await compareModels(fp32, q.onnx, heldOut);
    assert.ok(error.relativeError < 0.05, `relative error ${error.relativeError}`);
    assert.ok(error.top1Agreement >= 0.9, `top-1 agreement ${error.top1Agreement}`);
    // The FP32 model itself runs float kernels only: the classifier is not fooled by op names.
    assert.deepEqual((await profileKernelPrecision(fp32, heldOut[0]!, 2)).macKernels, { float32: 6 });
  });

  it('INT8 with percentile calibration clips outliers and stays close to FP32', async () => {
    const q = await quantizeOnnx(fp32, { calibration: seededInputs([3, 32, 32], 8, 11, 'calibration'), method: 'percentile', percentile: 99.9 });
    const error = await compareModels(fp32, q.onnx, heldOut);
    assert.ok(error.relativeError < 0.1, `relative error ${error.relativeError}`);
  });

  it('FP16: float16 weights, float32 inputs and outputs, outputs within FP16 rounding of FP32', async () => {
    const h = await convertToFp16(fp32);
    const model = ModelProto.decode(h.onnx) as unknown as { graph: { initializer: { data_type: number }[]; input: { type: { tensor_type: { elem_type: number } } }[]; output: { type: { tensor_type: { elem_type: number } } }[] } };
    assert.ok(model.graph.initializer.every((t) => t.data_type === 10));
    assert.equal(model.graph.input[0]!.type.tensor_type.elem_type, 1);
    assert.equal(model.graph.output[0]!.type.tensor_type.elem_type, 1);
    const error = await compareModels(fp32, h.onnx, heldOut);
    assert.ok(error.relativeError < 5e-3 && error.relativeError > 0, `relative error ${error.relativeError}`);
    assert.equal(error.top1Agreement, 1);
  });

  it('INT8: MatMul layers (a transformer-style MLP) run as integer kernels too', async () => {
    const w1 = seededNormal(2, 'w1', 64 * 32, 0.2);
    const w2 = seededNormal(2, 'w2', 32 * 10, 0.2);
    const raw = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const mlp = ModelProto.encode({
      ir_version: 8,
      opset_import: [{ domain: '', version: 17 }],
      graph: {
        name: 'mlp',
        node: [
          { name: 'fc1', op_type: 'MatMul', input: ['x', 'w1'], output: ['h'] },
          { name: 'act', op_type: 'Relu', input: ['h'], output: ['a'] },
          { name: 'fc2', op_type: 'MatMul', input: ['a', 'w2'], output: ['y'] },
        ],
        initializer: [
          { name: 'w1', dims: [64, 32], data_type: 1, raw_data: raw(w1) },
          { name: 'w2', dims: [32, 10], data_type: 1, raw_data: raw(w2) },
        ],
        input: [{ name: 'x', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N' }, { dim_value: 64 }] } } } }],
        output: [{ name: 'y', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N' }, { dim_value: 10 }] } } } }],
      },
    }).finish();
    const q = await quantizeOnnx(mlp, { calibration: seededInputs([64], 8, 4, 'calibration', 4), method: 'minmax' });
    assert.deepEqual(q.summary.quantized, { MatMul: 2 });
    const kernels = await profileKernelPrecision(q.onnx, seededInputs([64], 4, 4, 'held-out', 4)[0]!, 2);
    assert.deepEqual(kernels.macKernels, { integer: 2 });
    const error = await compareModels(mlp, q.onnx, seededInputs([64], 64, 4, 'held-out', 16));
    assert.ok(error.relativeError < 0.05, `relative error ${error.relativeError}`);
  });

  it('classes kernels by operator and input type', () => {
    assert.equal(kernelPrecisionOf('QLinearConv', 'uint8'), 'integer');
    assert.equal(kernelPrecisionOf('QGemm', 'uint8'), 'integer');
    assert.equal(kernelPrecisionOf('Conv', 'float'), 'float32');
    assert.equal(kernelPrecisionOf('Conv', 'float16'), 'float16');
    assert.equal(kernelPrecisionOf('DequantizeLinear', 'uint8'), 'conversion');
    assert.equal(kernelPrecisionOf('MaxPool', 'uint8'), 'integer');
  });
});

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
function formbench(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}
function assertUserError(r: { code: number; stderr: string }, message: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^formbench: error: .* \(hint: .*\)\n$/);
  assert.match(r.stderr, message);
}

describe('formbench quantize and convert', () => {
  const tmp = testTempDir('formbench-quantize-');

  it('writes an INT8 model and reports what it quantised, the kernels and the error', async () => {
    const out = join(tmp, 'q.onnx');
    const r = await formbench('quantize', 'bottleneck/d2/w32/r32', '-o', out, '--calibrate', '4', '--evaluate', '8', '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.quantized, { Conv: 7, Gemm: 1 });
    assert.equal(report.kernels.macKernels.integer, 8);
    assert.equal(report.error.images, 8);
    const ops = (ModelProto.decode(readFileSync(out)) as unknown as { graph: { node: { op_type: string }[] } }).graph.node.map((n) => n.op_type);
    assert.ok(ops.includes('QuantizeLinear') && ops.includes('DequantizeLinear'));
  });

  it('rejects an unknown calibration method in one line', async () => {
    assertUserError(await formbench('quantize', 'standard/d1/w16/r32', '-o', join(tmp, 'x.onnx'), '--method', 'entropy'), /unknown calibration method 'entropy'/);
  });

  it('rejects a corrupt input file in one line', async () => {
    const file = join(tmp, 'corrupt.onnx');
    writeFileSync(file, Buffer.from('not a model \x00\xff\xfe'));
    assertUserError(await formbench('quantize', file, '-o', join(tmp, 'y.onnx')), /is not a valid ONNX model/);
  });

  it('rejects an unknown conversion target in one line', async () => {
    assertUserError(await formbench('convert', 'standard/d1/w16/r32', '--to', 'fp8', '-o', join(tmp, 'z.onnx')), /cannot convert to 'fp8'/);
  });
});
