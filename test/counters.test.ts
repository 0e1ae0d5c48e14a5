import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UserError } from '../src/errors.js';
import {
  COUNTER_FIELDS,
  countedNothing,
  measureSpecCounters,
  parseCachegrindOut,
  parseGeometry,
  parsePerfCsv,
  PERF_EVENTS,
  type CounterOk,
  type CounterResult,
} from '../src/measure/counters/index.js';
import { testTempDir } from './temp-dir.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

function has(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function ok(r: CounterResult): CounterOk {
  assert.equal(r.status, 'ok', r.status === 'failed' ? r.reason : '');
  return r as CounterOk;
}

describe('perf stat -x, output', () => {
  it('reads counted events, including PMU-prefixed and modifier names on hybrid CPUs', () => {
    const csv = [
      '# started on Mon Nov 23 07:59:02 2026',
      '',
      '1200345,,cpu_core/instructions/u,1000,100.00,1.50,insn per cycle',
      '300000,,cpu_atom/instructions/u,1000,100.00,,',
      '800000,,cycles:u,1000,100.00,,',
      '4567,,LLC-load-misses,500,62.50,,',
    ].join('\n');
    const p = parsePerfCsv(csv, ['instructions', 'cycles', 'LLC-load-misses']);
    assert.deepEqual(p.counts, { instructions: 1500345, cycles: 800000, 'LLC-load-misses': 4567 });
    assert.deepEqual(p.unsupported, []);
    assert.deepEqual(p.notCounted, []);
    assert.deepEqual(p.multiplexed, [{ event: 'LLC-load-misses', runningPercent: 62.5 }]);
  });

  it('reads <not supported> as null and lists it, never as zero', () => {
    const csv = '<not supported>,,LLC-loads,0,100.00,,\n<not supported>,,cycles,0,100.00,,\n42,,branches,10,100.00,,\n';
    const p = parsePerfCsv(csv, ['LLC-loads', 'cycles', 'branches']);
    assert.deepEqual(p.counts, { 'LLC-loads': null, cycles: null, branches: 42 });
    assert.deepEqual(p.unsupported, ['LLC-loads', 'cycles']);
  });

  it('reads <not counted> as null, apart from unsupported; an event missing from the output is not counted', () => {
    const csv = '<not counted>,,cache-misses,0,0.00,,\n';
    const p = parsePerfCsv(csv, ['cache-misses', 'branch-misses']);
    assert.deepEqual(p.counts, { 'cache-misses': null, 'branch-misses': null });
    assert.deepEqual(p.notCounted, ['cache-misses', 'branch-misses']);
    assert.deepEqual(p.unsupported, []);
  });
});

describe('cachegrind output', () => {
  it('reads the summary by the events line, whatever the column order', () => {
    const text = [
      'desc: LL cache: 4194304 B, 64 B, 16-way associative',
      'cmd: node worker.js',
      'events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw Bc Bcm Bi Bim',
      'fl=x.c',
      'fn=main',
      '1 5 0 0 1 0 0 0 0 0 0 0 0 0',
      'summary: 100 2 1 40 4 3 20 2 1 30 3 10 1',
    ].join('\n');
    const t = parseCachegrindOut(text);
    assert.equal(t.Ir, 100);
    assert.equal(t.DLmw, 1);
    assert.equal(t.Bim, 1);
  });

  it('says when the branch simulation is missing', () => {
    assert.throws(() => parseCachegrindOut('events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw\nsummary: 1 1 1 1 1 1 1 1 1\n'), /Bc event/);
  });
});

describe('cache geometry', () => {
  it('defaults to the seed paper\'s 4 MiB last-level cache', () => {
    const g = parseGeometry(undefined);
    assert.equal(g.name, 'paper');
    assert.deepEqual(g.ll, { sizeBytes: 4 * 2 ** 20, associativity: 16, lineBytes: 64 });
  });

  it('reads size,assoc,line with binary units', () => {
    assert.deepEqual(parseGeometry('4MiB,16,64').ll, { sizeBytes: 4194304, associativity: 16, lineBytes: 64 });
    assert.deepEqual(parseGeometry('256KiB,8,64').ll, { sizeBytes: 262144, associativity: 8, lineBytes: 64 });
    assert.deepEqual(parseGeometry('262144,8,64').ll, { sizeBytes: 262144, associativity: 8, lineBytes: 64 });
    assert.equal(parseGeometry('6MiB,12,64').ll.sizeBytes, 6 * 2 ** 20); // 8192 sets
  });

  it('refuses geometries valgrind cannot simulate, with a geometry it can', () => {
    const sets = (() => {
      try {
        parseGeometry('3MiB,16,64');
      } catch (e) {
        return e;
      }
    })();
    assert.ok(sets instanceof UserError);
    assert.match(sets.message, /3072 sets: valgrind can only simulate a power-of-two number of sets/);
    assert.match(sets.hint!, /3MiB,12,64/);
    for (const [text, message] of [
      ['4MiB,16,8', /at least 16 B/],
      ['4MiB,16,48', /line size must be a power of two/],
      ['64,4,64', /larger than one line/],
      ['1KiB,32,64', /more ways than lines/],
      ['4MiB,16', /cannot read cache geometry/],
      ['4 parsecs,16,64', /cannot read size/],
      ['4MiB,0,64', /associativity '0'/],
      ['biggest', /cannot read cache geometry/],
    ] as const) {
      assert.throws(() => parseGeometry(text), (e: unknown) => e instanceof UserError && message.test(e.message), text);
    }
  });

  it('reads this CPU\'s caches from sysfs, shrinking a last level whose set count valgrind cannot simulate', () => {
    const sysfs = testTempDir('formbench-sysfs-');
    const caches = [
      [1, 'Data', '48K', 12],
      [1, 'Instruction', '32K', 8],
      [2, 'Unified', '2048K', 16],
      [3, 'Unified', '266240K', 20], // 212992 sets, as this VM reports
    ] as const;
    caches.forEach(([level, type, size, ways], i) => {
      const dir = join(sysfs, `index${i}`);
      mkdirSync(dir);
      for (const [f, v] of Object.entries({ level, type, size, ways_of_associativity: ways, coherency_line_size: 64 })) writeFileSync(join(dir, f), `${v}\n`);
    });
    const g = parseGeometry('host', sysfs);
    assert.deepEqual(g.d1, { sizeBytes: 48 * 1024, associativity: 12, lineBytes: 64 });
    assert.deepEqual(g.ll, { sizeBytes: 131072 * 20 * 64, associativity: 20, lineBytes: 64 });
    assert.match(g.origin, /212992 sets, not a power of two: simulated as 160MiB 20-way/);
  });
});

describe('perf on this machine', { skip: !has('perf') && 'perf is not installed' }, () => {
  let result: CounterResult;
  before(async () => {
    result = await measureSpecCounters({ spec: 'standard/d2/w16/r32', engine: 'ort', options: { opt: 'all', threads: '1', execution: 'sequential' }, batch: 1, inputSeed: 1, inferences: 5, mode: 'perf', timeoutMs: 120_000 });
  });

  it('reports every counter either counted or listed as not counted, never a zero for an uncounted one', () => {
    const r = ok(result);
    assert.equal(r.simulated, false);
    for (const event of PERF_EVENTS) {
      const listed = r.unsupported.includes(event) || r.notCounted.includes(event);
      assert.equal(r.raw[event] === null, listed, event);
      if (r.raw[event] !== null) assert.ok(r.raw[event]! > 0, `${event} counted as ${r.raw[event]}`);
    }
  });

  it('on a VM without a virtual PMU (this one), says unsupported: nulls, not zeros, and points to --simulate', (t) => {
    const r = ok(result);
    if (!countedNothing(r)) return t.skip('this machine\'s PMU counts');
    assert.deepEqual(r.unsupported, [...PERF_EVENTS]);
    for (const field of COUNTER_FIELDS) assert.equal(r[field], null, field);
    assert.match(r.caveats.join('\n'), /--simulate/);
  });

  it('the CLI refuses with a one-line error and the --simulate hint when nothing can be counted', async (t) => {
    if (!countedNothing(ok(result))) return t.skip('this machine\'s PMU counts');
    const run = await formbench('counters', 'standard/d2/w16/r32', '--inferences', '2');
    assert.equal(run.code, 2);
    const errorLines = run.stderr.split('\n').filter((l) => l.startsWith('formbench: error:'));
    assert.equal(errorLines.length, 1, run.stderr);
    assert.match(errorLines[0]!, /not supported on this machine.*\(hint: use --simulate/);
    assert.equal(run.stdout, '');
  });
});

describe('simulating torch', () => {
  it('refuses with the reason and an alternative, without starting valgrind', async () => {
    const r = await measureSpecCounters({ spec: 'standard/d2/w16/r32', engine: 'torch', options: {}, batch: 1, inputSeed: 1, inferences: 2, mode: { simulate: parseGeometry('paper') }, timeoutMs: 10_000 });
    assert.equal(r.status, 'failed');
    assert.match(r.status === 'failed' ? `${r.reason} (hint: ${r.hint})` : '', /importing PyTorch under valgrind.*tfjs-wasm/);
  });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function formbench(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
