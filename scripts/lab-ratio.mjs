#!/usr/bin/env node
// What the browser costs: per design pattern, the median latency of onnxruntime-web's wasm in a
// browser tab (`formbench serve`) over onnxruntime-node's (`formbench study`, engine ort) on the
// same models in one store, per depth and as the geometric mean over depths. Any two engines'
// labels can be given: --browser A --node B prints A's median over B's (e.g. tfjs-web over
// ort-web:threads=1, the browser's own speed-up per pattern).
//   node scripts/lab-ratio.mjs formbench-results/lab-depth [--browser ort-web] [--node ort]
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const [dir, ...rest] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: node scripts/lab-ratio.mjs <results folder> [--browser ort-web] [--node ort]\n');
  process.exit(2);
}
const flag = (name, fallback) => (rest.includes(name) ? rest[rest.indexOf(name) + 1] : fallback);
const browserEngine = flag('--browser', 'ort-web');
const nodeEngine = flag('--node', 'ort');

const db = await DuckDBInstance.create(join(dir, 'results.duckdb'), { access_mode: 'READ_ONLY' });
const c = await db.connect();
const rows = (await c.runAndReadAll(`SELECT t.pattern, t.depth, t.engine, t.median_ms, e.cpu_model FROM trials t LEFT JOIN environments e USING (fingerprint)
  WHERE t.status = 'ok' AND t.pattern IS NOT NULL AND t.engine IN ($1, $2) ORDER BY t.pattern, t.depth`, [browserEngine, nodeEngine])).getRowObjectsJS();
const machines = [...new Set(rows.map((r) => `${r.engine}: ${r.cpu_model}`))];
process.stdout.write(`${machines.join('\n')}\n\n| pattern | ${[...new Set(rows.map((r) => r.depth))].map((d) => `d${d}`).join(' | ')} | geometric mean |\n`);
const depths = [...new Set(rows.map((r) => r.depth))];
process.stdout.write(`|---|${depths.map(() => '---:').join('|')}|---:|\n`);
for (const pattern of [...new Set(rows.map((r) => r.pattern))]) {
  const ratios = depths.map((d) => {
    const at = (engine) => rows.find((r) => r.pattern === pattern && r.depth === d && r.engine === engine)?.median_ms;
    const b = at(browserEngine);
    const n = at(nodeEngine);
    return b !== undefined && n !== undefined ? b / n : undefined;
  });
  const known = ratios.filter((r) => r !== undefined);
  const gm = known.length ? Math.exp(known.reduce((s, r) => s + Math.log(r), 0) / known.length) : undefined;
  process.stdout.write(`| ${pattern} | ${ratios.map((r) => (r === undefined ? '–' : `${r.toFixed(2)}×`)).join(' | ')} | ${gm === undefined ? '–' : `${gm.toFixed(2)}×`} |\n`);
}
c.closeSync();
db.closeSync();
