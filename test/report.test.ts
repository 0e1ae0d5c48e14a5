import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildFigures, computeFindings, reportData, writeReport, type Finding } from '../src/report/index.js';
import { escapeHtml, tableToCsv, tableToMarkdown } from '../src/report/tables.js';
import { decodeTrial, ResultStore } from '../src/store/index.js';
import type { ResultRow, StoredFidelity } from '../src/store/index.js';
import { fakeFidelity } from './fixtures/fidelity-records.js';
import { fakeRow, fakeStudyRows, macsOf, RATES_GMACS } from './fixtures/result-rows.js';
import { testTempDir } from './temp-dir.js';

const dir = testTempDir('formbench-report-test-');
after(() => rmSync(dir, { recursive: true, force: true }));

/** Fixture rows (as the study writes them) as the store reads them back for the report. */
const trials = (rows: ResultRow[]) => rows.map(decodeTrial);
const near = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
const finding = (findings: Finding[], title: RegExp) => findings.find((f) => title.test(f.title));

describe('report data from stored rows', () => {
  it('speed-ups are ratios of medians with intervals from both medians', () => {
    const data = reportData(trials(fakeStudyRows()));
    assert.equal(data.baseline, 'torch', 'the native framework is the default baseline');
    const s = data.speedups.find((x) => x.model === 'depthwise-separable/d20/w64' && x.batch === 8)!;
    assert.ok(near(s.speedup, RATES_GMACS['ort']!['depthwise-separable']! / RATES_GMACS['torch']!['depthwise-separable']!));
    assert.ok(near(s.low!, (s.speedup * 0.98) / 1.02) && near(s.high!, (s.speedup * 1.02) / 0.98));
  });

  it('only the latest machine is compared, and failed trials are never plotted', () => {
    const rows = [
      ...fakeStudyRows(),
      fakeRow({ model: 'resnet50', batch: 1, engine: 'ort', macs: 4.1e9, fingerprint: 'machine-old', finishedAt: '2020-01-01T00:00:00.000Z' }),
      fakeRow({ model: 'resnet18', batch: 1, engine: 'torch', macs: 1.8e9, status: 'failed' }),
    ];
    const data = reportData(trials(rows));
    assert.equal(data.otherMachineRows, 1);
    assert.ok(!data.points.some((p) => p.model === 'resnet18'));
    assert.ok(data.rows.some((r) => r.model === 'resnet18' && r.status === 'failed'));
  });
});

