/**
 * `bench` on real engines with a small model: every trial carries its lifecycle, with plausible
 * figures, in --json and in the lines printed after the tables. The torch engine's work is done by
 * its Python child, whose memory must count in the worker tree's.
 */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { cpuPerWallMinWallMs } from '../src/measure/index.js';
import { runCli } from './cli-helpers.js';

const MODEL = 'standard/d2/w16/r32';
const MiB = 2 ** 20;

interface JsonTrial {
  engine: string;
  status: string;
  loadMs: number;
  firstRunMs: number;
  medianMs: number;
  peakRssBytes: number;
  lifecycle: { timedWallMs: number; cpuMs: number; cpuPerWall?: number; rssStartBytes: number; rssGrowthBytes: number; leakSuspected: boolean; cpuMhzBefore?: number; cpuMhzAfter?: number; cpuMhzSource?: string; throttled: boolean; energyJoulesPerInference?: number; energyUnsupported?: string };
}

describe('bench shows each trial\'s lifecycle', () => {
  it('in --json: load, first inference, peak RSS of the tree, CPU ÷ wall, frequency and energy (or why not)', async () => {
    const r = await runCli(['bench', MODEL, '--engines', 'ort,torch', '--budget-s', '1', '--json'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const trials = (JSON.parse(r.stdout) as { trials: JsonTrial[] }).trials;
    assert.deepEqual(trials.map((t) => [t.engine, t.status]), [['ort', 'ok'], ['torch', 'ok']]);
    for (const t of trials) {
      const l = t.lifecycle;
      const what = `${t.engine}: ${JSON.stringify(t)}`;
      assert.ok(t.loadMs > 0 && t.firstRunMs > 0 && t.medianMs > 0, what);
      assert.ok(t.peakRssBytes > 50 * MiB, what);
      // Never more busy threads than the machine has (a little over, for the clocks' own reading).
      if (l.timedWallMs < cpuPerWallMinWallMs(t.engine === 'torch')) assert.equal(l.cpuPerWall, undefined, what);
      else assert.ok(l.cpuPerWall! > 0 && l.cpuPerWall! <= availableParallelism() * 1.05, what);
      assert.ok(l.timedWallMs > 0 && l.cpuMs > 0, what);
      assert.ok(l.rssStartBytes > 50 * MiB && Math.abs(l.rssGrowthBytes) < l.rssStartBytes, what);
      assert.equal(l.leakSuspected, false, what);
      assert.ok(l.cpuMhzSource === undefined ? l.cpuMhzBefore === undefined : l.cpuMhzBefore! > 100 && l.cpuMhzAfter! > 100, what);
      // Energy: a positive number, or unsupported with the reason; never 0.
      assert.ok(l.energyJoulesPerInference !== undefined ? l.energyJoulesPerInference > 0 && l.energyUnsupported === undefined : l.energyUnsupported!.length > 0, what);
    }
    // Python and torch alone hold more than a Node worker with onnxruntime: the child counts.
    const torch = trials.find((t) => t.engine === 'torch')!;
    assert.ok(torch.lifecycle.rssStartBytes > 150 * MiB, `torch tree RSS ${torch.lifecycle.rssStartBytes / MiB} MiB`);
    assert.ok(torch.peakRssBytes > 150 * MiB, `torch peak RSS ${torch.peakRssBytes / MiB} MiB`);
  });

  it('in the progress line and one lifecycle line per trial after the tables', async () => {
    const r = await runCli(['bench', MODEL, '--engines', 'ort', '--budget-s', '1'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\[1\/1\] .* peak memory \d+ MiB \(estimated \d+\), first inference [\d.]+ ms(, CPU\/wall [\d.]+)?/);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('Lifecycle: '));
    assert.equal(lines.length, 1, r.stdout);
    assert.match(lines[0]!, /^Lifecycle: standard\/d2\/w16\/r32 ort batch 1: load \d+ ms, first inference [\d.]+ ms, steady median [\d.]+ ms, first ÷ median [\d.]+×, peak RSS \d+ MiB \(estimated \d+ MiB\), RSS growth [+−][\d.]+ [KMG]?i?B over the timed runs, CPU÷wall ([\d.]+|unknown \(timed runs \d+ ms, too short to divide\)), CPU (\d+→\d+ MHz \((cpufreq|cpuinfo)\)|frequency unsupported), energy ([\d.e+-]+ J\/inference|unsupported \(.+\))$/);
  });
});
