/**
 * `formbench serve` as a user runs it: the built command on a free port, its page opened in real
 * headless Chromium (playwright-core driving Debian's /usr/bin/chromium), a tiny study run on
 * TF.js's and onnxruntime-web's wasm in the page, and the rows checked in the store. Hostile posts (no token, a
 * wrong one, malformed, oversized, a trial not in the plan) are refused and store nothing, and
 * reopening the page resumes: it measures nothing already stored.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { chromium, type Browser } from 'playwright-core';
import { browserOf, DEFAULT_LAB_ENGINES, deviceFingerprint, deviceRecord, labStudy } from '../src/serve/index.js';
import { labTrialRow } from '../src/serve/results.js';
import type { DeviceInfo } from '../src/serve/index.js';
import { ResultStore } from '../src/store/index.js';
import { planStudy } from '../src/study/index.js';
import { CLI, runCli } from './cli-helpers.js';
import { testTempDir } from './temp-dir.js';

const CHROMIUM = '/usr/bin/chromium';
const TINY_STUDY = `name: tiny-lab
models: [standard/d2/w8/r32, depthwise-separable/d2/w8/r32]
engines: [ort]
batches: [1]
budget: { timedSeconds: 0.3, maxTimedSeconds: 0.5, warmupSeconds: 0.1, minRuns: 8 }
`;

interface Serving {
  child: ChildProcess;
  url: string;
  origin: string;
  token: string;
}

/** Starts `formbench serve` as phones on the LAN would need it (0.0.0.0: the token required), on a free port. */
async function serve(study: string, out: string, extra: string[] = []): Promise<Serving & { urls: string[] }> {
  const child = spawn(process.execPath, [CLI, 'serve', study, '--host', '0.0.0.0', '--port', '0', '--out', out, '--json', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const event = JSON.parse(line) as { type: string; urls?: string[] };
    if (event.type !== 'listening') continue;
    // The loopback URL is the last; a LAN one comes first where this machine has one.
    const url = event.urls!.at(-1)!;
    lines.removeAllListeners('line');
    child.stdout!.resume();
    const u = new URL(url);
    return { child, url, urls: event.urls!, origin: u.origin, token: u.searchParams.get('token')! };
  }
  throw new Error('formbench serve ended before it listened');
}

/** Ctrl-C, as a user stops it: the server closes the store and exits 0. */
function stop(s: Serving): Promise<number | null> {
  return new Promise((resolve) => {
    s.child.once('exit', (code) => resolve(code));
    s.child.kill('SIGINT');
  });
}

/** Opens the page, records every URL it requests, and waits until it has run the study. */
async function runPage(browser: Browser, url: string, selfSigned = false): Promise<{ requests: string[]; status: string; device: string; storedWithMedians: number }> {
  const page = await browser.newPage({ ignoreHTTPSErrors: selfSigned });
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset['labState'] === 'done' || document.body.dataset['labState'] === 'error', undefined, { timeout: 45_000, polling: 100 });
    const storedWithMedians = await page.$$eval('#plan tr.stored', (rows) => rows.filter((r) => Number((r as HTMLTableRowElement).cells[4]!.textContent) > 0).length);
    return { requests, status: (await page.textContent('#status')) ?? '', device: (await page.textContent('#device')) ?? '', storedWithMedians };
  } finally {
    await page.close();
  }
}

async function storeContents(out: string) {
  const store = await ResultStore.openFolder(out);
  try {
    return { trials: await store.trials(), environments: await store.environments() };
  } finally {
    store.close();
  }
}