describe('counters', () => {
  // Misses grow with depth; on torch they track latency exactly (misses = 1000 × ms), on ort they do not.
  const rows = ['standard', 'grouped'].flatMap((pattern) =>
    [10, 20, 30].flatMap((depth) =>
      ['torch', 'ort'].map((engine) => {
        const spec = { model: `${pattern}/d${depth}/w64/r64`, pattern, depth, width: 64, resolution: 64, batch: 1, engine, macs: macsOf(pattern, depth) };
        const medianMs = fakeRow(spec).medianMs!;
        return fakeRow({ ...spec, llcMisses: engine === 'torch' ? medianMs * 1000 : depth * 1e5 });
      }),
    ),
  );

  it('draws misses against depth and latency, labelled as simulated', () => {
    const figures = buildFigures(reportData(trials(rows)));
    assert.ok(['llc-misses-vs-depth', 'llc-misses-vs-latency'].every((id) => figures.some((f) => f.id === id)));
    assert.match(figures.find((f) => f.id === 'llc-misses-vs-depth')!.caption, /simulated by valgrind's cache simulator \(paper, 4 MiB last-level cache; valgrind runs the AVX2/);
  });

  it('correlates misses with latency per engine', () => {
    const findings = computeFindings(reportData(trials(rows)));
    assert.match(finding(findings, /Cache misses and latency on torch/)!.text, /simulated last-level cache misses per inference follow latency with Spearman ρ = 1\.000 \(Pearson r = 1\.000\)/);
  });
});

describe('noise', () => {
  it('flags trials whose median is known to worse than ±10%, and the page warns with what to do', () => {
    const rows = fakeStudyRows();
    const wide = { ...rows[0]!, ciLowMs: rows[0]!.medianMs! * 0.7, ciHighMs: rows[0]!.medianMs! * 1.4 };
    const data = reportData(trials([wide, ...rows.slice(1)]));
    assert.deepEqual(data.noisy.map((r) => r.trialKey), [wide.trialKey]);
    assert.equal(reportData(trials(rows)).noisy.length, 0);
  });
});

describe('findings are computed from the data', () => {
  const findings = computeFindings(reportData(trials(fakeStudyRows())));

  it('names the pattern that gains most and least, with their numbers', () => {
    const f = finding(findings, /design pattern gains most/)!;
    // ort/torch rates: depthwise-separable 10/1 = 10×, bottleneck 20/8 = 2.5×.
    assert.match(f.text, /depthwise-separable gains most from acceleration \(10\.0× over torch/);
    assert.match(f.text, /and bottleneck least \(2\.50×/);
    assert.ok(near(f.value, 10 / 2.5));
  });

  it('averages speed-ups geometrically over every pair', () => {
    const f = finding(findings, /Average speed-up of ort/)!;
    const s = reportData(trials(fakeStudyRows())).speedups;
    assert.ok(near(f.value, Math.exp(s.reduce((a, x) => a + Math.log(x.speedup), 0) / s.length)));
    assert.equal(f.trialKeys.length, 2 * s.length);
  });

  it('finds where latency stops following MACs: the least efficient family per MAC', () => {
    const f = finding(findings, /stops following MACs on torch/)!;
    assert.match(f.text, /depthwise-separable runs at 1\.00 GMAC\/s against 12\.00 GMAC\/s for standard/);
    assert.ok(near(f.value, 12));
  });
});

describe('figures and files', () => {
  let html = '';
  before(async () => {
    const store = await ResultStore.open(join(dir, 'results.duckdb'));
    for (const r of [...fakeStudyRows(), fakeRow({ model: 'resnet18', batch: 1, engine: 'torch', macs: 1.8e9, status: 'failed' })]) await store.insert(r);
    await writeReport(store, dir);
    store.close();
    html = readFileSync(join(dir, 'report.html'), 'utf8');
  });

  it('draws the five figures a paper-like study supports, each as SVG, PNG, CSV and Markdown', () => {
    const ids = buildFigures(reportData(trials(fakeStudyRows()))).map((f) => f.id);
    assert.deepEqual(ids, ['latency-vs-depth', 'latency-vs-width', 'network-speedups', 'latency-vs-macs', 'speedup-heatmap']);
    for (const id of ids) {
      assert.match(readFileSync(join(dir, 'figures', `${id}.svg`), 'utf8'), /^<svg/);
      assert.deepEqual([...readFileSync(join(dir, 'figures', `${id}.png`)).subarray(1, 4)], [...Buffer.from('PNG')]);
      assert.ok(existsSync(join(dir, 'tables', `${id}.csv`)) && existsSync(join(dir, 'tables', `${id}.md`)));
    }
  });

  it('with the machine\'s peaks stored, every trial is placed under its roofline', () => {
    const data = { ...reportData(trials(fakeStudyRows())), peaks: { peakGflops: 300, bandwidthGBs: 20, method: 'test' } };
    const figure = buildFigures(data).find((f) => f.id === 'roofline')!;
    assert.ok(figure, 'roofline drawn');
    const row = figure.table.rows.find((r) => r[0] === 'resnet50' && r[2] === 'ort')!;
    // resnet50 on ort: 30 GMAC/s = 60 GFLOP/s at intensity 20 → roof min(300, 20 × 20) = 300 → 20%.
    assert.equal(row[4], 60);
    assert.equal(row[5], 0.2);
  });

  it('draws a memory roof per cache level the study streamed, beside the DRAM roof', () => {
    const caches = [{ level: 'L2', capacityBytes: 2 ** 21, bandwidthGBs: 150 }, { level: 'L3', capacityBytes: 2 ** 25, bandwidthGBs: 80 }];
    const data = { ...reportData(trials(fakeStudyRows())), peaks: { peakGflops: 300, bandwidthGBs: 20, method: 'test', caches } };
    const figure = buildFigures(data).find((f) => f.id === 'roofline')!;
    const roofLayer = (figure.spec as unknown as { layer: { data: { values: { roof: string; intensity: number; gflops: number }[] } }[] }).layer[0]!;
    const roofs = new Map<string, { intensity: number; gflops: number }[]>();
    for (const p of roofLayer.data.values) roofs.set(p.roof, [...(roofs.get(p.roof) ?? []), p]);
    assert.deepEqual([...roofs.keys()], ['DRAM 20.0 GB/s', 'L2 150 GB/s', 'L3 80 GB/s']);
    // Each roof bends at its own ridge point, peak ÷ bandwidth, and is flat at the peak beyond it.
    assert.deepEqual(roofs.get('L3 80 GB/s')![1], { roof: 'L3 80 GB/s', intensity: 300 / 80, gflops: 300 });
    assert.ok(roofs.get('L2 150 GB/s')!.every((p) => p.gflops <= 300 && Math.abs(p.gflops - Math.min(300, p.intensity * 150)) < 1e-9));
    assert.match(figure.caption, /caches' streaming bandwidths/);
    // The fraction of the roof stays measured against DRAM: the byte model cannot say what stayed in cache.
    assert.equal(figure.table.rows.find((r) => r[0] === 'resnet50' && r[2] === 'ort')![5], 0.2);
  });

  it('latency vs MACs draws no panel for an engine with too few trials to correlate', () => {
    const rows = [...fakeStudyRows(), fakeRow({ model: 'darts', batch: 1, engine: 'torch:mode=jit-frozen', macs: 0.5e9 })];
    const figure = buildFigures(reportData(trials(rows))).find((f) => f.id === 'latency-vs-macs')!;
    const panels = new Set((figure.spec as unknown as { data: { values: { panel: string }[] } }).data.values.map((v) => v.panel));
    assert.ok([...panels].every((p) => !p.startsWith('torch:mode=jit-frozen')), [...panels].join('; '));
    assert.ok(panels.size >= 2, 'the engines with many trials keep their panels');
    assert.ok(figure.table.rows.some((r) => r.includes('torch:mode=jit-frozen')), 'the lone trial stays in the table');
  });

  it('a figure with too little data is left out rather than drawn empty', () => {
    const onlyNetworks = fakeStudyRows().filter((r) => r.modelKind === 'network');
    assert.equal(new Set(onlyNetworks.map((r) => r.model)).size, 2);
    assert.deepEqual(buildFigures(reportData(trials(onlyNetworks))).map((f) => f.id), ['network-speedups'], 'two networks per engine: too few to correlate latency with MACs');
    assert.deepEqual(buildFigures(reportData(trials(onlyNetworks.slice(0, 2)))).map((f) => f.id), [], 'one engine per network: no speed-up, too few points to scatter');
  });

  it('the page is self-contained: figures inline, no scripts or styles from elsewhere', () => {
    assert.equal((html.match(/<svg/g) ?? []).length, 5);
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+stylesheet|https?:\/\/(?!www\.w3\.org)/);
    assert.match(html, /Trials not plotted[\s\S]*resnet18[\s\S]*worker died/);
  });

  it('without fidelity checks, says so in one line and shows speed-ups as before', () => {
    assert.match(html, /<p class="meta">No fidelity check was stored: whether torch runs as fast as its framework's own idiomatic execution is not measured here/);
    assert.doesNotMatch(html, /Fidelity of the native engines|baseline fidelity/);
    assert.equal(existsSync(join(dir, 'tables', 'fidelity.csv')), false);
    assert.equal(readFileSync(join(dir, 'tables', 'network-speedups.csv'), 'utf8').split('\n')[0], 'model,batch,engine,baseline,speed-up,low,high');
    const average = finding(computeFindings(reportData(trials(fakeStudyRows()))), /Average speed-up of ort/)!;
    assert.match(average.text, /^ort is [\d.]+× as fast as torch on average \(geometric mean over 56 model × batch pairs\), from [^)]+\) to [^)]+\)\.$/);
  });

  it('sets the seed paper\'s claims beside this machine\'s, on the page and as CSV and Markdown', () => {
    assert.match(html, /<h2 id="paper-claims">The seed paper's claims beside this machine's<\/h2>/);
    assert.match(html, /MobileNetV2 has the lowest latency of the networks[\s\S]*?2\.4 ms \(i5-7600K\)[\s\S]*?10\.0 ms, the lowest[\s\S]*?class="verdict-reproduced"/);
    assert.match(html, /DARTS gains most among the networks[\s\S]*?class="verdict-not-measured"/);
    assert.equal(readFileSync(join(dir, 'tables', 'paper-claims.csv'), 'utf8').trim().split('\n').length, 8);
    assert.match(readFileSync(join(dir, 'tables', 'paper-claims.md'), 'utf8'), /^\| claim \| paper \| this machine \| verdict \|/);
  });

  it('tables are written as CSV and Markdown from the same numbers', () => {
    const t = { columns: ['model', 'median ms'], rows: [['a,b', 1.5], ['c|d', null]] as (string | number | null)[][] };
    assert.equal(tableToCsv(t), 'model,median ms\n"a,b",1.5\nc|d,\n');
    assert.equal(tableToMarkdown(t), '| model | median ms |\n| --- | ---: |\n| a,b | 1.5 |\n| c\\|d |  |\n');
  });

  const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find((c) => spawnSync('which', [c]).status === 0);
  it('renders every figure in a headless browser, as a user opening the page sees it', { skip: chromium ? false : 'no chromium here (.ci/run installs Debian\'s chromium)' }, () => {
    const dom = execFileSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=5000', '--dump-dom', `file://${join(dir, 'report.html')}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
    assert.match(dom, /data-figures-rendered="5\/5"/);
  });
});

