/**
 * The predictor's arithmetic, without an engine: accuracy figures on fixture rows (computed by
 * hand below), ridge regression recovering a known linear law, kernel decomposition under learned
 * fusion signatures, probe sampling, the speed check's choice and wording, and the refusals of a
 * model made on another machine or engine version.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOneLineUserError } from './hostile-helpers.js';
import { analyzeGraph } from '../src/analysis/index.js';
import { ranks } from '../src/measure/stats.js';
import { accuracyOf, decompose, HELD_OUT_PATTERNS, loadEngineModel, modelRows, repeatabilityOf, spearman, speedupAgreement, summarizeChecks, type EngineLatencyModel } from '../src/predict/index.js';
import { attributed, INITIAL_PROBES, kernelSamples, nextProbe } from '../src/predict/calibrate.js';
import { currentClassOf, markRunContext } from '../src/predict/kernels.js';
import { featureVector, fitNetworkModel, NO_CORRECTION, neighbourPool, neighbourPosition, neighboursOf, neighbourShift, paddingUnitOf } from '../src/predict/model.js';
import { buildProbe, NETWORK_PROBE_DEPTH, NETWORK_PROBE_MAX_MACS, NETWORK_PROBE_RESOLUTIONS, NETWORK_PROBE_WIDTHS, networkProbes, probeKey, sampleProbe, WIDTH_GRID, type Probe } from '../src/predict/probes.js';
import { evaluate, fitRidge } from '../src/predict/regression.js';
import { describeSpeedCheck, speedCheckProbes, speedScaleAt } from '../src/predict/speed-check.js';
import type { StoredPredictionCheck, StoredProbe } from '../src/store/index.js';
import { buildZooModel } from '../src/zoo/index.js';

/** Errors 0%, 4%, −5%, 8%, −20%: by hand, 3 of 5 within ±5%, 4 within ±10%, median |error| 5%. */
const ROWS = [
  { model: 'a', engine: 'ort', predictedMs: 10, measuredMs: 10 },
  { model: 'b', engine: 'ort', predictedMs: 20.8, measuredMs: 20 },
  { model: 'c', engine: 'ort', predictedMs: 28.5, measuredMs: 30 },
  { model: 'd', engine: 'ort', predictedMs: 43.2, measuredMs: 40 },
  { model: 'e', engine: 'ort', predictedMs: 40, measuredMs: 50 },
];

