/**
 * `node dist/bench/counters.js`: issue #6's done-when, measured with real valgrind (callgrind) runs —
 * simulated last-level misses per inference grow with depth for every one of the six patterns —
 * and the cost of a simulated trial, to size the study's `cache` preset.
 *
 *   node dist/bench/counters.js [--geometry 256KiB,16,64] [--depths 2,16] [--width 64] [--res 32]
 *                               [--inferences 3] [--patterns standard,grouped] [--cost d50]
 *
 * `--cost <depth>` instead times one simulated trial per pattern at that depth (e.g. d50) under
 * the paper geometry. Exits 1 when misses do not grow with depth for some pattern. Not part of
 * bench/run.ts: a full pass takes ten minutes or more on two cores.
 */
import { parseArgs } from 'node:util';
import { measureSpecCounters, parseGeometry, type CounterOk, type CacheGeometry } from '../src/measure/counters/index.js';
import { PATTERNS } from '../src/zoo/index.js';

const { values } = parseArgs({
  options: {
    geometry: { type: 'string', default: '256KiB,16,64' },
    depths: { type: 'string', default: '2,16' },
    width: { type: 'string', default: '64' },
    res: { type: 'string', default: '32' },
    inferences: { type: 'string', default: '3' },
    patterns: { type: 'string', default: PATTERNS.join(',') },
    cost: { type: 'string' },
  },
});
const depths = values.depths.split(',').map(Number);
const patterns = values.patterns.split(',');
const inferences = Number(values.inferences);
const ORT_ONE_THREAD = { opt: 'all', threads: '1', execution: 'sequential' };

async function simulate(spec: string, geometry: CacheGeometry, n = inferences): Promise<CounterOk> {
  const r = await measureSpecCounters({ spec, engine: 'ort', options: ORT_ONE_THREAD, batch: 1, inputSeed: 1, inferences: n, mode: { simulate: geometry }, timeoutMs: 1_800_000 });
  if (r.status !== 'ok') throw new Error(`${spec}: ${r.reason}`);
  return r;
}

const fmt = (n: number | null) => (n === null ? '-' : Math.round(n).toLocaleString('en-US'));

async function depthSeries(): Promise<boolean> {
  const geometry = parseGeometry(values.geometry);
  console.log(`Simulated LLC misses per inference (callgrind, LL ${values.geometry}; ort threads=1; width ${values.width}, resolution ${values.res}, ${inferences} inferences)`);
  console.log(['pattern', ...depths.map((d) => `d${d} misses`), ...depths.map((d) => `d${d} Minstr`), 'wall s', 'grows'].join('\t'));
  let allGrow = true;
  for (const pattern of patterns) {
    const rows: CounterOk[] = [];
    for (const depth of depths) rows.push(await simulate(`${pattern}/d${depth}/w${values.width}/r${values.res}`, geometry));
    const misses = rows.map((r) => r.llcMissesPerInference!);
    const grows = misses.every((m, i) => i === 0 || m > misses[i - 1]!);
    allGrow &&= grows;
    console.log([pattern, ...misses.map(fmt), ...rows.map((r) => (r.instructionsPerInference! / 1e6).toFixed(2)), rows.map((r) => (r.wallMs / 1000).toFixed(0)).join('+'), grows ? 'yes' : 'NO'].join('\t'));
  }
  return allGrow;
}

/** The cost of one simulated trial (both runs) per pattern at the given depth, paper geometry. */
async function cost(suffix: string): Promise<void> {
  const geometry = parseGeometry('paper');
  console.log(`\nCost of one simulated trial (paper geometry, width ${values.width}, resolution ${values.res}, ${inferences} inferences): wall s total, counted inferences s each`);
  for (const pattern of patterns) {
    const r = await simulate(`${pattern}/${suffix}/w${values.width}/r${values.res}`, geometry);
    console.log([r.spec, `${(r.wallMs / 1000).toFixed(0)} s`, `${(r.countedWallMs / 1000 / inferences).toFixed(1)} s/inference`, `${fmt(r.llcMissesPerInference)} LLC misses/inference`, `${(r.instructionsPerInference! / 1e6).toFixed(1)} M instructions/inference`].join('\t'));
  }
}

// --cost alone times trials; without it, the depth series runs.
const grows = values.cost ? true : await depthSeries();
if (values.cost) await cost(values.cost);
if (!grows) {
  console.log('FAILED: simulated misses do not grow with depth for every pattern');
  process.exitCode = 1;
}