describe('precision', () => {
  // ort at FP32, INT8 (3× on standard, 0.7× on grouped, all MAC kernels integer) and FP16 (no
  // float16 kernels at all: a fallback), two depths each.
  const kernels = (precision: string, share: number, mac: Record<string, number>) => JSON.stringify({ runs: 3, classes: [{ precision, kernels: 5, ms: 1, share, ops: {} }], macKernels: mac });
  const variant = (pattern: string, depth: number, precision: string, divisor: number, extra: Partial<ResultRow>): ResultRow => {
    const r = fakeRow({ model: `${pattern}/d${depth}/w64`, pattern, depth, width: 64, batch: 1, engine: 'ort', macs: macsOf(pattern, depth) });
    const ms = r.medianMs! / divisor;
    const engine = precision === 'fp32' ? 'ort:threads=1' : `ort:precision=${precision},threads=1`;
    return { ...r, engine, options: JSON.stringify({ opt: 'all', threads: '1', precision }), precision, medianMs: ms, ciLowMs: ms * 0.98, ciHighMs: ms * 1.02, ...extra };
  };
  const rows = ['standard', 'grouped'].flatMap((pattern) =>
    [10, 30].flatMap((depth) => [
      variant(pattern, depth, 'fp32', 1, {}),
      variant(pattern, depth, 'int8', pattern === 'standard' ? 3 : 0.7, { outputRelativeError: 0.02, kernelPrecision: kernels('integer', 0.8, { integer: depth }) }),
      variant(pattern, depth, 'fp16', 1, { outputRelativeError: 4e-4, kernelPrecision: kernels('float32', 0.9, { float32: depth }) }),
    ]),
  );

  it('pairs each lower-precision trial with FP32 on the same engine and draws speed-ups and error', () => {
    const figures = buildFigures(reportData(trials(rows)));
    const speedups = figures.find((f) => f.id === 'precision-speedups')!;
    assert.equal(speedups.table.rows.length, 8);
    const row = speedups.table.rows.find((r) => r[0] === 'standard/d30/w64' && r[3] === 'int8')!;
    assert.equal(row[6], 3);
    assert.equal(row[11], 0.8);
    assert.equal(row[12], '30 integer');
    assert.ok(figures.some((f) => f.id === 'precision-error-vs-speedup'));
  });

  it('finds the average, the best and worst pattern, and a fallback to float32 kernels', () => {
    const findings = computeFindings(reportData(trials(rows)));
    const int8 = finding(findings, /Precision: ort int8 over FP32/)!;
    assert.ok(near(int8.value, Math.sqrt(3 * 0.7)));
    assert.match(int8.text, /from 0\.70× \(grouped\) to 3\.00× \(standard\); slower than FP32 beyond doubt in 2 of 4\. Relative output error against FP32: median 2\.0e-2/);
    assert.match(finding(findings, /Precision: which kernels ort int8 ran/)!.text, /80 of 80 Conv\/Gemm\/MatMul kernels computed in integer/);
    assert.match(finding(findings, /ort fp16 fell back/)!.text, /0 of 80 Conv\/Gemm\/MatMul kernels computed in float16/);
  });
});

