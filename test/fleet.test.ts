/**
 * Studies across a fleet: a real PostgreSQL (pg-helpers.ts), real worker processes of the built
 * CLI, each given a machine fingerprint of its own by the test-only override, and the
 * deterministic fake engines (real onnxruntime outputs on a simulated clock) so that trials are
 * short. The workers are killed as a power loss would: SIGKILL of their whole process group.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { checkFleetStudy, fleetModelRefusal, jobId, openQueue, parseFleetUrl, studyDocument } from '../src/fleet/index.js';
import { TEST_FINGERPRINT_ENV } from '../src/measure/index.js';
import { ResultStore } from '../src/store/index.js';
import { parseStudy, planStudy } from '../src/study/index.js';
import { CLI, runCli } from './cli-helpers.js';
import { freshDatabase, PG_SKIP, query } from './pg-helpers.js';
import { testTempDir } from './temp-dir.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const ENGINE_MODULES = [fixture('fake-engines.js'), fixture('failing-engines.js')].join(':');
// Each worker's temp files (run-temp.ts) go here: a SIGKILLed worker cannot remove its own.
const tmp = testTempDir('fleet-test-');
const env = { FORMBENCH_ENGINE_MODULES: ENGINE_MODULES, TMPDIR: tmp };

function studyFile(name: string, body: string): string {
  const path = join(testTempDir('fleet-study-'), `${name}.yaml`);
  writeFileSync(path, `name: ${name}\n${body}`);
  return path;
}

const BUDGET = 'budget: { timedSeconds: 0.2, warmupSeconds: 0.05, minRuns: 3 }\n';

interface Worker {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** `formbench worker --exit-when-idle` as its own process group, playing the machine `fingerprint`. */
function startWorker(url: string, name: string, fingerprint: string, extra: string[] = ['--no-peaks']): Worker {
  const child = spawn(process.execPath, [CLI, 'worker', '--fleet', url, '--name', name, '--exit-when-idle', '--poll-s', '0.5', ...extra], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env, [TEST_FINGERPRINT_ENV]: fingerprint },
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ? null : code)));
  return { child, stderr: () => err, exited };
}

/** Kills a worker's whole process group (the worker and its trial process) without warning. */
const powerLoss = (w: Worker) => process.kill(-w.child.pid!, 'SIGKILL');

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a study as data for the workers', () => {
  test('the document a study travels as plans to the same trials, keys included', () => {
    const study = parseStudy(
      {
        name: 'doc',
        reference: 'ort:opt=disabled',
        sweeps: [
          { name: 'a', models: ['standard/d2/w8/r32', 'resnet50/r64'], engines: ['ort:threads=1', 'tfjs-cpu'], batches: [1, 4], repetitions: 2, budget: { timedSeconds: 0.7, ciPercent: 7, minRuns: 5 }, inputs: { seed: 9 } },
          { name: 'b', models: ['bottleneck/d4/w32/r32'], engines: ['ort'], engineOptions: { ort: { opt: 'basic' } }, counters: { simulate: 'paper', inferences: 2 } },
        ],
      },
      'test',
    );
    const direct = planStudy(study);
    const travelled = planStudy(parseStudy(JSON.parse(JSON.stringify(studyDocument(study))), 'fleet'));
    assert.deepEqual(travelled.trials.map((t) => [t.key, t.sweep, t.budget, t.counters]), direct.trials.map((t) => [t.key, t.sweep, t.budget, t.counters]));
    assert.equal(travelled.reference.label, direct.reference.label);
  });

  test('file models and paths are refused; zoo and packaged networks travel', () => {
    for (const spec of ['model.onnx', '/abs/net.onnx', 'tfjs/model.json', '../x', './dir', '~/m']) assert.match(fleetModelRefusal(spec) ?? '', /is a file/, spec);
    for (const spec of ['standard/d10/w32', 'resnet50/r160', 'nsfwjs:mobilenet_v2']) assert.equal(fleetModelRefusal(spec), undefined, spec);
    assert.throws(() => checkFleetStudy(parseStudy({ name: 's', models: ['standard/d2/w8'], engines: ['ort'], scenario: 'offline' }, 't'), 't'), /scenario, which a fleet does not run/);
  });

  test('job ids are UUIDs fixed by study, submission, unit and trial', () => {
    const id = jobId('s', 1, 'abc', '0123456789abcdef0123');
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(id, jobId('s', 1, 'abc', '0123456789abcdef0123'));
    assert.notEqual(id, jobId('s', 2, 'abc', '0123456789abcdef0123'));
  });
});

