/**
 * The fuzzer's inputs: seeded mutations of formbench's own ONNX exports and the torch fixtures,
 * of TF.js model.json files and weight shards, and of study YAML files. A case is (kind, seed);
 * the same pair always gives the same bytes, so a failure's seed reproduces it.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { Rng } from '../../src/weights/index.js';
import { editOnnx, externalWeight, TINY_GRAPH, zooOnnx, type OnnxObject } from '../hostile-helpers.js';

export const KINDS = ['onnx-bytes', 'onnx-fields', 'tfjs-json', 'tfjs-text', 'tfjs-shard', 'yaml-fields', 'yaml-text'] as const;
export type Kind = (typeof KINDS)[number];

/** What one case writes: the model or study file's name, and its bytes (and a shard's, for TF.js). */
export interface FuzzInput {
  kind: Kind;
  seed: number;
  /** File name inside the case folder. */
  file: string;
  bytes: Uint8Array;
  /** TF.js: the weight shard written next to model.json. */
  shard?: Uint8Array;
}

const INTERESTING_NUMBERS = [0, -1, 1, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, 2 ** 40, 2 ** 53, 1e300, -1e300, 0.5];
const HOSTILE_PATHS = ['/etc/passwd', '../../x', '../../../../etc/passwd', '/dev/zero', '/dev/stdin', '.', '', 'a\nb', '/proc/self/mem'];
const JSON_VALUES: unknown[] = [-1, 0, 2 ** 40, 'four', null, [], {}, true, 1e300, -(2 ** 31), '', ...HOSTILE_PATHS];

export interface Corpus {
  onnx: { name: string; bytes: Uint8Array }[];
  tfjs: { name: string; json: unknown; shard: Uint8Array }[];
  yaml: { name: string; doc: unknown }[];
}

/** The seed inputs: formbench's own exports (a plain and a depthwise form), the torch fixtures, the TF.js fixtures. */
export function buildCorpus(layersModel: { json: unknown; shard: Uint8Array }): Corpus {
  const onnx = [
    { name: 'standard/d2/w16/r32', bytes: zooOnnx('standard/d2/w16/r32') },
    { name: 'depthwise-separable/d2/w16/r32', bytes: zooOnnx('depthwise-separable/d2/w16/r32') },
    ...readdirSync('fixtures/torch')
      .filter((f) => f.endsWith('.onnx'))
      .map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join('fixtures/torch', f))) })),
  ];
  const tfjs = [
    { name: 'tiny-graph', json: JSON.parse(readFileSync(join(TINY_GRAPH, 'model.json'), 'utf8')), shard: new Uint8Array(readFileSync(join(TINY_GRAPH, 'group1-shard1of1.bin'))) },
    { name: 'tiny-layers', ...layersModel },
  ];
  const yaml = [
    { name: 'flat', doc: { name: 'fuzz', models: ['standard/d2/w16'], engines: ['ort'], batches: [1, 2], repetitions: 2 } },
    {
      name: 'sweeps',
      doc: {
        name: 'fuzz-sweeps',
        baseline: 'ort:opt=disabled',
        sweeps: [
          { name: 'a', models: ['grouped/d2/w32', 'depthwise-separable/d2/w16'], engines: ['ort', 'ort:threads=1'], budget: { timedSeconds: 1, minRuns: 8, maxRuns: 100, ciPercent: 3 } },
          { name: 'b', models: ['standard/d2/w16'], engines: ['ort'], inputs: { seed: 3 }, engineOptions: { ort: { threads: 1 } }, counters: { simulate: 'paper', inferences: 3 } },
        ],
      },
    },
  ];
  return { onnx, tfjs, yaml };
}