describe('accuracy arithmetic', () => {
  it('counts shares within ±5% and ±10%, and the median absolute percentage error', () => {
    const a = accuracyOf(ROWS);
    assert.equal(a.count, 5);
    assert.equal(a.within5, 3 / 5);
    assert.equal(a.within10, 4 / 5);
    assert.ok(Math.abs(a.mdape - 0.05) < 1e-12, String(a.mdape));
  });

  it("computes Spearman's ρ from ranks, ties at their mean rank", () => {
    // Predicted 10, 20.8, 28.5, 43.2, 40 ranks 1 2 3 5 4 against 1 2 3 4 5: d² sums to 2, ρ = 1 − 6·2/(5·24) = 0.9.
    assert.ok(Math.abs(accuracyOf(ROWS).spearman - 0.9) < 1e-12);
    assert.deepEqual(ranks([5, 1, 5, 3]), [3.5, 1, 3.5, 2]);
    // Ties: Pearson's r of ranks [1.5, 1.5, 3] and [1, 2, 3] is √3/2.
    assert.ok(Math.abs(spearman([1, 1, 2], [1, 2, 3]) - Math.sqrt(3) / 2) < 1e-12);
    assert.ok(Number.isNaN(spearman([1], [1])));
  });

  it('compares predicted and measured speed-ups pair by pair within ±15%', () => {
    const native = [
      { model: 'a', engine: 'torch', predictedMs: 30, measuredMs: 20 },
      { model: 'b', engine: 'torch', predictedMs: 50, measuredMs: 50 },
    ];
    const accelerated = [
      { model: 'a', engine: 'ort', predictedMs: 10, measuredMs: 10 },
      { model: 'b', engine: 'ort', predictedMs: 10, measuredMs: 11 },
      { model: 'z', engine: 'ort', predictedMs: 1, measuredMs: 1 },
    ];
    // a: predicted 3×, measured 2× (+50%); b: predicted 5×, measured 4.545× (+10%).
    const s = speedupAgreement(native, accelerated);
    assert.equal(s.pairs, 2);
    assert.equal(s.withinShare, 0.5);
    assert.deepEqual(s.rows.map((r) => r.within), [false, true]);
  });

  it('summarises stored checks per engine and held-out group', () => {
    const checks: StoredPredictionCheck[] = ROWS.map((r, i) => ({ ...r, fingerprint: 'f', engineVersion: '1', heldOut: i < 3 ? 'pattern' : 'reference', batch: 1, measuredRoundsMs: [], speedScale: 1, checkedAt: '' }));
    const [ort] = summarizeChecks(checks, [{ label: 'ort', native: false }]).engines;
    assert.equal(ort!.pattern.count, 3);
    assert.equal(ort!.pattern.within5, 1);
    assert.equal(ort!.reference.within10, 1 / 2);
    assert.equal(ort!.repeatability.networks, 0);
  });

  it('counts the held-out networks whose first round is within ±10% of the second', () => {
    const rounds = (...measuredRoundsMs: number[]) => ({ measuredRoundsMs });
    // 10 → 11 is 9.1% off, 10 → 9 11.1%, 10 → 10.5 4.8%; one round alone does not count.
    const r = repeatabilityOf([rounds(10, 11), rounds(10, 9), rounds(10, 10.5), rounds(10)]);
    assert.equal(r.networks, 3);
    assert.equal(r.within, 2 / 3);
    assert.ok(Number.isNaN(repeatabilityOf([rounds(3)]).within));
  });
});

describe('regression', () => {
  it('ridge least squares recovers a linear law from exact samples', () => {
    const xs = Array.from({ length: 40 }, (_, i) => [i % 7, Math.floor(i / 7), (i * 37) % 11]);
    const ys = xs.map(([a, b, c]) => 1.5 + 2 * a! - 0.5 * b! + 0.25 * c!);
    const m = fitRidge(['a', 'b', 'c'], xs, ys, undefined, 0);
    for (const [i, x] of xs.entries()) assert.ok(Math.abs(evaluate(m, x) - ys[i]!) < 1e-9);
  });

  it('the local correction is the residuals of the k nearest samples weighted 1 / (distance + 0.05), a probe\'s own samples left out on request', () => {
    const neighbours = [
      { x: [0], signature: 'Conv', residual: 0.3, probe: 0 },
      { x: [1], signature: 'Conv', residual: -0.1, probe: 1 },
      { x: [5], signature: 'Conv', residual: 1, probe: 2 },
    ];
    const w = (d: number) => 1 / (d + 0.05);
    assert.ok(Math.abs(neighbourShift([0], neighbours, 2) - (w(0) * 0.3 + w(1) * -0.1) / (w(0) + w(1))) < 1e-12);
    assert.ok(Math.abs(neighbourShift([0], neighbours, 2, 0) - (w(1) * -0.1 + w(5) * 1) / (w(1) + w(5))) < 1e-12);
    assert.equal(neighbourShift([0], neighbours, 0), 0);
    assert.equal(neighbourShift([0], [], 3), 0);
  });

  it('the network model recovers latency = a + b·Σ kernel ms + c·kernels', () => {
    const rows = [1, 2, 4, 8, 16].flatMap((sum) => [3, 9].map((kernels) => ({ kernelSumMs: sum, kernels, measuredMs: 0.05 + 0.9 * sum + 0.002 * kernels })));
    const n = fitNetworkModel(rows);
    assert.ok(Math.abs(n.interceptMs - 0.05) < 1e-5 && Math.abs(n.kernelSumScale - 0.9) < 1e-5 && Math.abs(n.perKernelMs - 0.002) < 1e-5, JSON.stringify(n));
  });

  it('the network model is one scale of the kernel sum with few probes, or where the full law would not grow with it', () => {
    // Three rows fit a + b·Σ + c·n exactly, with a negative b; one scale is what they support.
    const few = [
      { kernelSumMs: 1, kernels: 10, measuredMs: 2 },
      { kernelSumMs: 2, kernels: 12, measuredMs: 1.5 },
      { kernelSumMs: 4, kernels: 8, measuredMs: 6 },
    ];
    const n = fitNetworkModel(few);
    assert.equal(n.interceptMs, 0);
    assert.equal(n.perKernelMs, 0);
    // The scale of least relative error: Σ(s/m) ÷ Σ(s/m)².
    const q = few.map((r) => r.kernelSumMs / r.measuredMs);
    assert.ok(Math.abs(n.kernelSumScale - q.reduce((a, x) => a + x, 0) / q.reduce((a, x) => a + x * x, 0)) < 1e-12);
    // Enough rows, but latency falling as the kernels' time grows: the scale again.
    const falling = Array.from({ length: 12 }, (_, i) => ({ kernelSumMs: 1 + i, kernels: 5 + (i % 3), measuredMs: 20 - i }));
    const f = fitNetworkModel(falling);
    assert.ok(f.kernelSumScale > 0 && f.interceptMs === 0 && f.perKernelMs === 0, JSON.stringify(f));
    assert.deepEqual(fitNetworkModel([]), { interceptMs: 0, kernelSumScale: 1, perKernelMs: 0 });
  });
});

