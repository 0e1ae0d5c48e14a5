/**
 * Input a user (or a downloaded model) can get wrong is refused before any work, as one line with
 * a hint and exit 2: files that are not regular files or lie outside the model's folder, specs
 * and batches beyond the caps, impossible shapes and attributes, unsupported versions, and study
 * files that would plan forever. Each case runs the built CLI as a user would.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fromOnnxBytes } from '../src/onnx/index.js';
import { readTfjsModel } from '../src/tfjs-graph/index.js';
import { runCli } from './cli-helpers.js';
import { assertOneLineUserError, editOnnx, externalWeight, isOneLineUserError, setConvInts, tinyGraphCopy, zooOnnx } from './hostile-helpers.js';
import { modelBytes, valueInfoMsg } from './onnx-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'formbench-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Each command must answer well inside this; a FIFO or /dev/zero that is opened never would. */
const QUICK_MS = 15_000;

async function refused(args: string[], pattern: RegExp): Promise<void> {
  // A hang is killed at the limit and then fails the exit-code check, instead of stalling the suite.
  const r = await runCli(args, { timeoutMs: QUICK_MS });
  assertOneLineUserError(r, pattern);
  assert.ok(r.ms < QUICK_MS, `took ${Math.round(r.ms)} ms`);
}

let base: Uint8Array;
function onnxFile(name: string, edit: Parameters<typeof editOnnx>[1]): string {
  const path = join(dir, name);
  writeFileSync(path, editOnnx(base, edit));
  return path;
}

before(() => {
  base = zooOnnx('standard/d2/w16/r32');
});