export function makeInput(corpus: Corpus, kind: Kind, seed: number): FuzzInput {
  const rng = new Rng(seed, kind);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rng.uniform() * list.length)]!;
  const int = (n: number) => Math.floor(rng.uniform() * n);
  switch (kind) {
    case 'onnx-bytes':
      return { kind, seed, file: 'model.onnx', bytes: mutateBytes(pick(corpus.onnx).bytes, rng) };
    case 'onnx-fields': {
      const base = pick(corpus.onnx).bytes;
      try {
        return { kind, seed, file: 'model.onnx', bytes: editOnnx(base, (m) => mutateOnnxFields(m, rng)) };
      } catch {
        // A value protobufjs cannot encode into that field: the byte mutation stands in.
        return { kind, seed, file: 'model.onnx', bytes: mutateBytes(base, rng) };
      }
    }
    case 'tfjs-json': {
      const base = pick(corpus.tfjs);
      const json = structuredClone(base.json);
      const edits = 1 + int(3);
      for (let i = 0; i < edits; i++) mutateTree(json, rng, true);
      return { kind, seed, file: 'model.json', bytes: Buffer.from(JSON.stringify(json)), shard: base.shard };
    }
    case 'tfjs-text': {
      const base = pick(corpus.tfjs);
      return { kind, seed, file: 'model.json', bytes: mutateText(Buffer.from(JSON.stringify(base.json, null, 1)), rng, '[{"'), shard: base.shard };
    }
    case 'tfjs-shard': {
      const base = pick(corpus.tfjs);
      return { kind, seed, file: 'model.json', bytes: Buffer.from(JSON.stringify(base.json)), shard: mutateBytes(base.shard, rng) };
    }
    case 'yaml-fields': {
      const doc = structuredClone(pick(corpus.yaml).doc);
      const edits = 1 + int(3);
      for (let i = 0; i < edits; i++) mutateTree(doc, rng, false);
      return { kind, seed, file: 'study.yaml', bytes: Buffer.from(toYaml(doc)) };
    }
    case 'yaml-text':
      return { kind, seed, file: 'study.yaml', bytes: mutateText(Buffer.from(toYaml(pick(corpus.yaml).doc)), rng, '[{&*!|>') };
  }
}

/** Byte flips, truncation, insertion, chunk duplication, and interesting values written over bytes. */
function mutateBytes(base: Uint8Array, rng: Rng): Uint8Array {
  const int = (n: number) => Math.floor(rng.uniform() * n);
  let b = Buffer.from(base);
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    const at = int(b.length + 1);
    switch (int(6)) {
      case 0:
        for (let k = 0, n = 1 + int(8); k < n && b.length; k++) b[int(b.length)]! ^= 1 << int(8);
        break;
      case 1:
        b = b.subarray(0, at);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256))), b.subarray(at)]);
        break;
      case 3: {
        const len = Math.min(b.length - at, 1 + int(512));
        b = Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
        break;
      }
      case 4: {
        // A varint-encoded interesting value: protobuf lengths and int64 fields read it as such.
        const v = BigInt.asUintN(64, BigInt(Math.trunc([0, -1, 2 ** 31, 2 ** 40, 2 ** 62, 0x7fffffff][int(6)]!)));
        const varint: number[] = [];
        let x = v;
        do {
          varint.push(Number(x & 0x7fn) | (x > 0x7fn ? 0x80 : 0));
          x >>= 7n;
        } while (x > 0n);
        b = Buffer.concat([b.subarray(0, at), Buffer.from(varint), b.subarray(Math.min(b.length, at + varint.length))]);
        break;
      }
      default: {
        const f = Buffer.alloc(4);
        f.writeFloatLE([Number.NaN, Infinity, -Infinity, 3.4e38, 0][int(5)]!);
        if (at + 4 <= b.length) f.copy(b, at);
        break;
      }
    }
  }
  return new Uint8Array(b);
}

/** Text mutations for JSON and YAML: the byte ones, plus very deep nesting and hostile syntax. */
function mutateText(base: Uint8Array, rng: Rng, openers: string): Uint8Array {
  const int = (n: number) => Math.floor(rng.uniform() * n);
  const text = Buffer.from(base).toString('utf8');
  const at = int(text.length + 1);
  switch (int(4)) {
    case 0: {
      const opener = openers[int(openers.length)]!;
      const depth = [100, 10_000, 200_000][int(3)]!;
      return Buffer.from(text.slice(0, at) + opener.repeat(depth) + text.slice(at));
    }
    case 1: {
      // YAML aliases: a billion laughs in a few lines, if the parser expands them.
      const bomb = 'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n';
      return Buffer.from(bomb + text);
    }
    case 2:
      return Buffer.from(text.slice(0, at) + String(INTERESTING_NUMBERS[int(INTERESTING_NUMBERS.length)]) + text.slice(at + int(6)));
    default:
      return mutateBytes(base, rng);
  }
}