describe('kernel decomposition', () => {
  const graph = buildZooModel('bottleneck/d2/w32').graph;
  const cost = analyzeGraph(graph, { batch: 1 });

  it('runs op by op without fusion signatures: one kernel per IR node', () => {
    assert.equal(decompose(graph, cost, new Map()).length, graph.nodes.length);
  });

  it('fuses single-consumer chains a profile showed as one kernel, never across a value with two consumers', () => {
    const rules = new Map([['Conv+BatchNormalization+Relu', 5], ['Conv+BatchNormalization+Add+Relu', 2]]);
    const kernels = decompose(graph, cost, rules);
    const signatures = kernels.map((k) => k.signature);
    // Stem and 2 blocks × 2 Conv+BN+ReLU; each block's last 1×1 with its BN, Add and ReLU.
    assert.equal(signatures.filter((s) => s === 'Conv+BatchNormalization+Relu').length, 5);
    assert.equal(signatures.filter((s) => s === 'Conv+BatchNormalization+Add+Relu').length, 2);
    assert.equal(kernels.reduce((a, k) => a + k.nodes.length, 0), graph.nodes.length);
    const last = kernels.find((k) => k.signature.includes('Add'))!;
    assert.equal(last.kernelClass, 'conv1x1');
    assert.equal(last.shape.fusedAdd, 1);
    assert.equal(last.shape.channelsIn, 8);
    assert.equal(last.shape.channelsOut, 32);
  });

  it('turns a profile into kernel samples whose time is its share of the unprofiled median', () => {
    const probe = sampleProbe(3);
    const g = buildProbe(probe);
    const layers = [...g.nodes.map((n) => ({ kind: 'compute', nodes: [n.name], ms: 2 })), { kind: 'layout', nodes: [], ms: 2 }];
    const { kernels, layoutMs } = kernelSamples(g, probe.batch, attributed(layers, 1));
    assert.equal(kernels.length, g.nodes.length);
    // The kernels' times are the whole median: the trailing conversion is charged to the last kernel.
    assert.ok(Math.abs(kernels.reduce((a, k) => a + k.ms, 0) - 1) < 1e-12);
    assert.ok(Math.abs(layoutMs - 2 / (2 * g.nodes.length + 2)) < 1e-12);
  });

  it('charges a ReorderOutput to the kernel before it and other conversions to the kernel after', () => {
    const g = buildProbe(sampleProbe(3));
    const [a, b] = g.nodes;
    const layers = [
      { kind: 'compute', op: 'Conv', nodes: [a!.name], ms: 1 },
      { kind: 'layout', op: 'ReorderOutput', nodes: [], ms: 0.25 },
      { kind: 'layout', op: 'ReorderInput', nodes: [], ms: 0.5 },
      { kind: 'compute', op: 'Conv', nodes: [b!.name], ms: 2 },
    ];
    const { kernels, layoutMs } = kernelSamples(g, 1, layers);
    assert.deepEqual(kernels.map((k) => k.ms), [1.25, 2.5]);
    assert.equal(layoutMs, 0.75);
  });
});

