/**
 * `bench --scenario` as a user runs it, on onnxruntime and a small model: a server run prints
 * its percentiles and refuses the claims its sample cannot support, --find-peak finds a rate,
 * offline sessions really overlap, and bad scenario flags are one line before any worker starts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from './cli-helpers.js';
import { assertOneLineUserError } from './hostile-helpers.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

const SMALL = 'standard/d2/w16/r32';


describe('bench --scenario', () => {
  it('refuses bad scenario flags in one line, exit 2, before any worker starts', async () => {
    const cases: [string[], RegExp][] = [
      [['--scenario', 'server', '--rate', '0'], /--rate 0 is not a positive number/],
      [['--scenario', 'server', '--rate', '-3'], /--rate -3 is not a positive number/],
      [['--scenario', 'offline', '--streams', '0'], /--streams 0 is not a positive whole number/],
      [['--scenario', 'offline', '--find-peak'], /--find-peak is for --scenario server, not offline/],
      [['--find-peak'], /--find-peak is for --scenario server, not single-stream/],
      [['--scenario', 'burst'], /unknown scenario 'burst'/],
      [['--scenario', 'server'], /--scenario server needs --rate/],
      [['--scenario', 'offline', '--seed', '3'], /--seed is for --scenario server, not offline/],
      [['--scenario', 'offline', '--baseline', 'ort'], /--baseline is for the single-stream trials, not --scenario offline/],
    ];
    for (const [flags, message] of cases) {
      const r = await runCli(['bench', SMALL, '--engines', 'ort:threads=1', ...flags]);
      assertOneLineUserError(r, message);
      // No session started: its progress line would say so.
      assert.doesNotMatch(r.stderr + r.stdout, /session\(s\)/);
    }
  });

  it('server at 50 q/s for 3 s: p50 and p90 with intervals, p99 refused (too few queries), exit 0', async () => {
    const r = await runCli(['bench', SMALL, '--engines', 'ort:threads=1', '--scenario', 'server', '--rate', '50', '--budget-s', '3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /p99 ≤ 20 ms/);
    assert.match(r.stdout, /│ refused\s+│ unknown \(p99 refused\)/);
    assert.match(r.stdout, /Refused: p99 needs ≥ 662 queries, got \d+/);
    // p50 and p90 are numbers with their 95% interval.
    assert.match(r.stdout, /│ \d+\.\d{3} \(\d+\.\d{3}–\d+\.\d{3}\)\s+│ \d+\.\d{3} \(\d+\.\d{3}–\d+\.\d{3}\)\s+│ refused/);
    assert.match(r.stdout, /ort:threads=1 × 1 session = 1 thread on \d+ cores?/);
  });

  it('--json: the same claims, the refused one with its reason and no value', async () => {
    const r = await runCli(['bench', SMALL, '--engines', 'ort:threads=1', '--scenario', 'server', '--rate', '40', '--budget-s', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { scenario: string; results: { run: { queries: number; percentiles: { label: string; supported: boolean; valueMs?: number; reason?: string }[] } }[] };
    assert.equal(out.scenario, 'server');
    const run = out.results[0]!.run;
    const p99 = run.percentiles.find((p) => p.label === 'p99')!;
    assert.equal(p99.supported, false);
    assert.equal(p99.valueMs, undefined);
    assert.equal(p99.reason, `p99 needs ≥ 662 queries, got ${run.queries}`);
    assert.equal(run.percentiles.find((p) => p.label === 'p50')!.supported, true);
  });

  it('--find-peak: a peak rate whose p99 met the bound, found in at most 10 probes', async () => {
    const r = await runCli(['bench', SMALL, '--engines', 'ort:threads=1', '--scenario', 'server', '--find-peak', '--budget-s', '1', '--json'], { timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { results: { peak: { peakRatePerS?: number; probes: { ratePerS: number; met: boolean }[]; runs: { targetRatePerS: number; p99Met?: boolean; queries: number }[] } }[] };
    const peak = out.results[0]!.peak;
    assert.ok(peak.probes.length >= 2 && peak.probes.length <= 10, JSON.stringify(peak.probes));
    assert.ok(peak.peakRatePerS !== undefined && peak.peakRatePerS > 0);
    const atPeak = peak.runs.find((x) => x.targetRatePerS === peak.peakRatePerS)!;
    // A met bound is a supported p99: at least LoadGen's 662 queries.
    assert.equal(atPeak.p99Met, true);
    assert.ok(atPeak.queries >= 662);
  });

  it('offline with 2 sessions: images/s, the thread split, and sessions whose runs overlapped', async () => {
    const r = await runCli(['bench', SMALL, '--engines', 'ort:threads=1', '--scenario', 'offline', '--batch', '1,2', '--streams', '1,2', '--budget-s', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { results: { batch: number; sessions: number; imagesPerS: number; threads: { label: string }; concurrency: { overlapFraction?: number; spansIntersect: boolean } }[] };
    assert.equal(out.results.length, 4);
    for (const x of out.results) assert.ok(x.imagesPerS > 0);
    const two = out.results.filter((x) => x.sessions === 2);
    for (const x of two) {
      assert.equal(x.threads.label.split(' on ')[0], 'ort:threads=1 × 2 sessions = 2 threads');
      assert.equal(x.concurrency.spansIntersect, true);
      assert.ok(x.concurrency.overlapFraction! > 0.5, String(x.concurrency.overlapFraction));
    }
    assert.equal(out.results.find((x) => x.sessions === 1)!.concurrency.overlapFraction, undefined);
  });

  it('multi-stream: per-query percentiles and aggregate throughput of 2 streams', async () => {
    const r = await runCli(['bench', SMALL, '--engines', 'ort:threads=1', '--scenario', 'multi-stream', '--streams', '2', '--budget-s', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /multi-stream/);
    assert.match(r.stdout, /Peak throughput: [\d.]+ images\/s at batch 1 with ort:threads=1 × 2 sessions/);
  });

  it('a session that crashes, throws, leaks or hangs fails its own row with the reason; one with wrong outputs is flagged; the others run', async () => {
    const env = {
      FORMBENCH_ENGINE_MODULES: ['failing-engines.js', 'hungry-engines.js', 'stuck-engines.js'].map(fixture).join(':'),
      FORMBENCH_WORKER_MEMORY_MB: '400',
      FORMBENCH_LOAD_TIMEOUT_S: '3',
    };
    const r = await runCli(['bench', SMALL, '--engines', 'ort:threads=1,test-crash,test-throw,test-leak,test-hang-run,test-wrong', '--scenario', 'offline', '--streams', '2', '--budget-s', '1', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { results: { engine: string; failed?: string; mismatch?: string; imagesPerS?: number }[] };
    const by = Object.fromEntries(out.results.map((x) => [x.engine, x]));
    assert.ok(by['ort:threads=1']!.imagesPerS! > 0 && by['ort:threads=1']!.failed === undefined);
    assert.match(by['test-crash']!.failed!, /^session 1 died \(signal SIGSEGV\)/);
    assert.match(by['test-throw']!.failed!, /^session 1: this engine cannot run Conv with dilations 7$/);
    assert.match(by['test-leak']!.failed!, /^session 1 exceeded its memory cap of 400 MiB$/);
    assert.equal(by['test-hang-run']!.failed, 'session 1 timed out after 3 s while loading the model and warming up');
    // Wrong outputs still run: measured, and flagged as not to be trusted.
    assert.ok(by['test-wrong']!.imagesPerS! > 0);
    assert.match(by['test-wrong']!.mismatch!, /^outputs differ from ort:opt=disabled: relative error/);
    assert.equal(by['ort:threads=1']!.mismatch, undefined);
  });
});