describe('hostile inputs: one line, exit 2, refused before any work', { concurrency: 2 }, () => {
  describe('files', { concurrency: 2 }, () => {
    for (const [name, path] of [['an absolute path', '/etc/passwd'], ['a path up and out', '../../../../etc/passwd'], ['a device', '/dev/zero']] as const) {
      it(`a TF.js weight shard at ${name} (${path}) is not read`, async () => {
        const model = tinyGraphCopy(join(dir, `shard-${name.replace(/\W/g, '')}`), (m) => (m.weightsManifest[0].paths = [path]));
        await refused(['analyze', model], /weight shard path .* points outside the model's folder/);
      });
    }
    it('a FIFO named x.onnx does not block analyze', async () => {
      const fifo = join(dir, 'x.onnx');
      execFileSync('mkfifo', [fifo]);
      await refused(['analyze', fifo], /x\.onnx is a FIFO, not a regular file/);
    });
    it('a folder named y.onnx is refused', async () => {
      mkdirSync(join(dir, 'y.onnx'));
      await refused(['analyze', join(dir, 'y.onnx')], /is a folder, not a regular file/);
    });
    it('a FIFO as a weight shard inside the folder does not block', async () => {
      const model = tinyGraphCopy(join(dir, 'fifo-shard'));
      rmSync(join(dir, 'fifo-shard', 'group1-shard1of1.bin'));
      execFileSync('mkfifo', [join(dir, 'fifo-shard', 'group1-shard1of1.bin')]);
      await refused(['analyze', model], /weight shard .* is a FIFO/);
    });
    it('ONNX external data at /dev/zero or outside the folder is not read', async () => {
      await refused(['analyze', onnxFile('ext-zero.onnx', (m) => externalWeight(m, '/dev/zero'))], /external data location '\/dev\/zero' points outside/);
      await refused(['analyze', onnxFile('ext-up.onnx', (m) => externalWeight(m, '../outside.bin'))], /points outside the model's folder/);
    });
    it('a study file that is a FIFO is refused', async () => {
      const fifo = join(dir, 'study.yaml');
      execFileSync('mkfifo', [fifo]);
      await refused(['study', fifo, '--dry-run', '--out', join(dir, 'res')], /study file .* is a FIFO/);
    });
  });

  describe('sizes', { concurrency: 2 }, () => {
    it('a zoo depth of 100000 is capped (it overflowed the stack)', () => refused(['analyze', 'standard/d100000/w64'], /depth 100000 is more than formbench builds \(at most 1000\)/));
    it('a resolution of 2^40 is capped', () => refused(['analyze', 'standard/d10/w64/r1099511627776'], /resolution 1099511627776 is more than formbench builds/));
    it('--batch 1e9 is refused by analyze and bench', async () => {
      await refused(['analyze', 'standard/d2/w16', '--batch', '1e9'], /--batch 1e9 is not a batch size/);
      await refused(['bench', 'standard/d2/w16', '--batch', '1,1e9'], /--batch 1e9 is not a batch size/);
    });
    it('bench refuses an input too large at its batch before any trial (it failed in the worker)', () =>
      refused(['bench', 'standard/d1/w8/r4096', '--batch', '4096', '--engines', 'ort'], /input 'input' has 206158430208 elements \(shape \[4096, 3, 4096, 4096\]\)/));
    it('an ONNX input of 100000² pixels names its element count', () =>
      refused(['analyze', onnxFile('huge.onnx', (m) => (m.graph.input[0].type.tensor_type.shape.dim.splice(2, 2, { dim_value: 100000 }, { dim_value: 100000 })))], /input 'input' has 30000000000 elements/));
  });

  describe('shapes and attributes', { concurrency: 2 }, () => {
    it('a TF.js weight shape of "four" or -2', async () => {
      await refused(['analyze', tinyGraphCopy(join(dir, 'four'), (m) => (m.weightsManifest[0].weights[0].shape = ['four']))], /weightsManifest\.0\.weights\.0\.shape\.0 is malformed/);
      await refused(['analyze', tinyGraphCopy(join(dir, 'neg'), (m) => (m.weightsManifest[0].weights[0].shape = [-2]))], /shape\.0 is malformed/);
    });
    it('a TF.js input dimension of "four"', () =>
      refused(['analyze', tinyGraphCopy(join(dir, 'ph-four'), (m) => (m.modelTopology.node[0].attr.shape.shape.dim[1].size = 'four'))], /dim\.1\.size is malformed/));
    it('stride 0, dilation 0 and negative pads', async () => {
      await refused(['analyze', onnxFile('stride0.onnx', (m) => setConvInts(m, 'strides', [0, 0]))], /strides \[0, 0\] must be integers of at least 1/);
      await refused(['analyze', onnxFile('dil0.onnx', (m) => setConvInts(m, 'dilations', [0, 0]))], /dilations \[0, 0\] must be integers of at least 1/);
      await refused(['analyze', onnxFile('pads.onnx', (m) => setConvInts(m, 'pads', [-1, -1, -1, -1]))], /pads \[-1, -1, -1, -1\] must be integers of at least 0/);
    });
    it('bench refuses stride 0 before any trial', () =>
      refused(['bench', onnxFile('stride0-bench.onnx', (m) => setConvInts(m, 'strides', [0, 0])), '--engines', 'ort'], /strides \[0, 0\]/));
    it('a zero or negative input dimension says so (not "bind it with --batch")', async () => {
      for (const size of [0, -3]) {
        const r = await runCli(['analyze', onnxFile(`dim${size}.onnx`, (m) => (m.graph.input[0].type.tensor_type.shape.dim[1] = { dim_value: size }))]);
        assertOneLineUserError(r, new RegExp(`declares dimension 1 as ${size}; a tensor dimension must be a positive integer`));
        assert.doesNotMatch(r.stderr, /symbolic|--batch/);
      }
    });
    it('opsets 99, 0, -1 and IR version 99', async () => {
      for (const v of [99, 0, -1]) await refused(['analyze', onnxFile(`opset${v}.onnx`, (m) => (m.opset_import[0].version = v))], new RegExp(`declares opset ${v} of the default ONNX domain; formbench reads opsets 1 to 26`));
      await refused(['analyze', onnxFile('ir99.onnx', (m) => (m.ir_version = 99))], /declares ONNX IR version 99; formbench reads IR versions 1 to 13/);
    });
  });

  describe('study files', { concurrency: 2 }, () => {
    const study = (name: string, extra: string) => {
      const path = join(dir, `${name}.yaml`);
      writeFileSync(path, `name: ${name}\nmodels: [standard/d2/w16]\nengines: [ort]\n${extra}\n`);
      return ['study', path, '--dry-run', '--out', join(dir, `out-${name}`)];
    };
    it('repetitions: 1000000000 is refused at once (a dry run hung and grew to GBs)', () => refused(study('reps', 'repetitions: 1000000000'), /repetitions: at most 1000 repetitions/));
    it('a budget of 1e300 seconds and a batch of 10^9', async () => {
      await refused(study('budget', 'budget: { timedSeconds: 1e300 }'), /budget\.timedSeconds: at most 86400 seconds/);
      await refused(study('batch', 'batches: [1000000000]'), /batches\[0\]: at most 4096/);
    });
    it('100,000 open brackets are refused before parsing (the YAML parser ran out of memory and aborted)', () => {
      const path = join(dir, 'deep.yaml');
      // Exactly this text aborted the parser (V8's regular-expression compiler out of memory).
      writeFileSync(path, `a: ${'['.repeat(100_000)}`);
      return refused(['study', path, '--dry-run', '--out', join(dir, 'out-deep')], /deep\.yaml nests more than 64 levels deep/);
    });
    it('a plan of more than 100,000 trials', () =>
      refused(study('plan', `repetitions: 1000\nbatches: [${Array.from({ length: 200 }, (_, i) => i + 1).join(', ')}]`), /plans 200000 trials, more than the 100000/));
  });
});

/** Inputs the fuzzer (test/slow/fuzz-inputs.test.ts) found crashing, cut down to what matters. */
describe('fuzzer finds, kept as regressions', () => {
  const refusedInProcess = (f: () => unknown, pattern: RegExp) => assert.throws(f, (e: unknown) => isOneLineUserError(e) && pattern.test((e as Error).message));

  it('onnx-fields seed 20263027: a Concat of a symbolic shape at axis 2^31 (was a plain Error from the shape folding)', () => {
    const bytes = modelBytes({
      opset: 17,
      inputs: [valueInfoMsg('x', ['N', 4])],
      outputs: [valueInfoMsg('y', ['N', 4])],
      initializers: [{ name: 'four', dims: [1], data_type: 7, int64_data: [4] }],
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'], name: 'shape' },
        { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], name: 'lead', attrs: { axis: 0 } },
        { op: 'Concat', inputs: ['n', 'four'], outputs: ['t'], name: 'cat', attrs: { axis: 2 ** 31 } },
        { op: 'Reshape', inputs: ['x', 't'], outputs: ['y'], name: 'reshape' },
      ],
    });
    const withZero = editOnnx(bytes, (m) => m.graph.initializer.push({ name: 'zero', dims: [1], data_type: 7, int64_data: [0] }));
    refusedInProcess(() => fromOnnxBytes(withZero), /node 'cat' \(Concat\): axis 2147483648 is out of range/);
  });

  const layersModel = (layers: object[]) => {
    const path = join(dir, `layers-${layers.length}-${Math.random().toString(36).slice(2)}`);
    mkdirSync(path);
    writeFileSync(join(path, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: { class_name: 'Model', config: { name: 'm', layers, output_layers: [['flat', 0, 0]] } }, weightsManifest: [] }));
    return join(path, 'model.json');
  };
  const input = (config: object) => ({ name: 'in', class_name: 'InputLayer', config, inbound_nodes: [] });

  it('tfjs-json seed 20262996: a layer whose inbound_nodes hold no call (was "unknown value \'undefined\'")', () =>
    refusedInProcess(() => readTfjsModel(layersModel([input({ batch_input_shape: [null, 4] }), { name: 'flat', class_name: 'Flatten', config: {}, inbound_nodes: [[]] }])), /layer 'flat' \(Flatten\) reads no input/));

  it('tfjs-text seed 20261628: an InputLayer without batch_input_shape (was a TypeError)', () =>
    refusedInProcess(() => readTfjsModel(layersModel([input({}), { name: 'flat', class_name: 'Flatten', config: {}, inbound_nodes: [[['in', 0, 0, {}]]] }])), /input layer 'in' declares no batch_input_shape/));
});