describe('sampling', () => {
  it('starts with the same space-filling probes on every run, then skips those stored', () => {
    const first = nextProbe([], new Set(), () => 1);
    assert.equal(probeKey(first), probeKey(nextProbe([], new Set(), () => 1)));
    assert.notEqual(probeKey(nextProbe([], new Set([probeKey(first)]), () => 1)), probeKey(first));
    assert.equal(first.purpose, 'space-filling');
  });

  it('samples pattern networks on the grid whole, in one fixed order, each buildable and under the MAC limit', () => {
    const nets = networkProbes();
    // The order is a function of a fixed seed, the same in every process (a resumed calibration
    // picks up where the last one stopped).
    assert.deepEqual(
      nets.slice(0, 6).map((p) => `${p.network!.pattern}/w${p.network!.width}/r${p.network!.resolution}`),
      ['standard/w16/r224', 'factorized/w48/r224', 'bottleneck/w64/r112', 'depthwise-separable/w20/r112', 'depthwise-bottleneck/w32/r112', 'grouped/w48/r224'],
    );
    assert.equal(new Set(nets.map(probeKey)).size, nets.length);
    assert.ok(nets.length >= 80, `${nets.length} networks`);
    for (const p of nets) {
      const n = p.network!;
      assert.ok(NETWORK_PROBE_WIDTHS.includes(n.width as (typeof NETWORK_PROBE_WIDTHS)[number]));
      if (n.pattern === 'grouped') assert.equal(n.width % 16, 0);
      const g = buildProbe(p);
      assert.equal(g.inputs[0]!.type.shape.at(-1), n.resolution);
      assert.ok(analyzeGraph(g, { batch: 1 }).macs <= NETWORK_PROBE_MAX_MACS);
    }
    // The patterns take turns: a calibration cut short has sampled each of them.
    assert.equal(new Set(nets.slice(0, 6).map((p) => p.network!.pattern)).size, 6);
  });

  it('holds out networks whose depth, width and resolution no probe was sampled at', () => {
    const sampled = new Set(networkProbes().map((p) => `${p.network!.pattern}/d${p.network!.depth}/w${p.network!.width}`));
    for (const spec of HELD_OUT_PATTERNS) {
      const [, pattern, depth, width, resolution] = spec.match(/^([a-z-]+)\/d(\d+)\/w(\d+)(?:\/r(\d+))?$/)!;
      assert.ok(!sampled.has(`${pattern}/d${depth}/w${width}`), spec);
      assert.ok(!(WIDTH_GRID as readonly number[]).includes(Number(width)), `${spec}: width ${width} is on the chains' grid`);
      assert.ok(!(NETWORK_PROBE_WIDTHS as readonly number[]).includes(Number(width)), `${spec}: width ${width} is on the networks' grid`);
      assert.notEqual(Number(depth), NETWORK_PROBE_DEPTH);
      if (resolution) assert.ok(!(NETWORK_PROBE_RESOLUTIONS as readonly number[]).includes(Number(resolution)), spec);
      // Each one builds (grouped widths are multiples of the group width).
      buildZooModel(spec);
    }
  });

  it('interleaves the pattern networks with chains after the space-filling probes', () => {
    const stored: StoredProbe[] = [];
    const keys = new Set<string>();
    let seed = 0;
    for (let i = 0; i < INITIAL_PROBES + 6; i++) {
      const p = nextProbe(stored, keys, () => ++seed);
      stored.push({ probeKey: probeKey(p), fingerprint: 'm', engine: 'ort', engineVersion: '1', purpose: p.purpose, probe: p, batch: p.batch, status: 'failed', reason: 'not run', unprofiledMedianMs: null, kernelSumMs: null, kernelCount: null, layoutMs: null, kernels: [], wallMs: 0, measuredAt: '' });
      keys.add(probeKey(p));
    }
    const kinds = stored.slice(INITIAL_PROBES).map((p) => ((p.probe as Probe).network ? 'net' : 'chain'));
    assert.deepEqual(kinds, ['net', 'chain', 'net', 'chain', 'net', 'chain']);
  });
});

