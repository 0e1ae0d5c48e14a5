import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildFigures, computeFindings, paperClaims, reportData, writeReport, type Figure, type Finding } from '../src/report/index.js';
import { decodeTrial, ResultStore, type ResultRow } from '../src/store/index.js';
import { fakeGpuRows, fakeRow, fakeStudyRows, HARDWARE_ADAPTER, SOFTWARE_ADAPTER } from './fixtures/result-rows.js';
import { testTempDir } from './temp-dir.js';

const dir = testTempDir('formbench-report-gpu-test-');
after(() => rmSync(dir, { recursive: true, force: true }));

const trials = (rows: ResultRow[]) => rows.map(decodeTrial);
const finding = (findings: Finding[], title: RegExp) => findings.find((f) => title.test(f.title));
const figure = (figures: Figure[], id: string) => figures.find((f) => f.id === id)!;
/** The legend's lines of a latency figure, in the order it draws them. */
const lines = (f: Figure) => (f.spec as unknown as { spec: { layer: { encoding: { strokeDash: { sort: string[] } } }[] } }).spec.layer[0]!.encoding.strokeDash.sort;
const values = (f: Figure) => (f.spec as unknown as { data: { values: { engine: string }[] } }).data.values;

const SOFTWARE = 'ort-webgpu (software GPU)';

