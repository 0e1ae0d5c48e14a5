/**
 * The CLI's own promises about errors (README, "When something is wrong"): a damaged store is one
 * line and stays as it was; a baseline the store lacks is refused before the report is rewritten;
 * the argument parser's errors have formbench's one-line form; onnxruntime writes nothing of its
 * own into the temporary folder.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli, type CliRun } from './cli-helpers.js';
import { testTempDir } from './temp-dir.js';
import { assertOneLineUserError } from './hostile-helpers.js';

const tmp = testTempDir('formbench-errors-cli-');
const OLD_STORE = fileURLToPath(new URL('../../test/fixtures/old-store/', import.meta.url));


const sha1 = (path: string) => createHash('sha1').update(readFileSync(path)).digest('hex');

/** A results folder holding a copy of the old-store fixture, cut to half its length. */
function damagedStore(name: string): { dir: string; store: string } {
  const dir = join(tmp, name);
  mkdirSync(dir);
  const store = join(dir, 'results.duckdb');
  copyFileSync(join(OLD_STORE, 'results.duckdb'), store);
  truncateSync(store, Math.floor(statSync(store).size / 2));
  return { dir, store };
}

describe('errors the CLI promises', () => {
  it('a truncated store is "damaged", exit 2, and no command changes it', async () => {
    const { dir, store } = damagedStore('damaged');
    copyFileSync(join(OLD_STORE, 'study.yaml'), join(tmp, 'study.yaml'));
    const before = sha1(store);
    // One at a time: each opens the store, which DuckDB locks.
    const runs: CliRun[] = [];
    for (const args of [['results', dir], ['report', dir], ['study', join(tmp, 'study.yaml'), '--out', dir, '--dry-run'], ['study', join(tmp, 'study.yaml'), '--out', dir, '--no-report']]) {
      runs.push(await runCli(args));
    }
    for (const r of runs) assertOneLineUserError(r, /results store .*results\.duckdb is damaged: .*\(hint: formbench left it as it is/);
    assert.equal(sha1(store), before, 'the damaged store is byte for byte as it was');
    assert.deepEqual(readdirSync(dir), ['results.duckdb'], 'no report, WAL or other file was written beside it');
  });

  it('report --baseline with an engine the store has no results of is refused before the page is rewritten', async () => {
    const dir = join(tmp, 'baseline');
    mkdirSync(dir);
    copyFileSync(join(OLD_STORE, 'results.duckdb'), join(dir, 'results.duckdb'));
    writeFileSync(join(dir, 'report.html'), 'the earlier report');
    const r = await runCli(['report', dir, '--baseline', 'nosuch']);
    assertOneLineUserError(r, /no successful trial of 'nosuch'.*choose one of the engines with results: ort, /);
    assert.equal(readFileSync(join(dir, 'report.html'), 'utf8'), 'the earlier report');
  });

  it("the argument parser's errors are one formbench line with a hint", async () => {
    const [unknown, suggested, invalid, missing, command] = await Promise.all([
      runCli(['bench', 'standard/d2/w16', '--no-such-flag']),
      runCli(['profile', 'standard/d2/w16', '--engines', 'ort']),
      runCli(['analyze', 'standard/d2/w16', '--batch', '0']),
      runCli(['bench']),
      runCli(['no-such-command']),
    ]);
    assertOneLineUserError(unknown!, /unknown option '--no-such-flag' \(hint: 'formbench bench --help' lists what it takes\)/);
    assertOneLineUserError(suggested!, /unknown option '--engines' \(hint: did you mean --engine\?\)/);
    assertOneLineUserError(invalid!, /--batch 0 is not a batch size formbench runs \(hint: give a whole number from 1 to 4096\)/);
    assertOneLineUserError(missing!, /missing required argument 'specs'/);
    assertOneLineUserError(command!, /unknown command 'no-such-command' \(hint: 'formbench --help'/);
  });

  it('a batch too large for the input is refused up front by every command that runs the model', async () => {
    const big = ['standard/d1/w8/r4096', '--batch', '4096'];
    const runs = await Promise.all([
      runCli(['profile', ...big]),
      runCli(['counters', ...big]),
      runCli(['fidelity', ...big, '--engines', 'tfjs-wasm']),
      runCli(['quantize', ...big, '-o', join(tmp, 'q.onnx')]),
      runCli(['convert', ...big, '--to', 'fp16', '-o', join(tmp, 'h.onnx')]),
      runCli(['bench', ...big, '--engines', 'ort']),
    ]);
    for (const r of runs) assertOneLineUserError(r, /input 'input' has 206158430208 elements \(shape \[4096, 3, 4096, 4096\]\), more than the 1073741824/);
  });

  it('fidelity checks every model before it measures any', async () => {
    const r = await runCli(['fidelity', 'standard/d2/w16/r32', 'nosuch/d2/w16', '--engines', 'tfjs-wasm', '--budget-s', '1']);
    assertOneLineUserError(r, /unknown model 'nosuch\/d2\/w16'/);
  });

  it('onnxruntime leaves nothing in the temporary folder (its telemetry log) and prints nothing of its own', async () => {
    const own = testTempDir('formbench-ort-tmp-');
    const r = await runCli(['bench', 'standard/d2/w16/r32', '--engines', 'ort', '--budget-s', '1'], { env: { TMPDIR: own } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(own), [], 'no mat-debug-<pid>.log or other file');
    for (const line of r.stderr.trim().split('\n')) assert.match(line, /^\[1\/1\] standard\/d2\/w16\/r32 ort batch 1: ok/, `a line that is not formbench's: ${line}`);
  });
});