describe('kernel classes', () => {
  it('gives pools and element-wise operators classes of their own, also to samples stored before them', () => {
    assert.equal(currentClassOf('pool', 'MaxPool'), 'maxpool');
    assert.equal(currentClassOf('pool', 'AveragePool'), 'avgpool');
    assert.equal(currentClassOf('elementwise', 'BatchNormalization'), 'batchnorm');
    assert.equal(currentClassOf('elementwise', 'Clip'), 'activation');
    assert.equal(currentClassOf('elementwise', 'Add+Relu'), 'binary');
    assert.equal(currentClassOf('conv', 'Conv+BatchNormalization+Relu'), 'conv');
  });

  it('flags an operator whose input a depthwise convolution produced', () => {
    const graph = buildProbe({ network: { pattern: 'depthwise-bottleneck', depth: 1, width: 16, resolution: 32 }, channels: 3, spatial: 32, batch: 1, units: [], classes: 1000, purpose: 'test' });
    const kernels = decompose(graph, analyzeGraph(graph, { batch: 1 }), new Map());
    const bn = (name: string) => kernels.find((k) => k.name === name)!.shape.afterGrouped;
    assert.equal(bn('block1.bn1'), 0);
    assert.equal(bn('block1.bn2'), 1);
  });

  it('marks where a kernel runs in its network: a repeat of one before it, first on the input, its output against the largest', () => {
    const graph = buildProbe({ network: { pattern: 'standard', depth: 3, width: 16, resolution: 32 }, channels: 3, spatial: 32, batch: 1, units: [], classes: 1000, purpose: 'test' });
    const kernels = decompose(graph, analyzeGraph(graph, { batch: 1 }), new Map());
    const repeated = (name: string) => kernels.find((k) => k.name === name)!.shape.repeated;
    assert.deepEqual(['stem.conv1', 'block1.conv1', 'block2.conv1', 'block3.conv1'].map(repeated), [0, 0, 1, 1]);
    // Marking again gives the same flags (a stored sample's flag does not make it differ from its twin).
    assert.deepEqual(markRunContext(kernels).map((k) => k.shape.repeated), kernels.map((k) => k.shape.repeated));
    // Only the kernel that runs first reads the network's input.
    assert.deepEqual(kernels.map((k) => k.shape.first), kernels.map((_, i) => (i === 0 ? 1 : 0)));
    assert.deepEqual(markRunContext(kernels.slice(1)).map((k) => k.shape.first), kernels.slice(1).map((_, i) => (i === 0 ? 1 : 0)));
    // Each output's size against the network's largest: the stem's (16 × 16 × 16 before the
    // max-pool) is the largest, the blocks' (16 × 8 × 8) a quarter of it.
    const size = (name: string) => kernels.find((k) => k.name === name)!.shape.sizeInNetwork!;
    assert.equal(size('stem.conv1'), 0);
    assert.ok(Math.abs(size('block1.conv1') - Math.log(1 / 4)) < 1e-12);
    assert.ok(kernels.every((k) => k.shape.sizeInNetwork! <= 0));
  });

  it('pads channels to the vector width of the CPU for the padded features and the neighbours', () => {
    assert.equal(paddingUnitOf(['FMA', 'AVX2', 'AVX-512F']), 16);
    assert.equal(paddingUnitOf(['FMA', 'AVX2']), 8);
    assert.equal(paddingUnitOf([]), 4);
    const shape = { batch: 1, macs: 40 * 40 * 9 * 3136, bytes: 1, outputElements: 40 * 3136, channelsIn: 40, channelsOut: 40, spatialOut: 3136, kernelArea: 9, stride: 1, groups: 1, fusedAdd: 0, fusedActivation: 1, channelsAligned: 0, afterGrouped: 0 };
    const [padded16, padded8] = featureVector(['paddedMacs16', 'paddedMacs8'], shape);
    assert.ok(Math.abs(padded16! - Math.log(48 * 48 * 9 * 3136)) < 1e-9);
    assert.ok(Math.abs(padded8! - Math.log(shape.macs)) < 1e-9);
    // 40 channels sit where 48 do with 16-float vectors, not with 8.
    assert.deepEqual(neighbourPosition(shape, 16).slice(0, 2), neighbourPosition({ ...shape, channelsIn: 48, channelsOut: 48 }, 16).slice(0, 2));
    assert.notDeepEqual(neighbourPosition(shape, 8).slice(0, 2), neighbourPosition({ ...shape, channelsIn: 48, channelsOut: 48 }, 8).slice(0, 2));
    // But a kernel whose channels are a multiple of the unit lies a whole step from one padded to
    // the same blocks: 72 and 80 channels pad alike and did not run alike (ORT's max-pool).
    const distance = (a: number[], b: number[]) => Math.hypot(...a.map((x, i) => x - b[i]!));
    const at = (c: number) => neighbourPosition({ ...shape, channelsIn: c, channelsOut: c }, 16);
    assert.ok(distance(at(72), at(80)) > 1);
    assert.ok(distance(at(64), at(80)) < distance(at(72), at(80)));
  });

  it("averages a kernel's own signature's neighbours where it has k of them, else its class's; a signature's pool holds one class", () => {
    const model = (names: string[]) => ({ featureNames: names, intercept: 0, coefficients: names.map(() => 0), means: names.map(() => 0), scales: names.map(() => 1) });
    const models = new Map([
      ['conv' as const, model(['macs', 'kernelArea'])],
      ['conv1x1' as const, model(['macs'])],
    ]);
    const shape = { batch: 1, macs: 1e6, bytes: 1e4, outputElements: 1e3, channelsIn: 8, channelsOut: 8, spatialOut: 64, kernelArea: 9, stride: 1, groups: 1, fusedAdd: 0, fusedActivation: 1, channelsAligned: 1, afterGrouped: 0 };
    const sample = (kernelClass: 'conv' | 'conv1x1', signature: string, probe: number) => ({ kernelClass, signature, shape, ms: 1, probe });
    const correction = neighboursOf(models, [sample('conv', 'Conv', 0), sample('conv', 'Conv+Relu', 1), sample('conv', 'Conv+Relu', 2), sample('conv1x1', 'Conv+Relu', 3), sample('conv1x1', 'Conv+Relu', 4)], 2);
    assert.equal(neighbourPool(correction, 'conv', 'Conv+Relu')!.length, 2);
    assert.equal(neighbourPool(correction, 'conv', 'Conv')!.length, 3);
    // A conv1x1's residuals are from its class model, a conv's from theirs: never in one pool.
    assert.deepEqual(neighbourPool(correction, 'conv1x1', 'Conv+Relu')!.map((n) => n.probe), [3, 4]);
  });
});

