import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { analyzeGraph } from '../src/analysis/index.js';
import { parseEngineChoice } from '../src/engines/index.js';
import { numericsOf } from '../src/engines/registry.js';
import { loadLiteRt, type LiteRt } from '../src/engines/litert-runtime.js';
import { PRECISION_TOLERANCE } from '../src/engines/precision.js';
import { createDefaultSession, runFloat32 } from '../src/engines/ort-runtime.js';
import { UserError } from '../src/errors.js';
import { attr, type Graph } from '../src/ir/index.js';
import { prepareModel, resolveModel } from '../src/model/index.js';
import { toOnnxBytes } from '../src/onnx/index.js';
import { outputError, precisionInputs, quantizeOnnx, type ModelInput, type OutputError } from '../src/quantize/index.js';
import { INT8_TFLITE_OPS, int8TfliteBytes } from '../src/quantize/tflite-int8.js';
import { fromTfliteBytes, readTflite, toTfliteBytes, type TfliteModel } from '../src/tflite/index.js';
import type { TfliteTensor } from '../src/tflite/model.js';
import { Op, TensorTypeCode } from '../src/tflite/schema.js';
import { runCli } from './cli-helpers.js';
import { graphOf, node, positive, scalar, weight } from './onnx-helpers.js';
import { testTempDir } from './temp-dir.js';

/**
 * Bounds. INT8 vs FP32: the engines' INT8 tolerance is 0.5 (precision.ts, there to catch a broken
 * conversion); a sound full-integer file here stays under 0.05 (measured: 0.01–0.03), the bound
 * `formbench quantize`'s tests hold its QDQ models to. INT8 LiteRT vs INT8 QDQ on onnxruntime:
 * the two round differently (int8 vs uint8 activations; the QDQ model leaves pooling, Add and the
 * logits float, and reduces weights to 7 bits on a CPU without VNNI), measured 0.007–0.012.
 */
const INT8_VS_FP32 = 0.05;
const INT8_VS_QDQ = 0.03;

const HELD_OUT = 8;

interface Compiled {
  run(input: ModelInput): Promise<Float32Array>;
  delete(): void;
}
const compiled: Compiled[] = [];
after(() => {
  for (const c of compiled) c.delete();
});

let litertStarted: Promise<LiteRt> | undefined;

/** A .tflite compiled by LiteRT.js for XNNPACK (wasm), as the litert engine compiles one. */
async function onLiteRt(bytes: Uint8Array): Promise<Compiled> {
  const litert = await (litertStarted ??= loadLiteRt(2));
  const model = await litert.loadAndCompile(bytes, { accelerator: 'wasm', cpuOptions: { numThreads: 2 } });
  const c: Compiled = {
    async run(x) {
      const input = new litert.Tensor(x.data, x.dims);
      try {
        const outputs = await model.run(input);
        try {
          return Float32Array.from(outputs[0]!.toTypedArray() as Float32Array);
        } finally {
          for (const o of outputs) o.delete();
        }
      } finally {
        input.delete();
      }
    },
    delete: () => model.delete(),
  };
  compiled.push(c);
  return c;
}

async function onOrt(onnx: Uint8Array, inputs: ModelInput[]): Promise<Float32Array[]> {
  const session = await createDefaultSession(onnx);
  try {
    const out: Float32Array[] = [];
    for (const x of inputs) out.push([...(await runFloat32(session, x)).values()][0]!);
    return out;
  } finally {
    await session.release();
  }
}

interface Measured {
  graph: Graph;
  bytes: Uint8Array;
  file: TfliteModel;
  vsFp32: OutputError;
  vsQdq: OutputError;
}

/** Quantised to an INT8 .tflite and run on LiteRT.js, compared with FP32 and with INT8 QDQ on onnxruntime on the same held-out seeded inputs. */
async function measure(graphOrSpec: Graph | string): Promise<Measured> {
  const graph = typeof graphOrSpec === 'string' ? await prepareModel(resolveModel(graphOrSpec)) : graphOrSpec;
  const inputs = await precisionInputs(graph, { calibrate: 16, evaluate: HELD_OUT, batch: 1 });
  const { bytes } = await int8TfliteBytes(graph, { calibration: inputs.calibration, method: 'minmax' });
  const model = await onLiteRt(bytes);
  const int8: Float32Array[] = [];
  for (const x of inputs.heldOut) int8.push(await model.run(x));
  const onnx = toOnnxBytes(graph);
  const fp32 = await onOrt(onnx, inputs.heldOut);
  const qdq = await onOrt((await quantizeOnnx(onnx, { calibration: inputs.calibration, method: 'minmax' })).onnx, inputs.heldOut);
  const rows = inputs.heldOut.map((x) => x.dims[0]!);
  return { graph, bytes, file: readTflite(bytes, 'int8.tflite'), vsFp32: outputError(fp32, int8, rows), vsQdq: outputError(qdq, int8, rows) };
}