describe('fidelity of the baseline', () => {
  const stored = (r: ReturnType<typeof fakeFidelity>, fingerprint = 'machine-a'): StoredFidelity => ({ ...r, fingerprint, study: 'fake', measuredAt: '2026-11-23T09:00:00.000Z' });
  // torch is checked on three (model, batch) pairs, one of them 1.3× slower than PyTorch's own
  // execution, and once without success; tfjs-wasm once.
  const checks = [
    stored(fakeFidelity({ model: 'resnet50', batch: 1, ratio: 1.3 })),
    stored(fakeFidelity({ model: 'standard/d10/w64', batch: 1, ratio: 1.05 })),
    stored(fakeFidelity({ model: 'standard/d10/w64', batch: 8, ratio: 1.02 })),
    stored(fakeFidelity({ model: 'darts', batch: 1, status: 'failed' })),
    stored(fakeFidelity({ model: 'resnet50', batch: 1, engine: 'tfjs-wasm', ratio: 0.98 })),
    stored(fakeFidelity({ model: 'resnet50', batch: 8, ratio: 3 }), 'machine-old'),
  ];
  const torchMean = Math.cbrt(1.3 * 1.05 * 1.02);
  const data = reportData(trials(fakeStudyRows()), undefined, checks);

  it('keeps this machine\'s checks only', () => {
    assert.equal(data.fidelity.length, 5);
  });

  it('gives every speed-up its baseline\'s ratio: measured for that model and batch, else the mean of the baseline\'s checks', () => {
    const at = (model: string, batch: number) => data.speedups.find((s) => s.model === model && s.batch === batch)!;
    assert.deepEqual(at('resnet50', 1).baselineFidelity, { ratio: 1.3, source: 'measured', checks: 1 });
    assert.deepEqual(at('standard/d10/w64', 8).baselineFidelity, { ratio: 1.02, source: 'measured', checks: 1 });
    const mean = at('mobilenet_v2', 1).baselineFidelity!;
    assert.equal(mean.source, 'engine-mean');
    assert.equal(mean.checks, 3);
    assert.ok(near(mean.ratio, torchMean));
  });

  it('shows the ratio as a column of the speed-up tables, marking a mean as such', () => {
    const figures = buildFigures(data);
    const networks = figures.find((f) => f.id === 'network-speedups')!;
    assert.deepEqual(networks.table.columns, ['model', 'batch', 'engine', 'baseline', 'speed-up', 'low', 'high', 'baseline fidelity', 'fidelity from']);
    assert.deepEqual(networks.table.rows.find((r) => r[0] === 'resnet50')!.slice(7), [1.3, 'this model & batch']);
    assert.deepEqual(networks.table.rows.find((r) => r[0] === 'mobilenet_v2')!.slice(7), [Number(torchMean.toPrecision(4)), 'geometric mean of 3 checks of torch']);
    assert.match(networks.caption, /'baseline fidelity' is torch's time over its framework's idiomatic execution/);
    const heatmap = figures.find((f) => f.id === 'speedup-heatmap')!;
    assert.deepEqual(heatmap.table.rows.find((r) => r[0] === 'standard/d10/w64' && r[1] === 1)!.slice(7), [1.05, 'this model & batch']);
    assert.match(tableToMarkdown(heatmap.table).split('\n')[0]!, /\| baseline fidelity \| fidelity from \|$/);
  });

  it('the average speed-up names the baseline\'s mean and worst fidelity, flagging it above 1.10', () => {
    const text = finding(computeFindings(data), /Average speed-up of ort/)!.text;
    assert.match(text, new RegExp(`torch's fidelity \\(its time over its framework's idiomatic execution, 3 checks\\): geometric mean ${torchMean.toFixed(2)}×, worst 1\\.30× \\(resnet50, batch 1\\); above 1\\.10×, so speed-ups over torch are inflated by up to 1\\.30×`));
    const faithful = reportData(trials(fakeStudyRows()), undefined, checks.filter((c) => c.ratio !== 1.3));
    assert.match(finding(computeFindings(faithful), /Average speed-up of ort/)!.text, /worst 1\.05× \(standard\/d10\/w64, batch 1\); all within 1\.10×\.$/);
    const otherEngine = reportData(trials(fakeStudyRows()), undefined, checks.filter((c) => c.engine === 'tfjs-wasm'));
    assert.match(finding(computeFindings(otherEngine), /Average speed-up of ort/)!.text, /No successful fidelity check of torch was stored \(only of tfjs-wasm\)/);
    assert.ok(otherEngine.speedups.every((s) => s.baselineFidelity === undefined));
    assert.deepEqual(buildFigures(otherEngine).find((f) => f.id === 'network-speedups')!.table.rows[0]!.slice(7), [null, 'not checked']);
  });

  describe('in the written report', () => {
    const fdir = join(dir, 'fidelity');
    let html = '';
    let written: Awaited<ReturnType<typeof writeReport>>;
    before(async () => {
      const store = await ResultStore.open(join(fdir, 'results.duckdb'));
      for (const r of fakeStudyRows()) await store.insert(r);
      for (const c of checks) {
        const { fingerprint, study, measuredAt, ...record } = c;
        await store.insertFidelity(fingerprint, study, record);
      }
      written = await writeReport(store, fdir);
      store.close();
      html = readFileSync(join(fdir, 'report.html'), 'utf8');
    });

    it('warns, naming the engine and the networks, that speed-ups over it are inflated by that factor', () => {
      assert.match(written.fidelityWarning!, /^torch runs 1 of 3 checked networks more than 10% slower than its framework's idiomatic execution \(resnet50 batch 1: 1\.30×\), so speed-ups over torch are inflated by that factor for those networks \(up to 1\.30×\)\./);
      assert.ok(html.includes(`<p class="warning"><b>Warning:</b> ${escapeHtml(written.fidelityWarning!)}</p>`));
      assert.doesNotMatch(html, /No fidelity check was stored/);
    });

    it('has a table per engine: what the idiomatic side ran, both medians, the ratio and its interval', () => {
      const section = html.slice(html.indexOf('<h2 id="fidelity">'), html.indexOf('<h2>Figures</h2>'));
      assert.deepEqual([...section.matchAll(/<h3>([^<]+)<\/h3>/g)].map((m) => m[1]), ['torch', 'tfjs-wasm']);
      assert.match(section, /<th>model<\/th><th>batch<\/th><th>idiomatic<\/th><th>engine median ms<\/th><th>idiomatic median ms<\/th><th>ratio<\/th><th>ratio low<\/th><th>ratio high<\/th>/);
      assert.match(section, /<td>resnet50<\/td><td class="num">1<\/td><td>torchvision\.models\.resnet50<\/td><td class="num">13<\/td><td class="num">10<\/td><td class="num">1\.3<\/td><td class="num">1\.249<\/td><td class="num">1\.353<\/td><td>above 1\.10: speed-ups over torch inflated<\/td>/);
      assert.match(section, /<td>darts<\/td>.*failed: no idiomatic form for this network/);
      const csv = readFileSync(join(fdir, 'tables', 'fidelity.csv'), 'utf8').trim().split('\n');
      assert.equal(csv.length, 6);
      assert.match(csv[0]!, /^engine,model,batch,idiomatic,/);
    });

    it('returns the claims for the CLI to print', () => {
      assert.equal(written.claims.length, 7);
      assert.equal(written.claims.find((c) => c.id === 'mobilenet-v2-fastest')!.verdict, 'reproduced');
    });
  });
});