describe('speed check', () => {
  const row = (key: string, probe: Probe, ms: number | null): StoredProbe => ({ probeKey: key, fingerprint: 'm', engine: 'ort', engineVersion: '1', purpose: probe.purpose, probe, batch: 1, status: ms === null ? 'failed' : 'ok', reason: null, unprofiledMedianMs: ms, kernelSumMs: ms, kernelCount: 1, layoutMs: 0, kernels: [], wallMs: 0, measuredAt: '' });

  it('times pattern networks again spread over their stored latencies, chains where too few are stored; never a failed probe', () => {
    const nets = networkProbes();
    const chain = sampleProbe(5);
    const few = [row(probeKey(chain), chain, 1), row(probeKey(nets[3]!), nets[3]!, 3), row(probeKey(nets[1]!), nets[1]!, 2), row(probeKey(nets[0]!), nets[0]!, null)];
    assert.deepEqual(speedCheckProbes(few, 3).map((p) => p.unprofiledMedianMs), [2, 3, 1]);
    const many = nets.slice(0, 7).map((n, i) => row(probeKey(n), n, 7 - i));
    assert.deepEqual(speedCheckProbes(many, 3).map((p) => p.unprofiledMedianMs), [1, 4, 7]);
  });

  it('scales a prediction by the drift of the probes nearest it in latency', () => {
    const probes = [1, 2, 4, 8, 16].map((storedMs, i) => ({ probeKey: `p${i}`, storedMs, nowMs: storedMs * [0.9, 0.95, 1, 1.1, 1.2][i]! }));
    assert.ok(Math.abs(speedScaleAt({ probes }, 16) - 1.1) < 1e-12);
    assert.ok(Math.abs(speedScaleAt({ probes }, 40) - 1.1) < 1e-12);
    assert.ok(Math.abs(speedScaleAt({ probes }, 1) - 0.95) < 1e-12);
    assert.equal(speedScaleAt({ probes: [] }, 3), 1);
  });

  it('says how much slower or faster the machine runs, and warns past the drift bounds', () => {
    const check = (ratio: number) => describeSpeedCheck({ engine: 'ort', ratio, probes: [{ probeKey: 'a', storedMs: 1, nowMs: ratio }, { probeKey: 'b', storedMs: 12, nowMs: 12 }], wallS: 3 });
    assert.match(check(1.1), /ran 10\.0% slower than at calibration \(median ratio 1\.100, 1\.00–1\.10 over 1\.00 ms–12\.0 ms, 3 s\); each prediction is scaled by the median of the 3 nearest it in latency$/);
    assert.match(check(0.95), /5\.0% faster/);
    assert.match(check(1.3), /not in the state it was calibrated in/);
    assert.match(check(0.7), /not in the state it was calibrated in/);
  });
});