/** Every (parent, key) in a JSON-like tree, for picking one to replace. */
function slots(root: unknown): [Record<string | number, unknown>, string | number][] {
  const out: [Record<string | number, unknown>, string | number][] = [];
  const stack: unknown[] = [root];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    for (const [k, child] of Object.entries(v)) {
      out.push([v as Record<string, unknown>, Array.isArray(v) ? Number(k) : k]);
      stack.push(child);
    }
  }
  return out;
}

/** Replaces one value of a tree with a hostile one (or a paths entry with a hostile path). */
function mutateTree(root: unknown, rng: Rng, tfjs: boolean): void {
  const int = (n: number) => Math.floor(rng.uniform() * n);
  const all = slots(root);
  if (all.length === 0) return;
  const paths = tfjs ? (root as { weightsManifest?: { paths?: unknown }[] }).weightsManifest?.[0]?.paths : undefined;
  if (Array.isArray(paths) && int(4) === 0) {
    paths[0] = HOSTILE_PATHS[int(HOSTILE_PATHS.length)];
    return;
  }
  const [parent, key] = all[int(all.length)]!;
  const choice = int(JSON_VALUES.length + 2);
  if (choice === JSON_VALUES.length) {
    // Deeper than any real file; the YAML writer itself recurses, so YAML gets less.
    let deep: unknown = 1;
    for (let i = 0, n = tfjs ? 5000 : 300; i < n; i++) deep = [deep];
    parent[key] = deep;
  } else if (choice === JSON_VALUES.length + 1) {
    const v = parent[key];
    parent[key] = typeof v === 'number' ? INTERESTING_NUMBERS[int(INTERESTING_NUMBERS.length)] : Array.isArray(v) ? [...v, ...v] : v;
  } else {
    parent[key] = structuredClone(JSON_VALUES[choice]);
  }
}

/** One field of the decoded ONNX model: a number, a dimension, an attribute, a name or a location. */
function mutateOnnxFields(m: OnnxObject, rng: Rng): void {
  const int = (n: number) => Math.floor(rng.uniform() * n);
  const num = () => [0, -1, 2 ** 31, 2 ** 40, -(2 ** 40), 99, 1][int(7)]!;
  const g = m.graph;
  switch (int(8)) {
    case 0:
      m.ir_version = num();
      break;
    case 1:
      if (m.opset_import?.[0]) m.opset_import[0].version = num();
      break;
    case 2: {
      const dims = g.input?.[int(g.input.length)]?.type?.tensor_type?.shape?.dim;
      if (dims?.length) dims[int(dims.length)] = int(3) === 0 ? { dim_param: '' } : { dim_value: num() };
      break;
    }
    case 3: {
      const node = g.node[int(g.node.length)];
      const a = node?.attribute?.[int(node.attribute.length)];
      if (a?.ints?.length) a.ints[int(a.ints.length)] = num();
      else if (a && a.i !== undefined) a.i = num();
      else if (a) a.f = [Number.NaN, Infinity, 0, -1][int(4)];
      break;
    }
    case 4: {
      const t = g.initializer?.[int(g.initializer.length)];
      if (t?.dims?.length) t.dims[int(t.dims.length)] = num();
      break;
    }
    case 5:
      if (g.initializer?.length) externalWeightOf(m, HOSTILE_PATHS[int(HOSTILE_PATHS.length)]!);
      break;
    case 6: {
      const node = g.node[int(g.node.length)];
      if (node?.input?.length) node.input[int(node.input.length)] = ['', 'missing', node.output?.[0] ?? 'x', 'a\nb'][int(4)];
      break;
    }
    default: {
      const node = g.node[int(g.node.length)];
      if (node) node.op_type = ['Conv', 'Loop', '', 'Reshape', 'Gemm', 'If'][int(6)];
    }
  }
}

function externalWeightOf(m: OnnxObject, location: string): void {
  try {
    externalWeight(m, location);
  } catch {
    // A model without a Conv: its first initializer instead.
    const t = m.graph.initializer[0];
    delete t.raw_data;
    t.data_location = 1;
    t.external_data = [{ key: 'location', value: location }];
  }
}

/** Writes a case into `dir` (its own folder) and returns the path the importer is given. */
export function writeInput(dir: string, input: FuzzInput): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, input.file);
  writeFileSync(path, input.bytes);
  if (input.shard) writeFileSync(join(dir, 'group1-shard1of1.bin'), input.shard);
  return path;
}