/** The measured errors, in the test's output. */
function report(t: TestContext, m: Measured): void {
  const f = (e: OutputError) => `‖Δ‖/‖ref‖ ${e.relativeError.toExponential(2)}, top-1 ${e.top1Agree}/${e.images} (reference classes ${e.referenceClasses}), centred top-1 ${(e.centredTop1Agreement * e.images).toFixed(0)}/${e.images}`;
  t.diagnostic(`INT8 LiteRT vs FP32 ort: ${f(m.vsFp32)}; vs INT8 QDQ ort: ${f(m.vsQdq)}`);
}

const isActivation = (f: TfliteModel, t: TfliteTensor) => t.buffer === 0 || (f.buffers[t.buffer]?.byteLength ?? 0) === 0;
const paramsOf = (t: TfliteTensor) => ({ scale: t.quantization!.scale[0]!, zeroPoint: t.quantization!.zeroPoint[0]! });

/** What LiteRT's quantisation spec asks of every tensor of a fully integer file. */
function checkSpec(f: TfliteModel): void {
  const input = f.tensors[f.inputs[0]!]!;
  const output = f.tensors[f.outputs[0]!]!;
  assert.equal(input.type, TensorTypeCode.FLOAT32, 'a float32 interface');
  assert.equal(output.type, TensorTypeCode.FLOAT32);
  assert.equal(input.shape.length, 4);
  assert.equal(input.shape[1], 3, 'NCHW like the FP32 export');
  const first = f.operators[0]!;
  assert.equal(first.builtin, Op.QUANTIZE, 'QUANTIZE right after the float input');
  assert.deepEqual(first.inputs, [f.inputs[0]]);
  const last = f.operators.at(-1)!;
  assert.equal(last.builtin, Op.DEQUANTIZE, 'DEQUANTIZE right before the float output');
  assert.deepEqual(last.outputs, [f.outputs[0]]);
  const interfaceTensors = new Set([...f.inputs, ...f.outputs]);
  f.tensors.forEach((t, i) => {
    if (interfaceTensors.has(i) || !isActivation(f, t)) return;
    assert.equal(t.type, TensorTypeCode.INT8, `activation '${t.name}' is int8`);
    assert.equal(t.quantization?.scale.length, 1, `'${t.name}' per tensor`);
    const { scale, zeroPoint } = paramsOf(t);
    assert.ok(scale > 0 && Number.isInteger(zeroPoint) && zeroPoint >= -128 && zeroPoint <= 127, `'${t.name}': scale ${scale}, zero point ${zeroPoint}`);
  });
  const weightAxis: Record<number, number> = { [Op.CONV_2D]: 0, [Op.FULLY_CONNECTED]: 0, [Op.DEPTHWISE_CONV_2D]: 3 };
  const sameScale = [Op.MAX_POOL_2D, Op.AVERAGE_POOL_2D, Op.PAD, Op.PADV2, Op.RESHAPE, Op.TRANSPOSE, Op.SLICE, Op.MAXIMUM, Op.MINIMUM];
  for (const op of f.operators) {
    const out = f.tensors[op.outputs[0]!]!;
    if (op.builtin in weightAxis) {
      const [x, w, b] = [op.inputs[0]!, op.inputs[1]!, op.inputs[2]!].map((i) => f.tensors[i]!) as [TfliteTensor, TfliteTensor, TfliteTensor];
      const axis = weightAxis[op.builtin]!;
      const channels = w.shape[axis]!;
      assert.equal(w.type, TensorTypeCode.INT8, `weight '${w.name}' int8`);
      assert.equal(w.quantization!.axis, axis, `'${w.name}': quantized_dimension ${axis}`);
      assert.equal(w.quantization!.scale.length, channels, 'one scale per output channel');
      assert.ok(w.quantization!.zeroPoint.every((z) => z === 0), 'symmetric');
      const data = f.buffers[w.buffer]!;
      const q = new Int8Array(data.buffer, data.byteOffset, data.byteLength);
      assert.ok(q.every((v) => v >= -127), 'in [−127, 127]');
      assert.equal(b.type, TensorTypeCode.INT32, `bias '${b.name}' int32`);
      assert.ok(b.quantization!.zeroPoint.every((z) => z === 0));
      const inputScale = paramsOf(x).scale;
      b.quantization!.scale.forEach((s, c) => {
        const expected = inputScale * w.quantization!.scale[c]!;
        assert.ok(Math.abs(s - expected) <= 1e-6 * expected, `bias scale = input scale × weight scale (channel ${c}: ${s} vs ${expected})`);
      });
    }
    if (sameScale.includes(op.builtin as (typeof sameScale)[number])) assert.deepEqual(paramsOf(out), paramsOf(f.tensors[op.inputs[0]!]!), `${op.builtin}: the output keeps its input's scale and zero point`);
    if (op.builtin === Op.CONCATENATION) for (const i of op.inputs) assert.deepEqual(paramsOf(f.tensors[i]!), paramsOf(out), 'concatenation inputs at the output\'s scale');
    if (op.builtin === Op.SOFTMAX) assert.deepEqual(paramsOf(out), { scale: Math.fround(1 / 256), zeroPoint: -128 });
  }
}

