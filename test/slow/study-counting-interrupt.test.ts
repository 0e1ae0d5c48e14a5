/**
 * Slow tier: an interrupt while a study counts under valgrind stops the simulation at once (the
 * trial is timed first, then valgrind starts), moved here from study-cli.test.ts with every
 * assertion kept.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, storedRows } from '../cli-helpers.js';
import { testTempDir } from '../temp-dir.js';

const tmp = testTempDir('formbench-counting-interrupt-');
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('formbench study (CLI) under valgrind', () => {
  const hasValgrind = spawnSync('valgrind', ['--version']).status === 0;
  it('an interrupt during simulated counting stops valgrind too, at once', { skip: !hasValgrind && 'valgrind is not installed' }, async () => {
    writeFileSync(join(tmp, 'counted.yaml'), 'name: counted\nmodels: [standard/d2/w16/r32]\nengines: [ort]\nbatches: [1]\nbudget: { timedSeconds: 0.2, warmupSeconds: 0.1 }\ncounters: { simulate: paper, inferences: 2 }\n');
    const out = join(tmp, 'counted');
    const child = spawn(process.execPath, [CLI, 'study', 'counted.yaml', '--out', out], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stoppedAt = 0;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // Counting starts after the trial is timed: stop it while valgrind starts up.
      if (!stoppedAt && stderr.includes('starting valgrind')) {
        stoppedAt = Date.now();
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 130, stderr);
    assert.ok(stoppedAt > 0, `counting never started: ${stderr}`);
    assert.ok(Date.now() - stoppedAt < 5_000, 'it did not wait for the simulation');
    assert.equal((await storedRows(out)).length, 0, 'a trial whose counting was interrupted is not stored');
  });

});