describe('a bad fleet URL', () => {
  test('is one readable line and exit 2, before anything runs', async () => {
    const file = studyFile('bad-url', `models: [standard/d2/w8/r32]\nengines: [fake-native]\n${BUDGET}`);
    const cases: [string[], RegExp][] = [
      [['worker', '--fleet', 'http://host/db'], /--fleet must be a PostgreSQL URL, not http:/],
      [['fleet', 'status', '--fleet', 'postgres://host'], /names no database/],
      [['study', file, '--fleet', 'postgres://u:secret@127.0.0.1:1/x'], /cannot reach the fleet database postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x: connection refused/],
      [['results', '--fleet', 'postgres://u@127.0.0.1:1/x', '--format', 'csv'], /cannot reach the fleet database .*connection refused/],
      [['study', file, '--mode', 'each'], /--mode is for a study submitted with --fleet/],
    ];
    for (const [args, expected] of cases) {
      const r = await runCli(args, { env });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, expected);
      assert.doesNotMatch(r.stderr, /secret|at .*\.js:\d+/);
    }
  });
});

describe('a fleet on PostgreSQL', { skip: PG_SKIP }, () => {
  test('split: 24 trials on 3 workers, one killed mid-trial, end with exactly 24 rows', { timeout: 180_000 }, async () => {
    const db = await freshDatabase();
    try {
      const file = studyFile('split24', `models: [standard/d2/w8/r32, depthwise-separable/d2/w8/r32]\nengines: [fake-native, fake-accel]\nbatches: [1, 2, 4]\nrepetitions: 2\n${BUDGET}`);
      const submitted = await runCli(['study', file, '--fleet', db.url, '--trial-expiry-s', '12', '--retries', '4'], { env });
      assert.equal(submitted.code, 0, submitted.stderr);
      assert.match(submitted.stderr, /24 trials and 2 fidelity checks, shared among the machines of each class/);
      const workers = ['w0', 'w1', 'w2'].map((name, i) => startWorker(db.url, name, `test-machine-${i}`));
      // w0 loses power the moment it has started a trial. A fake trial takes a few hundred ms, so
      // w0 may finish one (and start the next) before the kill lands: the trial killed is the
      // last one it started and did not report done.
      let killedTrial = '';
      await withTimeout(
        new Promise<void>((resolve) => {
          const poll = setInterval(() => {
            if (/w0: trial [0-9a-f]{20} \S+ batch/.test(workers[0]!.stderr())) {
              clearInterval(poll);
              setTimeout(() => {
                powerLoss(workers[0]!);
                const log = workers[0]!.stderr();
                const done = new Set([...log.matchAll(/w0: trial ([0-9a-f]{20}) (?!\S+ batch)/g)].map((m) => m[1]!));
                killedTrial = [...log.matchAll(/w0: trial ([0-9a-f]{20}) \S+ batch/g)].map((m) => m[1]!).filter((k) => !done.has(k)).pop() ?? '';
                resolve();
              }, 100);
            }
          }, 50);
        }),
        60_000,
        'w0 starting a trial',
      );
      assert.ok(killedTrial, `w0 was killed between trials: ${workers[0]!.stderr()}`);
      assert.equal(await workers[0]!.exited, null);
      const codes = await withTimeout(Promise.all(workers.slice(1).map((w) => w.exited)), 150_000, 'the two other workers finishing');
      assert.deepEqual(codes, [0, 0], workers.map((w) => w.stderr()).join('\n'));

      const rows = await query<{ trial_key: string; fingerprint: string; status: string; worker: string }>(db.url, 'SELECT trial_key, fingerprint, status, worker FROM formbench.trials');
      assert.equal(rows.length, 24);
      assert.equal(new Set(rows.map((r) => r.trial_key)).size, 24);
      assert.deepEqual([...new Set(rows.map((r) => r.status))], ['ok']);
      // One machine class: the three machines' rows share its fingerprint.
      assert.equal(new Set(rows.map((r) => r.fingerprint)).size, 1);
      const retried = await query<{ data: { trialKey: string }; retry_count: number; state: string }>(db.url, "SELECT data, retry_count, state::text AS state FROM pgboss.job WHERE data->>'trialKey' = $1", [killedTrial]);
      assert.equal(retried.length, 1);
      assert.ok(retried[0]!.retry_count >= 1, 'the expired job was handed out again');
      assert.notEqual(rows.find((r) => r.trial_key === killedTrial)!.worker, 'w0');

      const status = await runCli(['fleet', 'status', '--fleet', db.url, '--json'], { env });
      assert.equal(status.code, 0, status.stderr);
      const s = JSON.parse(status.stdout) as { units: { done: number; pending: number; failed: number; fidelityChecks: number; fidelityDone: number }[]; machines: { name: string }[] };
      // fake-native is a native engine: the plan checks its fidelity on each model, as jobs too.
      assert.deepEqual(s.units.map((u) => [u.done, u.pending, u.failed, u.fidelityDone, u.fidelityChecks]), [[24, 0, 0, 2, 2]]);
      assert.deepEqual(s.machines.map((m) => m.name).sort(), ['w0', 'w1', 'w2']);

      const csv = await runCli(['results', '--fleet', db.url, '--format', 'csv'], { env });
      assert.equal(csv.code, 0, csv.stderr);
      assert.equal(csv.stdout.trim().split('\n').length, 25);
    } finally {
      await db.drop();
    }
  });

  test('each, and split with two declared classes: every machine or class its own fingerprint, exported and reported', { timeout: 120_000 }, async () => {
    const db = await freshDatabase();
    try {
      const each = studyFile('every', `models: [standard/d2/w8/r32]\nengines: [fake-native, fake-accel]\n${BUDGET}`);
      const split = studyFile('classes', `models: [grouped/d2/w16/r32, grouped/d3/w16/r32]\nengines: [fake-native]\n${BUDGET}`);
      assert.equal((await runCli(['study', each, '--fleet', db.url, '--mode', 'each'], { env })).code, 0);
      assert.equal((await runCli(['study', split, '--fleet', db.url], { env })).code, 0);
      const workers = [startWorker(db.url, 'laptop', 'test-laptop', ['--class', 'alpha', '--no-peaks']), startWorker(db.url, 'server', 'test-server', ['--class', 'beta', '--no-peaks'])];
      const codes = await withTimeout(Promise.all(workers.map((w) => w.exited)), 100_000, 'two workers');
      assert.deepEqual(codes, [0, 0], workers.map((w) => w.stderr()).join('\n'));

      const rows = await query<{ study: string; fingerprint: string; worker: string }>(db.url, 'SELECT study, fingerprint, worker FROM formbench.trials');
      const per = (study: string) => [...new Set(rows.filter((r) => r.study === study).map((r) => `${r.fingerprint} ${r.worker}`))].length;
      assert.equal(rows.filter((r) => r.study === 'every').length, 4, 'each machine ran both trials');
      assert.equal(per('every'), 2);
      assert.equal(rows.filter((r) => r.study === 'classes').length, 4, 'each class ran both trials');
      assert.equal(per('classes'), 2);
      assert.equal(new Set(rows.map((r) => r.fingerprint)).size, 4);

      const out = join(testTempDir('fleet-export-'), 'fleet.duckdb');
      const exported = await runCli(['results', '--fleet', db.url, '--format', 'duckdb', '-o', out], { env });
      assert.equal(exported.code, 0, exported.stderr);
      const store = await ResultStore.open(out);
      try {
        assert.equal((await store.trials()).length, 8);
        // fake-native's fidelity on each model, once per machine or class that ran it.
        const checks = await store.fidelity();
        assert.equal(checks.length, 6);
        assert.deepEqual([...new Set(checks.map((c) => `${c.status} ${c.ratio}`))], ['ok 1']);
        const envs = await store.environments();
        assert.equal(envs.length, 4);
        assert.deepEqual(new Set(envs.map((e) => e.fingerprint)), new Set(rows.map((r) => r.fingerprint)));
        const devices = envs.map((e) => JSON.parse(e.device!) as { fleet: string; class?: string; machine?: string; workers: string[] });
        assert.deepEqual(devices.map((d) => `${d.fleet} ${d.class ?? d.machine} ${d.workers.join(',')}`).sort(), ['each laptop laptop', 'each server server', 'split alpha laptop', 'split beta server']);
      } finally {
        store.close();
      }
      const reportDir = testTempDir('fleet-report-');
      const report = await runCli(['report', reportDir, '--fleet', db.url], { env });
      assert.equal(report.code, 0, report.stderr);
      // Four fingerprints with trials: the report's Machines section, and the two classes' depth series one panel each.
      assert.match(readFileSync(join(reportDir, 'report.html'), 'utf8'), /<h2 id="machines">Machines in this store<\/h2>\s*<p>This store holds trials of 4 machines/);
      const machines = readFileSync(join(reportDir, 'tables', 'machines.csv'), 'utf8');
      assert.match(machines, /""class"":""alpha""/);
      assert.match(machines, /""class"":""beta""/);
      const panels = readFileSync(join(reportDir, 'tables', 'machines-latency-vs-depth.csv'), 'utf8').trim().split('\n').slice(1).filter((l) => l.includes('grouped/'));
      assert.equal(new Set(panels.map((l) => l.split(',')[0])).size, 2, panels.join('\n'));
    } finally {
      await db.drop();
    }
  });

  test('a trial that keeps failing stops after the retry limit with every reason; a malformed job is refused', { timeout: 120_000 }, async () => {
    const db = await freshDatabase();
    try {
      const file = studyFile('failing', `models: [standard/d2/w8/r32]\nengines: [test-throw]\n${BUDGET}`);
      assert.equal((await runCli(['study', file, '--fleet', db.url, '--retries', '2'], { env })).code, 0);
      // This one worker measures its class's roofline peaks before the first trial, as a local study does.
      const first = startWorker(db.url, 'solo', 'test-solo', []);
      assert.equal(await withTimeout(first.exited, 60_000, 'the worker'), 0, first.stderr());
      const [kept] = await query<{ peaks: { peakGflops: number; bandwidthGBs: number } }>(db.url, 'SELECT peaks FROM formbench.environments');
      assert.ok(kept!.peaks.peakGflops > 0 && kept!.peaks.bandwidthGBs > 0, JSON.stringify(kept));
      const [row] = await query<{ status: string; reason: string }>(db.url, 'SELECT status, reason FROM formbench.trials');
      assert.equal(row!.status, 'failed');
      assert.match(row!.reason, /^failed 3 attempts: solo #1: .*dilations 7.* \| solo #2: .* \| solo #3: .*dilations 7/);
      assert.equal((await query(db.url, 'SELECT * FROM formbench.attempts')).length, 3);

      // Jobs nobody formbench sent, in the worker's own queue: refused, cancelled, never run.
      const [{ queue }] = (await query<{ queue: string }>(db.url, 'SELECT queue FROM formbench.enqueued')) as [{ queue: string }];
      const boss = await openQueue(parseFleetUrl(db.url), { supervise: false });
      await boss.send(queue, { study: 'failing', generation: 1, trialKey: '../../../etc/passwd' });
      await boss.send(queue, { code: 'process.exit(1)' });
      await boss.stop({ graceful: false });
      const second = startWorker(db.url, 'solo', 'test-solo');
      assert.equal(await withTimeout(second.exited, 60_000, 'the worker'), 0, second.stderr());
      const refused = await query<{ reason: string }>(db.url, 'SELECT reason FROM formbench.refused ORDER BY reason');
      assert.equal(refused.length, 2);
      assert.match(refused[0]!.reason, /^malformed job payload: (study|code): /);
      assert.match(refused[1]!.reason, /^malformed job payload: trialKey: /);
      const states = await query<{ state: string }>(db.url, "SELECT state::text AS state FROM pgboss.job WHERE data->>'trialKey' IS DISTINCT FROM (SELECT trial_key FROM formbench.trials LIMIT 1)");
      assert.deepEqual(states.map((s) => s.state), ['cancelled', 'cancelled']);
      assert.equal((await query(db.url, 'SELECT * FROM formbench.trials')).length, 1);
    } finally {
      await db.drop();
    }
  });
});
