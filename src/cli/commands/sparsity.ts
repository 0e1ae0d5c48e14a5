import type { Command } from 'commander';
import { checkOutputPath, writeAtomically } from '../write-file.js';
import { prepareModel, resolveModel } from '../../model/index.js';
import { sparsityFigureSvg } from '../../report/sparsity-figure.js';
import { activationSparsity, folderImages, imageInputOf, randomImages } from '../../weights/sparsity.js';
import { formatCount, makeTable, printJson } from '../format.js';
import { batchSize, positiveInt } from '../options.js';

const DEFAULT_RANDOM_INPUTS = 8;

interface SparsityFlags {
  inputs?: number;
  images?: string;
  batch: number;
  seed: number;
  json?: boolean;
  figure?: string;
}

export function registerSparsityCommand(program: Command): void {
  program
    .command('sparsity')
    .description('fraction of exact zeros each activation layer outputs (dynamic activation sparsity), counted inside onnxruntime')
    .argument('<spec>', 'model spec, .onnx file, TF.js model.json or nsfwjs:<model>')
    .option('--inputs <n>', `number of inputs (default ${DEFAULT_RANDOM_INPUTS} random images, or every image of --images)`, positiveInt)
    .option('--images <dir>', 'use the images in this folder instead of random ones')
    .option('--batch <n>', 'inputs per onnxruntime run', batchSize, 1)
    .option('--seed <n>', 'seed of the random images', (v: string) => Number.parseInt(v, 10), 1)
    .option('--json', 'machine-readable output')
    .option('--figure <file.svg>', 'write a bar chart of the zero fraction per layer')
    .action(sparsityCommand);
}

async function sparsityCommand(spec: string, o: SparsityFlags): Promise<void> {
  if (o.figure) checkOutputPath(o.figure);
  const startMs = performance.now();
  const model = resolveModel(spec);
  const graph = await prepareModel(model);
  const input = imageInputOf(graph);
  const source = o.images ? await folderImages(o.images, input, o.inputs) : randomImages(input, o.inputs ?? DEFAULT_RANDOM_INPUTS, o.seed);
  const report = await activationSparsity(graph, source, { batch: o.batch });
  const wallMs = performance.now() - startMs;
  if (o.figure) writeAtomically(o.figure, await sparsityFigureSvg(model.spec, source.description, report));
  if (o.json) {
    printJson({ model: model.spec, source: model.source, inputSource: source.description, wallMs: Math.round(wallMs), ...report });
    return;
  }
  const pct = (f: number) => `${(100 * f).toFixed(1)}%`;
  const table = makeTable(['layer', 'op', 'elements', 'zeros', 'min', 'max'], ['left', 'left', 'right', 'right', 'right', 'right']);
  for (const l of report.layers) table.push([l.name, l.op, formatCount(l.elementsPerInput), pct(l.zeroFraction), pct(l.min), pct(l.max)]);
  console.log(table.toString());
  console.log(
    `${model.spec}: ${pct(report.overall.zeroFraction)} of all activation values are exactly zero ` +
      `(per input ${pct(report.overall.min)}…${pct(report.overall.max)}); ${source.description}; ` +
      `${report.layers.length} activation layers, onnxruntime CPU, ${(wallMs / 1000).toFixed(1)} s`,
  );
  if (o.figure) console.log(`figure: ${o.figure}`);
}
