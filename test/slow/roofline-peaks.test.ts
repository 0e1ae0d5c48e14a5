/**
 * Slow tier: the machine's peak measurement (seconds of busy compute and memory streaming) and a
 * real profile held to the roof it implies, moved here from profile.test.ts with every assertion
 * kept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEngineChoice } from '../../src/engines/index.js';
import { profileModel, withRoofline } from '../../src/measure/profile.js';
import { measureMachinePeaks, rooflineBoundGflops } from '../../src/measure/roofline.js';
import { rooflineFigureSpec } from '../../src/report/profile-figure.js';
import { renderSvg } from '../../src/report/render.js';

const QUICK = { batch: 1, runs: 4, inputSeed: 1, budget: { targetCiRelative: 0.05, timedBudgetMs: 500, warmupBudgetMs: 300, minRuns: 5, maxRuns: 200 } };

describe('roofline on this machine', () => {
  it('measures peak compute and bandwidth, and layers stay under their roof', async () => {
    const peaks = await measureMachinePeaks();
    assert.ok(Number.isFinite(peaks.peakGflops) && peaks.peakGflops > 0, `peak ${peaks.peakGflops}`);
    assert.ok(Number.isFinite(peaks.bandwidthGBs) && peaks.bandwidthGBs > 0, `bandwidth ${peaks.bandwidthGBs}`);
    assert.equal(rooflineBoundGflops(1e6, peaks), peaks.peakGflops);
    assert.equal(rooflineBoundGflops(0.5, peaks), 0.5 * peaks.bandwidthGBs);
    const report = withRoofline(await profileModel('standard/d3/w64/r64', parseEngineChoice('ort'), QUICK), peaks);
    const heaviest = report.layers.reduce((a, b) => (b.macs > a.macs ? b : a));
    assert.ok(heaviest.rooflineFraction! > 0 && heaviest.rooflineFraction! <= 1.2, `the heaviest layer reaches ${heaviest.rooflineFraction} of its roof`);
    const svg = await renderSvg(rooflineFigureSpec(report, peaks));
    assert.match(svg, /^<svg/);
    assert.match(svg, /GFLOP\/s/);
  });
});
