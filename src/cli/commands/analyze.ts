import type { Command } from 'commander';
import { analyzeGraph, BYTE_MODEL, type ModelCost } from '../../analysis/index.js';
import { UserError } from '../../errors.js';
import { prepareModel, resolveModel } from '../../model/index.js';
import { activationHealth, isHealthy, type HealthReport } from '../../weights/index.js';
import { PATTERNS } from '../../zoo/index.js';
import { formatBytes, formatCount, formatShape, makeTable, printJson } from '../format.js';
import { batchSize, intList } from '../options.js';

interface AnalyzeOptions {
  batch: number;
  json?: boolean;
  zoo?: boolean;
  depths: number[];
  widths: number[];
  check?: boolean;
}

/** The pattern zoo at the seed paper's depths and widths. */
function zooSpecs(depths: number[], widths: number[]): string[] {
  return PATTERNS.flatMap((p) => widths.flatMap((w) => depths.map((d) => `${p}/d${d}/w${w}`)));
}

export function registerAnalyzeCommand(program: Command): void {
  program
    .command('analyze')
    .description('static cost per layer and in total: MACs, FLOPs, parameters, bytes, arithmetic intensity')
    .argument('[specs...]', 'model specs (pattern/d<depth>/w<width>[/r<res>]) or .onnx files')
    .option('--batch <n>', 'batch size', batchSize, 1)
    .option('--zoo', 'add the six patterns at every --depths × --widths')
    .option('--depths <list>', 'depths for --zoo', intList, [10, 20, 30, 40, 50])
    .option('--widths <list>', 'widths for --zoo', intList, [64])
    .option('--check', 'also run each model once in onnxruntime and check activation health')
    .option('--json', 'machine-readable output')
    .action(analyzeCommand);
}

/** `formbench analyze`: one model's cost per layer, or a table of many models' totals. */
async function analyzeCommand(specs: string[], o: AnalyzeOptions): Promise<void> {
  if (specs.length === 0 && !o.zoo) throw new UserError('analyze needs a model spec or --zoo', "e.g. 'formbench analyze standard/d10/w64' or 'formbench analyze --zoo'");
  const all = o.zoo ? [...specs, ...zooSpecs(o.depths, o.widths)] : specs;
  if (all.length === 0) throw new Error('unreachable: the CLI requires a spec or --zoo');
  if (all.length === 1 && !o.zoo) return analyzeOne(all[0]!, o);
  return analyzeMany(all, o);
}

async function analyzeOne(spec: string, o: AnalyzeOptions): Promise<void> {
  const model = resolveModel(spec);
  const cost = analyzeGraph(model.graph, { batch: o.batch });
  const health = o.check ? await activationHealth(await prepareModel(model), { batch: o.batch }) : undefined;
  if (o.json) {
    printJson({ model: model.spec, source: model.source, byteModel: BYTE_MODEL, ...cost, ...(health ? { health } : {}) });
    return;
  }
  const table = makeTable(['layer', 'op', 'output', 'MACs', 'elementwise', 'params', 'FLOP/B'], ['left', 'left', 'left', 'right', 'right', 'right', 'right']);
  for (const l of cost.layers) {
    table.push([l.name, l.op, formatShape(l.outputShape), formatCount(l.macs), formatCount(l.elementwiseOps), formatCount(l.params), l.arithmeticIntensity.toFixed(2)]);
  }
  console.log(table.toString());
  printTotals(model.spec, cost);
  if (health) printHealthSummary(health);
}

function printTotals(spec: string, c: ModelCost): void {
  console.log(`${spec} at batch ${c.batch}: ${c.layers.length} layers`);
  console.log(`  MACs ${formatCount(c.macs)} (FLOPs ${formatCount(c.flops)}), elementwise ops ${formatCount(c.elementwiseOps)} (not in MACs)`);
  const shared = c.uniqueParams !== c.params ? `; ${c.uniqueParams.toLocaleString('en-US')} in distinct tensors, as the file stores them` : '';
  console.log(`  parameters ${formatCount(c.params)} (${c.params.toLocaleString('en-US')}${shared}), weight bytes ${formatBytes(c.weightBytes)}`);
  console.log(`  activation bytes ${formatBytes(c.activationBytes)} in all, largest tensor ${formatBytes(c.peakActivationBytes)}`);
  console.log(`  arithmetic intensity ${c.arithmeticIntensity.toFixed(2)} FLOP/byte (${BYTE_MODEL})`);
}

function printHealthSummary(h: HealthReport): void {
  const verdict = isHealthy(h) ? 'healthy' : 'UNHEALTHY';
  console.log(
    `  activations (onnxruntime, seeded N(0,1) input): ${verdict}; per-layer std ${h.minStd.toPrecision(3)}…${h.maxStd.toPrecision(3)}, ` +
      `subnormal ${(100 * h.maxSubnormalFraction).toFixed(3)}% at worst, layers with NaN/Inf ${h.nonFiniteLayers}`,
  );
}

async function analyzeMany(specs: string[], o: AnalyzeOptions): Promise<void> {
  const rows = [];
  for (const spec of specs) {
    const model = resolveModel(spec);
    const { layers, ...cost } = analyzeGraph(model.graph, { batch: o.batch });
    const health = o.check ? await activationHealth(await prepareModel(model), { batch: o.batch }) : undefined;
    rows.push({
      model: model.spec,
      layers: layers.length,
      ...cost,
      ...(health
        ? { health: { healthy: isHealthy(health), minStd: health.minStd, maxStd: health.maxStd, maxSubnormalFraction: health.maxSubnormalFraction, nonFiniteLayers: health.nonFiniteLayers } }
        : {}),
    });
    if (!o.json && process.stderr.isTTY) process.stderr.write(`\ranalysed ${rows.length}/${specs.length}`);
  }
  if (!o.json && process.stderr.isTTY) process.stderr.write('\n');
  if (o.json) {
    printJson({ batch: o.batch, byteModel: BYTE_MODEL, models: rows });
    return;
  }
  const head = ['model', 'MACs', 'params', 'activations', 'FLOP/B'];
  if (o.check) head.push('act. std (min…max)', 'subnormal');
  const table = makeTable(head, ['left', 'right', 'right', 'right', 'right', 'right', 'right']);
  for (const r of rows) {
    const row = [r.model, formatCount(r.macs), formatCount(r.params), formatBytes(r.activationBytes), r.arithmeticIntensity.toFixed(2)];
    if (r.health) row.push(`${r.health.minStd.toPrecision(2)}…${r.health.maxStd.toPrecision(2)}`, `${(100 * r.health.maxSubnormalFraction).toFixed(2)}%`);
    table.push(row);
  }
  console.log(table.toString());
  console.log(`batch ${o.batch}; MACs count Conv and Gemm multiply-accumulates only; FLOP/B: ${BYTE_MODEL}.`);
  if (o.check) {
    const bad = rows.filter((r) => r.health && !r.health.healthy);
    console.log(bad.length === 0 ? 'All activations healthy: no NaN/Inf, no subnormal values.' : `UNHEALTHY activations in: ${bad.map((r) => r.model).join(', ')}`);
  }
}