describe('drift', () => {
  const model: EngineLatencyModel = {
    fingerprint: 'machine-a',
    engine: 'ort',
    engineVersion: '1.30.0',
    fusion: new Map([['Conv+Relu', 1]]),
    kernels: new Map([['fallback', { featureNames: ['bytes'], intercept: 0, coefficients: [1], means: [0], scales: [1] }]]),
    correction: NO_CORRECTION,
    network: { interceptMs: 0, kernelSumScale: 1, perKernelMs: 0 },
    probes: 1,
    fittedAt: '2026-01-01T00:00:00.000Z',
  };
  const { models, rules } = modelRows(model, []);

  it('reads back the model it stored', () => {
    const back = loadEngineModel(models, rules, 'ort', 'machine-a', '1.30.0');
    assert.deepEqual(back.network, model.network);
    assert.deepEqual(back.kernels.get('fallback'), model.kernels.get('fallback'));
  });

  it('refuses an engine without calibration, another machine and another engine version, each with the reason', () => {
    const refusal = (f: () => unknown, pattern: RegExp) =>
      assert.throws(f, (e: unknown) => isOneLineUserError(e) && pattern.test((e as Error).message));
    refusal(() => loadEngineModel(models, rules, 'torch', 'machine-a', '1.13'), /no calibration of torch/);
    refusal(() => loadEngineModel(models, rules, 'ort', 'machine-b', '1.30.0'), /another machine \(fingerprint machine-a, this one is machine-b\)/);
    refusal(() => loadEngineModel(models, rules, 'ort', 'machine-a', '1.31.0'), /made with version 1\.30\.0, but 1\.31\.0 is installed/);
  });
});
