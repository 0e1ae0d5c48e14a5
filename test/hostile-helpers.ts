/** Hostile inputs, shared by the fast CLI tests and the slow fuzzer: base models and how to bend them. */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatUserError, UserError } from '../src/errors.js';
import { toOnnxBytes } from '../src/onnx/index.js';
import { ModelProto } from '../src/onnx/schema.js';
import { buildZooModel } from '../src/zoo/index.js';
import type { CliRun } from './cli-helpers.js';

export const TINY_GRAPH = 'test/fixtures/tfjs-graph/tiny-graph';

/** A zoo model as the ONNX bytes formbench itself exports. */
export function zooOnnx(spec: string): Uint8Array {
  return toOnnxBytes(buildZooModel(spec).graph);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OnnxObject = any;

/** Decodes, lets `edit` change the plain object (ONNX's snake_case field names), encodes again. */
export function editOnnx(bytes: Uint8Array, edit: (m: OnnxObject) => void): Uint8Array {
  const m = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, bytes: Buffer });
  edit(m);
  return ModelProto.encode(ModelProto.fromObject(m)).finish();
}

export function firstConv(m: OnnxObject): OnnxObject {
  return m.graph.node.find((n: OnnxObject) => n.op_type === 'Conv');
}

export function setConvInts(m: OnnxObject, name: string, ints: number[]): void {
  const conv = firstConv(m);
  const a = conv.attribute.find((x: OnnxObject) => x.name === name);
  if (a) a.ints = ints;
  else conv.attribute.push({ name, type: 7, ints });
}

/** Moves the first Conv's weight into an external data file named `location`. */
export function externalWeight(m: OnnxObject, location: string): void {
  const conv = firstConv(m);
  const t = m.graph.initializer.find((i: OnnxObject) => i.name === conv.input[1]);
  delete t.raw_data;
  t.data_location = 1;
  t.external_data = [{ key: 'location', value: location }];
}

/** A copy of the hand-made TF.js graph model in `dir`, its model.json edited by `edit`. */
export function tinyGraphCopy(dir: string, edit: (m: OnnxObject) => void = () => {}): string {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(TINY_GRAPH, 'group1-shard1of1.bin'), join(dir, 'group1-shard1of1.bin'));
  const m = JSON.parse(readFileSync(join(TINY_GRAPH, 'model.json'), 'utf8'));
  edit(m);
  const path = join(dir, 'model.json');
  writeFileSync(path, JSON.stringify(m));
  return path;
}

/** What the CLI promises for input a user can fix: exit 2, one line with a hint, no stack. */
export function assertOneLineUserError(r: CliRun, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
  assert.ok(r.stderr.endsWith('\n'), r.stderr);
  const lines = r.stderr.slice(0, -1).split('\n');
  assert.equal(lines.length, 1, `not one line:\n${r.stderr}`);
  assert.match(lines[0]!, /^formbench: error: .+ \(hint: .+\)$/);
  assert.doesNotMatch(r.stderr, /internal error|\bat .+:\d+:\d+/);
  assert.match(lines[0]!, pattern);
}

/** The in-process form of the same promise: a UserError whose printed line is one line with a hint. */
export function isOneLineUserError(e: unknown): boolean {
  if (!(e instanceof UserError) || !e.hint) return false;
  return !formatUserError(e).includes('\n');
}
