// Offline: refit latency models from stored probes and score them on the stored held-out checks.
import { ResultStore } from './dist/src/store/index.js';
import { currentEnvironment } from './dist/src/measure/index.js';
import { availabilityOf, engineByName } from './dist/src/engines/index.js';
import { fitEngineModel } from './dist/src/predict/fit.js';
import { predictGraph } from './dist/src/predict/model.js';
import { resolveModel } from './dist/src/model/index.js';
const store = await ResultStore.open('formbench-results/calibration/results.duckdb');
const t = store.calibration();
const fp = currentEnvironment().fingerprint;
const checks = await t.checks(fp);
const graphs = new Map();
const graphOf = (s) => { if (!graphs.has(s)) graphs.set(s, resolveModel(s).graph); return graphs.get(s); };
for (const engine of ['ort', 'torch']) {
  const version = (await availabilityOf(engineByName(engine))).version;
  const probes = await t.probes(fp, engine, version);
  const model = fitEngineModel(fp, engine, version, probes);
  const rows = checks.filter((c) => c.engine === engine);
  const latest = new Map(); for (const c of rows) latest.set(c.model, c);
  let within = 0;
  const lines = [];
  for (const c of latest.values()) {
    const p = predictGraph(model, graphOf(c.model), 1);
    const e = p.latencyMs / c.measuredMs - 1;
    if (Math.abs(e) <= 0.1) within++;
    lines.push(`${engine} ${c.model.padEnd(32)} meas ${c.measuredMs.toFixed(2).padStart(8)} pred ${p.latencyMs.toFixed(2).padStart(8)} stored ${c.predictedMs.toFixed(2).padStart(8)} err ${(e * 100).toFixed(1).padStart(6)}% ksum ${p.kernelSumMs.toFixed(2)} n ${p.kernels.length}`);
  }
  console.log(lines.join('\n'));
  console.log(`${engine}: ${probes.length} probes, within ±10% ${within}/${latest.size}; network a=${model.network.interceptMs.toFixed(3)} b=${model.network.kernelSumScale.toFixed(3)} c=${model.network.perKernelMs.toFixed(4)}`);
}
store.close();