describe('formbench serve in headless Chromium', { skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM} here (.ci/run installs Debian's chromium)` }, () => {
  const dir = testTempDir('serve-test-');
  const out = join(dir, 'results');
  const studyFile = join(dir, 'tiny.yaml');
  let browser: Browser;
  let server: Serving;
  before(async () => {
    writeFileSync(studyFile, TINY_STUDY);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    server = await serve(studyFile, out);
  });
  after(async () => {
    await browser?.close();
    if (server && server.child.exitCode === null) await stop(server);
  });

  const postTo = (path: string, body: string, headers: Record<string, string> = {}) => fetch(`${server.origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const validFailed = (fingerprint: string, trialKey: string) => JSON.stringify({ fingerprint, trialKey, status: 'failed', reason: 'x', startedAt: new Date().toISOString(), wallMs: 1 });

  it('refuses posts without the token (401), with a wrong one (403), malformed (400), oversized (413) or off the plan (400)', async () => {
    const plan = (await (await fetch(`${server.origin}/api/plan`)).json()) as { trials: { key: string }[] };
    const key = plan.trials[0]!.key;
    assert.equal((await postTo('/api/results', validFailed('0123456789abcdef', key))).status, 401);
    assert.equal((await postTo('/api/device', '{}')).status, 401);
    assert.equal((await postTo('/api/results', validFailed('0123456789abcdef', key), { 'x-formbench-token': 'f'.repeat(32) })).status, 403);
    const auth = { 'x-formbench-token': server.token };
    assert.equal((await postTo('/api/results', '{"trialKey": 1}', auth)).status, 400);
    assert.equal((await postTo('/api/results', '{not json', auth)).status, 400);
    assert.equal((await postTo('/api/device', JSON.stringify({ userAgent: 'x', hardwareConcurrency: -1 }), auth)).status, 400);
    // Refused from its Content-Length, before the body is read: the server may close the socket
    // while the client is still sending, which fetch reports as a failure rather than the 413.
    const oversized = await postTo('/api/results', JSON.stringify({ pad: 'x'.repeat(5 * 2 ** 20) }), auth).then((r) => r.status, (e: Error) => e.message);
    assert.ok(oversized === 413 || oversized === 'fetch failed', `oversized post: ${oversized}`);
    // Well-formed, but for a device that never described itself and a trial the plan does not have.
    assert.equal((await postTo('/api/results', validFailed('0123456789abcdef', key), auth)).status, 400);
    assert.equal((await postTo('/api/results', validFailed('0123456789abcdef', 'a'.repeat(20)), auth)).status, 400);
  });

  it('maps no request path to a file: only its fixed routes answer', async () => {
    for (const path of ['/../package.json', '/ort/../../package.json', '/ort/ort.min.js', '/api/models/..%2f..%2fpackage.json', '/api/models/99', '/etc/passwd']) {
      assert.equal((await fetch(`${server.origin}${path}`)).status, 404, path);
    }
    const page = await fetch(`${server.url}`);
    assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
  });

  it('runs the study in the page on tfjs-web and ort-web wasm, cross-origin isolated, fetching only from the server, and stores every trial', async () => {
    const run = await runPage(browser, server.url);
    assert.match(run.status, /^done: 4 trials measured/, run.status);
    assert.match(run.device, /cross-origin isolated: yes/);
    assert.match(run.device, /performance\.now\(\) resolution \d/);
    assert.deepEqual(run.requests.filter((u) => new URL(u).origin !== server.origin && !u.startsWith('data:')), []);
    assert.equal(await stop(server), 0);

    const { trials, environments } = await storeContents(out);
    const { study } = await labStudy(studyFile, DEFAULT_LAB_ENGINES);
    const planned = planStudy(study).trials.map((t) => t.key);
    // Rows from the malformed and unauthenticated posts: none.
    assert.deepEqual(trials.map((t) => t.trialKey).sort(), [...planned].sort());
    for (const t of trials) {
      assert.equal(t.status, 'ok', `${t.model}: ${t.reason}`);
      // TF.js as the page's native framework, onnxruntime-web as its acceleration.
      assert.equal(t.engineRole, { 'tfjs-web': 'native', 'ort-web': 'accelerated' }[t.engine]);
      assert.equal(t.study, 'tiny-lab');
      assert.ok(t.samplesMs.length >= 8 && t.runs === t.samplesMs.length, `${t.model}: ${t.runs} runs`);
      assert.ok(t.medianMs! > 0 && t.firstRunMs! > 0 && t.loadMs! > 0);
      // Compared here, by the server, with onnxruntime-node's output for the same seeded input.
      assert.ok(t.outputRelativeError !== null && t.outputRelativeError < 1e-4, `${t.model}: relative error ${t.outputRelativeError}`);
      assert.equal(t.outputTop1Agreement, 1);
    }
    assert.deepEqual([...new Set(trials.map((t) => t.engine))].sort(), ['ort-web', 'tfjs-web']);
    assert.equal(new Set(trials.map((t) => t.fingerprint)).size, 1);
    assert.equal(environments.length, 1);
    const env = environments[0]!;
    assert.equal(env.fingerprint, trials[0]!.fingerprint);
    assert.match(env.cpuModel, /^Chromium \d+ on Linux .*\(browser\)$/);
    // The device JSON column the cross-machine report reads.
    const db = await DuckDBInstance.create(join(out, 'results.duckdb'));
    try {
      const connection = await db.connect();
      const device = JSON.parse(String((await connection.runAndReadAll('SELECT device FROM environments')).getRows()[0]![0])) as DeviceInfo;
      connection.closeSync();
      assert.equal(device.crossOriginIsolated, true);
      assert.ok(device.timerResolutionMs > 0 && device.timerResolutionMs < 1, `timer ${device.timerResolutionMs} ms`);
      assert.equal(device.hardwareConcurrency, env.logicalCores);
    } finally {
      db.closeSync();
    }
  });

  it('resumes: reopened, the page measures nothing already stored for its device', async () => {
    server = await serve(studyFile, out);
    const run = await runPage(browser, server.url);
    assert.match(run.status, /^done: 0 trials measured and stored here, 4 stored earlier/, run.status);
    // The plan and the chart show what was stored before, with its medians.
    assert.equal(run.storedWithMedians, 4);
    assert.equal(await stop(server), 0);
    assert.equal((await storeContents(out)).trials.length, 4);
  });

  it("writes a report over the browser's rows beside a CLI run's of the same study", async () => {
    const study = await runCli(['study', studyFile, '--out', out, '--no-report'], { timeoutMs: 60_000 });
    assert.equal(study.code, 0, study.stderr);
    const report = await runCli(['report', out]);
    assert.equal(report.code, 0, report.stderr);
    const { trials, environments } = await storeContents(out);
    assert.deepEqual([...new Set(trials.map((t) => t.engine))].sort(), ['ort', 'ort-web', 'tfjs-web']);
    assert.equal(environments.length, 2);
    // The browser and this machine side by side: the report's Machines section (report/machines.ts)
    // lists both, and the browser's tfjs-web is its native engine for the per-machine speed-up.
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /<h2 id="machines">Machines in this store<\/h2>/);
    const machines = readFileSync(join(out, 'tables', 'machines.csv'), 'utf8');
    assert.match(machines, /\(browser\)[^\n]*tfjs-web/);
    assert.match(machines, /\n[^\n]*,ort,/);
  });
});

describe('formbench serve over HTTPS, for phones on the LAN', { skip: !existsSync(CHROMIUM) ? `no ${CHROMIUM} here` : !existsSync('/usr/bin/openssl') ? 'no /usr/bin/openssl here to make a certificate' : false }, () => {
  it('serves the page as a secure context on a LAN address: cross-origin isolated, so wasm threads and the fine timer', async () => {
    const dir = testTempDir('serve-tls-');
    const [cert, key, studyFile] = [join(dir, 'cert.pem'), join(dir, 'key.pem'), join(dir, 'one.yaml')];
    execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=formbench-test'], { stdio: 'ignore' });
    writeFileSync(studyFile, TINY_STUDY.replace('depthwise-separable/d2/w8/r32, ', '').replace('[standard/d2/w8/r32, depthwise-separable/d2/w8/r32]', '[standard/d2/w8/r32]'));
    const server = await serve(studyFile, join(dir, 'results'), ['--tls-cert', cert, '--tls-key', key, '--engines', 'ort-web']);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    try {
      // The first URL is a LAN address where the machine has one: plain HTTP there is not a secure context.
      assert.ok(server.urls.every((u) => u.startsWith('https://')), server.urls.join(' '));
      const run = await runPage(browser, server.urls[0]!, true);
      assert.match(run.status, /^done: 1 trials measured/, run.status);
      assert.match(run.device, /cross-origin isolated: yes \(\d+ wasm threads?\)/);
    } finally {
      await browser.close();
      await stop(server);
    }
  });
});

describe('a browser device as the store keeps it', () => {
  const device: DeviceInfo = { userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', hardwareConcurrency: 6, deviceMemoryGiB: null, crossOriginIsolated: true, timerResolutionMs: 1, wasmThreads: 6, webgpu: null };
  it('labels a browser without Client Hints from its user agent, and leaves unknown memory null', () => {
    assert.equal(browserOf(device), 'Mobile Safari 17');
    const r = deviceRecord(device);
    assert.equal(r.cpuModel, 'Mobile Safari 17 on iPhone CPU iPhone OS 17_5 like Mac OS X (browser)');
    assert.equal(r.memoryGiB, null);
  });
  it('keeps the fingerprint across reloads and thread counts (the measured timer and the engine option are left out) and changes it with isolation', () => {
    assert.equal(deviceFingerprint(device), deviceFingerprint({ ...device, timerResolutionMs: 0.1 }));
    assert.equal(deviceFingerprint(device), deviceFingerprint({ ...device, wasmThreads: 1 }));
    assert.notEqual(deviceFingerprint(device), deviceFingerprint({ ...device, crossOriginIsolated: false }));
  });
});

describe('a posted result as the server stores it', () => {
  const dir = testTempDir('serve-row-');
  const file = join(dir, 'tiny.yaml');
  writeFileSync(file, TINY_STUDY);
  const measured = (output: (number | null)[]) => ({ fingerprint: '0123456789abcdef', trialKey: 'x'.repeat(20), status: 'ok' as const, startedAt: new Date().toISOString(), wallMs: 50, loadMs: 3, firstRunMs: 2, warmupRuns: 10, samplesMs: [0.15, 0.16, 0.15, 0.14, 0.15, 0.15, 0.16, 0.15], stoppedBy: 'ci-target' as const, output });

  it('summarises the samples, compares the outputs with the reference, and flags a median the clock cannot resolve', async () => {
    const plan = planStudy((await labStudy(file, 'ort-web')).study);
    const trial = plan.trials[0]!;
    const reference = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    const same = [...reference];
    const fine = labTrialRow(plan, trial, measured(same), reference, 0.005);
    assert.equal(fine.status, 'ok');
    assert.equal(fine.reason, null);
    assert.equal(fine.medianMs, 0.15);
    assert.equal(fine.runs, 8);
    assert.equal(fine.outputRelativeError, 0);
    assert.equal(fine.fingerprint, '0123456789abcdef');
    assert.equal(fine.trialKey, trial.key);
    assert.match(labTrialRow(plan, trial, measured(same), reference, 0.1).reason ?? '', /^timer-limited: the median 0\.150 ms is within 10 steps of the page's 100\.0 µs clock/);
    const off = same.map((v, i) => (i === 7 ? v + 0.5 : v));
    assert.equal(labTrialRow(plan, trial, measured(off), reference, 0.005).status, 'mismatch');
    // JSON's null for the page's NaN: wrong outputs, never a match.
    assert.equal(labTrialRow(plan, trial, measured(same.map((v, i) => (i === 3 ? null : v))), reference, 0.005).status, 'mismatch');
    assert.equal(labTrialRow(plan, trial, measured(same.slice(1)), reference, 0.005).status, 'mismatch');
  });
});