describe('INT8 .tflite export', () => {
  for (const spec of ['standard/d10/w32/r64', 'depthwise-separable/d10/w32/r64']) {
    it(`${spec}: follows the quantisation spec, runs on LiteRT.js near FP32 and near INT8 QDQ, imports with the zoo's MACs`, async (t) => {
      const m = await measure(spec);
      report(t, m);
      checkSpec(m.file);
      assert.deepEqual(m.file.tensors[m.file.inputs[0]!]!.shape, [1, 3, 64, 64]);
      if (spec.startsWith('depthwise')) assert.ok(m.file.operators.some((o) => o.builtin === Op.DEPTHWISE_CONV_2D));
      assert.ok(m.vsFp32.relativeError < INT8_VS_FP32 && m.vsFp32.relativeError > 0, `INT8 LiteRT vs FP32 ort: ${m.vsFp32.relativeError}`);
      assert.ok(m.vsQdq.relativeError < INT8_VS_QDQ, `INT8 LiteRT vs INT8 QDQ ort: ${m.vsQdq.relativeError}`);
      // Import dequantises the weights and biases and reads the int8 activations as FP32.
      const imported = fromTfliteBytes(m.bytes, 'int8.tflite');
      assert.deepEqual(imported.inputs[0]!.type.shape, [1, 3, 64, 64], 'the NCHW input, through its QUANTIZE');
      assert.equal(analyzeGraph(imported, { batch: 1 }).macs, analyzeGraph(m.graph, { batch: 1 }).macs);
    });
  }

  it('mobilenet_v2: near FP32, the same top-1 class', async (t) => {
    const m = await measure('mobilenet_v2');
    report(t, m);
    checkSpec(m.file);
    assert.ok(m.vsFp32.relativeError < INT8_VS_FP32, `INT8 LiteRT vs FP32 ort: ${m.vsFp32.relativeError}`);
    assert.ok(m.vsFp32.top1Agreement >= 0.875, `top-1 agreement ${m.vsFp32.top1Agreement}`);
    assert.ok(m.vsQdq.relativeError < INT8_VS_QDQ, `INT8 LiteRT vs INT8 QDQ ort: ${m.vsQdq.relativeError}`);
  });

  it('concatenation (inputs requantised to its scale), a BatchNorm after it (MUL, ADD), clip bounds, average pooling and softmax', async (t) => {
    const conv = (name: string, x: string, cout: number) => node(name, 'Conv', [x, `${name}.w`, `${name}.b`], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) });
    const graph = graphOf({
      nodes: [
        conv('a', 'x', 8),
        node('ra', 'Relu', ['a']),
        conv('b', 'x', 8),
        node('rb', 'Clip', ['b', 'zero', 'six']),
        node('cat', 'Concat', ['ra', 'rb'], { axis: attr.int(1) }),
        node('bn', 'BatchNormalization', ['cat', 'g', 'beta', 'mean', 'var']),
        node('clip', 'Clip', ['bn', 'lo', 'hi']),
        node('pool', 'AveragePool', ['clip'], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) }),
        node('gap', 'GlobalAveragePool', ['pool']),
        node('flat', 'Flatten', ['gap']),
        node('fc', 'Gemm', ['flat', 'fc.w', 'fc.b'], { transB: attr.int(1) }),
        node('prob', 'Softmax', ['fc']),
      ],
      initializers: {
        'a.w': weight(8, 3, 3, 3),
        'a.b': weight(8),
        'b.w': weight(8, 3, 3, 3),
        'b.b': weight(8),
        zero: scalar(0),
        six: scalar(6),
        g: positive(16),
        beta: weight(16),
        mean: weight(16),
        var: positive(16),
        lo: scalar(-0.5),
        hi: scalar(1),
        'fc.w': weight(10, 16),
        'fc.b': weight(10),
      },
    }, [1, 3, 16, 16]);
    const m = await measure(graph);
    report(t, m);
    checkSpec(m.file);
    const ops = new Set(m.file.operators.map((o) => o.builtin));
    for (const op of [Op.CONCATENATION, Op.MUL, Op.ADD, Op.MAXIMUM, Op.MINIMUM, Op.AVERAGE_POOL_2D, Op.SOFTMAX]) assert.ok(ops.has(op), `writes operator ${op}`);
    assert.ok(m.file.operators.filter((o) => o.builtin === Op.QUANTIZE).length > 1, 'a requantising QUANTIZE before the concatenation');
    assert.ok(m.vsFp32.relativeError < INT8_VS_FP32, `INT8 LiteRT vs FP32 ort: ${m.vsFp32.relativeError}`);
  });

  it('refuses an operator LiteRT has no int8 kernel for here (DIV), naming it and what it writes', async () => {
    const graph = graphOf({ nodes: [node('d', 'Div', ['x', 'two'])], initializers: { two: scalar(2) } }, [1, 3, 8, 8]);
    assert.ok(toTfliteBytes(graph).byteLength > 0, 'FP32 writes it');
    await assert.rejects(
      int8TfliteBytes(graph, { calibration: [{ data: new Float32Array(192).fill(1), dims: [1, 3, 8, 8] }], method: 'minmax' }),
      (e: Error) => e instanceof UserError && /DIV .*has no INT8 \.tflite export/.test(e.message) && (e as UserError).hint!.includes(INT8_TFLITE_OPS.join(', ')),
    );
  });
});