describe('a software GPU in the report', () => {
  const rows = [...fakeStudyRows(), ...fakeGpuRows(SOFTWARE_ADAPTER)];
  const data = reportData(trials(rows));

  it('is labelled "software GPU" in the points, tables and figure legends', () => {
    assert.ok(data.points.filter((p) => p.gpu).every((p) => p.engine === SOFTWARE));
    const depth = figure(buildFigures(data), 'latency-vs-depth');
    assert.ok(depth.table.rows.some((r) => r[2] === SOFTWARE));
    assert.ok(values(depth).some((v) => v.engine === SOFTWARE));
    assert.equal(lines(depth).at(-1), SOFTWARE, 'after the native, CPU and GPU lines');
    assert.match(depth.caption, /ort-webgpu \(software GPU\): a Vulkan implementation running on the CPU, so their times are the CPU's: they check correctness only; not GPU acceleration\./);
    assert.doesNotMatch(depth.caption, /GPU-specific acceleration/, 'no hardware GPU, no third line');
  });

  it('has no speed-up, and no finding counts it as acceleration', () => {
    assert.ok(data.speedups.every((s) => !s.engine.includes('webgpu')));
    const findings = computeFindings(data);
    assert.equal(finding(findings, /Average speed-up of ort-webgpu/), undefined);
    assert.equal(finding(findings, /GPU against CPU/), undefined, 'its rates beat ort on every dense pattern: counted, it would be a GPU finding');
    assert.ok(findings.filter((f) => f.title.includes('webgpu')).every((f) => f.title.includes('software GPU')), findings.map((f) => f.title).join('; '));
  });

  it('leaves the paper comparison as it is without it', () => {
    const claims = paperClaims(data);
    assert.deepEqual(claims, paperClaims(reportData(trials(rows.filter((r) => !r.gpuAdapter)))));
    assert.ok(claims.some((c) => c.verdict !== 'not measured'), 'the comparison was made');
  });

  describe('in the written report', () => {
    let html = '';
    before(async () => {
      const store = await ResultStore.open(join(dir, 'software', 'results.duckdb'));
      for (const r of [...rows, { ...fakeRow({ model: 'resnet50', batch: 1, engine: 'ort-webgpu:precision=fp16', role: 'gpu-accelerated', macs: 4.1e9, status: 'failed' }), reason: "precision=fp16 needs the adapter's shader-f16 feature", gpuAdapter: JSON.stringify(SOFTWARE_ADAPTER) }]) await store.insert(r);
      await writeReport(store, join(dir, 'software'));
      store.close();
      html = readFileSync(join(dir, 'software', 'report.html'), 'utf8');
    });

    it('says the software-GPU trials were left out, and why', () => {
      assert.match(html, /<b>Software GPU:<\/b> 55 trials ran on a software GPU \(SwiftShader driver 5\.0\.0 \(google swiftshader, vulkan, software GPU\)\): a Vulkan implementation running on the CPU, so their times are the CPU's: they check correctness only\. They are labelled &quot;software GPU&quot; and left out of every speed-up/);
      assert.match(html, /The 55 software-GPU trials are not part of this comparison/);
    });

    it('lists every GPU trial with its adapter, the failed one too, and labels it where it failed', () => {
      const table = readFileSync(join(dir, 'software', 'tables', 'gpu-trials.csv'), 'utf8').trim().split('\n');
      assert.equal(table.length, 1 + 55);
      assert.ok(table.slice(1).every((l) => l.includes('SwiftShader driver 5.0.0 (google swiftshader, vulkan, software GPU)')));
      assert.match(html, /Trials not plotted[\s\S]*<td>ort-webgpu:precision=fp16 \(software GPU\)<\/td><td class="failed">failed/);
    });
  });
});

describe('a hardware GPU in the report', () => {
  const data = reportData(trials([...fakeStudyRows(), ...fakeGpuRows(HARDWARE_ADAPTER)]));
  const findings = computeFindings(data);

  it('is the third line of latency vs depth and width: native, CPU acceleration, GPU-specific acceleration', () => {
    const figures = buildFigures(data);
    for (const id of ['latency-vs-depth', 'latency-vs-width']) {
      const f = figure(figures, id);
      assert.deepEqual(lines(f), ['torch (native)', 'ort (CPU acceleration)', 'ort-webgpu (GPU-specific acceleration)'], id);
      assert.match(f.caption, /GPU-specific acceleration, the third line: ort-webgpu on NVIDIA 565\.57\.01 \(nvidia hopper, vulkan, hardware GPU\)\./, id);
      assert.ok(values(f).some((v) => v.engine === 'ort-webgpu (GPU-specific acceleration)'), id);
    }
  });

  it('is compared with CPU acceleration per design pattern: where the GPU wins, where the CPU keeps up, where it is faster', () => {
    const f = finding(findings, /GPU against CPU acceleration: ort-webgpu and ort/)!;
    assert.ok(f, findings.map((x) => x.title).join('; '));
    // Fixture rates, GPU over CPU: standard 480/48, factorized 200/40, bottleneck 60/20, grouped 27/9, depthwise-bottleneck 16/16, depthwise-separable 8/10.
    assert.match(f.text, /^On NVIDIA 565\.57\.01 \(nvidia hopper, vulkan, hardware GPU\), ort-webgpu beats ort on standard \(10\.0×\), factorized \(5\.00×\), (bottleneck|grouped) \(3\.00×\), (bottleneck|grouped) \(3\.00×\); /);
    assert.match(f.text, /; the CPU keeps up \(within ±10%\) on depthwise-bottleneck \(1\.00×\); the CPU is faster on depthwise-separable \(0\.80×\) \(/);
    assert.match(f.text, /54 pairs in all, FP32\)\.$/);
  });

  it('counts as acceleration over the native framework, and is under no CPU roofline', () => {
    assert.ok(finding(findings, /Average speed-up of ort-webgpu/));
    const roofline = figure(buildFigures({ ...data, peaks: { peakGflops: 300, bandwidthGBs: 20, method: 'test' } }), 'roofline');
    assert.ok(roofline.table.rows.every((r) => r[2] !== 'ort-webgpu'));
    assert.match(roofline.caption, /54 trials on a hardware GPU are left out: these are the CPU's roofs\./);
  });

  it('says nothing about the GPU where only a software one was measured', () => {
    const none = computeFindings(reportData(trials([...fakeStudyRows(), ...fakeGpuRows(SOFTWARE_ADAPTER)])));
    assert.equal(finding(none, /GPU against CPU/), undefined);
  });
});

describe('where a GPU trial\'s kernels ran', () => {
  it('is a finding when convolutions ran on the CPU, named beside the pattern\'s GPU gain', () => {
    const findings = computeFindings(reportData(trials([...fakeStudyRows(), ...fakeGpuRows(HARDWARE_ADAPTER, { cpuConv: ['grouped'] })])));
    const f = finding(findings, /GPU placement: ort-webgpu ran convolutions on the CPU/)!;
    assert.ok(f, findings.map((x) => x.title).join('; '));
    // grouped: 6 depth-series trials (depths 10, 20, 30 × 2 batches) and 3 width-series ones at depth 10, one Conv per block.
    assert.match(f.text, /^In 9 of 54 ort-webgpu trials, Conv\/Gemm\/MatMul kernels ran on the CPU provider: 150 of 900 such kernels in all \(grouped\/d10\/w64, grouped\/d20\/w64, grouped\/d30\/w64, grouped\/d10\/w32\/r112, grouped\/d10\/w128\/r112, grouped\/d10\/w512\/r112\); the CPU took a median 70\.0% of those trials' kernel time\. Their times are partly the CPU's, not GPU acceleration\.$/);
    assert.equal(f.value, 150 / 900);
    assert.equal(f.trialKeys.length, 9);
    assert.match(finding(findings, /GPU against CPU/)!.text, /grouped \(3\.00×, its convolutions ran on the CPU\)/);
  });

  it('says so when every convolution ran on the GPU', () => {
    const findings = computeFindings(reportData(trials([...fakeStudyRows(), ...fakeGpuRows(HARDWARE_ADAPTER)])));
    assert.equal(finding(findings, /ran convolutions on the CPU/), undefined);
    assert.match(finding(findings, /GPU placement: where ort-webgpu's kernels ran/)!.text, /all 900 Conv\/Gemm\/MatMul kernels ran on the WebGPU provider; the CPU took a median 0\.0% of kernel time/);
  });

  it('the GPU trials table shows the adapter, the first run beside the median, the on-device time and the CPU\'s kernels', async () => {
    const store = await ResultStore.open(join(dir, 'hardware', 'results.duckdb'));
    for (const r of [...fakeStudyRows(), ...fakeGpuRows(HARDWARE_ADAPTER, { cpuConv: ['grouped'] })]) await store.insert(r);
    await writeReport(store, join(dir, 'hardware'));
    store.close();
    const html = readFileSync(join(dir, 'hardware', 'report.html'), 'utf8');
    const section = html.slice(html.indexOf('<h2 id="gpu-trials">'), html.indexOf('<h2>Figures</h2>'));
    assert.match(section, /<th>adapter<\/th><th>median ms<\/th><th>first-run ms<\/th><th>on-device ms<\/th><th>CPU share of kernel time<\/th><th>Conv\/Gemm\/MatMul kernels on CPU<\/th>/);
    // grouped/d10/w64 at batch 1: 29 MMACs × 10 at 27 GMAC/s is 10.74 ms; the fixture's first run is 3×, its device time ¼ of the median.
    const median = (29e6 * 10) / 27e9 * 1000;
    const cells = [median, 3 * median, median / 4].map((v) => `<td class="num">${Number(v.toPrecision(4))}</td>`).join('');
    assert.ok(section.includes(`<td>grouped/d10/w64</td><td class="num">1</td><td>ort-webgpu</td><td>ok</td><td>NVIDIA 565.57.01 (nvidia hopper, vulkan, hardware GPU)</td>${cells}<td class="num">0.7</td><td class="num">10</td><td class="num">10</td>`), section.slice(0, 2000));
    assert.doesNotMatch(html, /<b>Software GPU:<\/b>/);
  });
});
