import type { Command } from 'commander';
import { prepareModel, resolveModel } from '../../model/index.js';
import { activationHealth, HEALTHY_STD_RANGE, isHealthy } from '../../weights/index.js';
import { makeTable, printJson } from '../format.js';
import { batchSize } from '../options.js';

export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('run a model once and report each layer\'s activation std and subnormal fraction')
    .argument('<spec>', 'model spec or .onnx file')
    .option('--batch <n>', 'batch size', batchSize, 1)
    .option('--json', 'machine-readable output')
    .action(async (spec: string, options: { batch: number; json?: boolean }) => {
      if (!(await checkCommand(spec, options))) process.exitCode = 1;
    });
}

/** `formbench check`: per-layer activation scale and subnormal fraction of a model run once; true if healthy. */
async function checkCommand(spec: string, o: { batch: number; json?: boolean }): Promise<boolean> {
  const model = resolveModel(spec);
  const report = await activationHealth(await prepareModel(model), { batch: o.batch });
  const healthy = isHealthy(report);
  if (o.json) {
    printJson({ model: model.spec, healthy, healthyStdRange: HEALTHY_STD_RANGE, ...report });
    return healthy;
  }
  const table = makeTable(['layer', 'op', 'mean', 'std', 'subnormal', 'NaN/Inf']);
  for (const l of report.layers) {
    table.push([l.name, l.op, l.mean.toPrecision(3), l.std.toPrecision(3), `${(100 * l.subnormalFraction).toFixed(3)}%`, l.nonFinite ? 'yes' : 'no']);
  }
  console.log(table.toString());
  console.log(
    `${model.spec}: ${healthy ? 'healthy' : 'UNHEALTHY'} (seeded N(0,1) input, batch ${report.batch}, onnxruntime CPU); ` +
      `healthy = no NaN/Inf, no subnormals, every layer's std within ${HEALTHY_STD_RANGE[0]}…${HEALTHY_STD_RANGE[1]}`,
  );
  return healthy;
}