describe('formbench export --precision int8', () => {
  const dir = testTempDir('tflite-int8-cli-');
  const macs = (out: string) => /MACs ([\d.]+ [kMG]?)/.exec(out)?.[1];

  it('writes an INT8 .tflite that analyze reads with the zoo model\'s MACs', async () => {
    const path = join(dir, 'm.tflite');
    const r = await runCli(['export', 'depthwise-separable/d3/w16/r64', '-o', path, '--precision', 'int8', '--calibrate', '4', '--method', 'percentile']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\.tflite INT8 \(full integer/);
    assert.match(r.stdout, /percentile \(99\.99% of values inside the range\), on 4 seeded N\(0,1\) inputs/);
    const file = readTflite(readFileSync(path), 'm.tflite');
    checkSpec(file);
    const [zoo, analyzed] = await Promise.all([runCli(['analyze', 'depthwise-separable/d3/w16/r64']), runCli(['analyze', path])]);
    assert.equal(analyzed.code, 0, analyzed.stderr);
    assert.ok(macs(zoo.stdout));
    assert.equal(macs(analyzed.stdout), macs(zoo.stdout));
  });

  it('bad input is one line and exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['-o', join(dir, 'm.onnx'), '--precision', 'int8'], /--precision int8 writes \.tflite files/],
      [['-o', join(dir, 'm.tflite'), '--precision', 'int4'], /unknown precision 'int4'/],
      [['-o', join(dir, 'm.tflite'), '--calibrate', '4'], /--calibrate calibrates an INT8 export; this one is FP32/],
      [['-o', join(dir, 'm.tflite'), '--precision', 'int8', '--method', 'entropy'], /unknown calibration method 'entropy'/],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(['export', 'standard/d1/w8/r32', ...args])));
    runs.forEach((r, i) => {
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, cases[i]![1]);
    });
  });
});

describe('litert:precision=int8', () => {
  it('quantises at load (batch 1 and another batch from the same ranges), near FP32, with the INT8 tolerance', async () => {
    const graph = await prepareModel(resolveModel('bottleneck/d2/w32/r32'));
    const choice = parseEngineChoice('litert:precision=int8,threads=2');
    assert.equal(choice.label, 'litert:precision=int8,threads=2');
    assert.deepEqual(numericsOf(choice.engine, choice.options), { precision: 'int8', tolerance: PRECISION_TOLERANCE.int8 });
    const inputs = await precisionInputs(graph, { calibrate: 1, evaluate: 4, batch: 2 });
    const session = await choice.engine.load({ spec: 'bottleneck/d2/w32/r32', graph, onnx: new Uint8Array() }, choice.options);
    try {
      const int8: Float32Array[] = [];
      for (const x of inputs.heldOut) int8.push(Float32Array.from(await session.run(x.data, x.dims)));
      const one = inputs.heldOut[0]!;
      const single = await session.run(one.data.subarray(0, one.data.length / 2), [1, ...one.dims.slice(1)]);
      assert.deepEqual([...single], [...int8[0]!.subarray(0, 1000)], 'batch 1 and batch 2 files quantise alike');
      const fp32 = await onOrt(toOnnxBytes(graph), inputs.heldOut);
      const e = outputError(fp32, int8, inputs.heldOut.map((x) => x.dims[0]!));
      assert.ok(e.relativeError > 0 && e.relativeError < INT8_VS_FP32, `relative error ${e.relativeError}`);
    } finally {
      await session.dispose();
    }
  });
});
