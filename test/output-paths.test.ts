/**
 * Output paths are checked before any work, and writing never replaces what is not a regular
 * file: a device such as /dev/full stays a device (issue #18's first case).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from './cli-helpers.js';
import { testTempDir } from './temp-dir.js';

const tmp = testTempDir('formbench-output-paths-');
after(() => rmSync(tmp, { recursive: true, force: true }));
const MODEL = 'standard/d2/w16/r32';

function assertRefused(r: { code: number; stderr: string }, message: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^formbench: error: cannot write /);
  assert.match(r.stderr, message);
}

describe('output paths', () => {
  it('a device is refused and left a device', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, async () => {
    assertRefused(await runCli(['export', MODEL, '-o', '/dev/full']), /special file/);
    assert.ok(statSync('/dev/full').isCharacterDevice());
  });

  it('a FIFO is refused, not replaced', async () => {
    const fifo = join(tmp, 'x.onnx');
    execFileSync('mkfifo', [fifo]);
    assertRefused(await runCli(['export', MODEL, '-o', fifo]), /special file/);
    assert.ok(statSync(fifo).isFIFO());
  });

  it('a missing folder, or a folder, is one line before any work', async () => {
    const runs = await Promise.all([
      runCli(['export', MODEL, '-o', join(tmp, 'missing', 'x.onnx')]),
      runCli(['export', MODEL, '-o', tmp]),
      runCli(['quantize', MODEL, '-o', join(tmp, 'missing', 'q.onnx')]),
      runCli(['profile', MODEL, '--figure', join(tmp, 'missing', 'f.svg')]),
    ]);
    assertRefused(runs[0]!, /does not exist/);
    assertRefused(runs[1]!, /it is a folder/);
    assertRefused(runs[2]!, /does not exist/);
    assertRefused(runs[3]!, /does not exist/);
    // Refused before profiling: nothing about peaks or layers was printed.
    assert.equal(runs[3]!.stdout, '');
  });
});
