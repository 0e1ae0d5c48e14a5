import type { Command } from 'commander';
import { analyzeGraph } from '../../analysis/index.js';
import { buildZooModel, DEFAULT_KNOBS, DEFAULT_RESOLUTION, PATTERNS, REFERENCE_NETWORKS } from '../../zoo/index.js';
import { formatCount, makeTable, printJson } from '../format.js';

const BLOCKS: Record<(typeof PATTERNS)[number], { block: string; knobs: string }> = {
  standard: { block: 'Conv3×3 + BN + ReLU', knobs: '' },
  factorized: { block: 'Conv3×1 + BN + ReLU, Conv1×3 + BN + ReLU', knobs: '' },
  bottleneck: { block: '1×1 C→C/r, 3×3, 1×1 C/r→C, + input, ReLU', knobs: `reduction=${DEFAULT_KNOBS.reduction}` },
  'depthwise-separable': { block: 'DW3×3 + BN + ReLU, 1×1 + BN + ReLU', knobs: '' },
  'depthwise-bottleneck': { block: '1×1 C→eC + ReLU6, DW3×3 + ReLU6, 1×1 eC→C, + input', knobs: `expansion=${DEFAULT_KNOBS.expansion}` },
  grouped: { block: 'Conv3×3, groups = C/g, + BN + ReLU', knobs: `group-width=${DEFAULT_KNOBS.groupWidth}` },
};

export function registerModelsCommand(program: Command): void {
  program
    .command('models')
    .description('list the model zoo (design patterns, spec syntax)')
    .option('--json', 'machine-readable output')
    .action(modelsCommand);
}

/** `formbench models`: the design patterns and the reference networks, with their static cost. */
function modelsCommand(options: { json?: boolean }): void {
  const patterns = PATTERNS.map((p) => ({ pattern: p, example: `${p}/d10/w64`, ...BLOCKS[p] }));
  const networks = REFERENCE_NETWORKS.map((n) => {
    const cost = analyzeGraph(buildZooModel(n.name).graph, { batch: 1 });
    return {
      name: n.name,
      description: n.description,
      resolution: n.resolution,
      patterns: n.patterns,
      params: cost.params,
      macs: cost.macs,
      reference: n.reference,
      ...(n.note ? { note: n.note } : {}),
    };
  });
  if (options.json) {
    printJson({ patterns, defaultResolution: DEFAULT_RESOLUTION, defaultKnobs: DEFAULT_KNOBS, networks });
    return;
  }
  const table = makeTable(['pattern', 'block (width C)', 'knobs (default)', 'example spec']);
  for (const r of patterns) table.push([r.pattern, r.block, r.knobs || '-', r.example]);
  console.log(table.toString());
  console.log(`Spec: <pattern>/d<depth>/w<width>[/r<resolution>][/<knob>=<n>]; resolution ${DEFAULT_RESOLUTION} by default; seed=<n> sets the weights' seed.`);
  console.log('Every network: stem Conv3×3/2 + BN + ReLU, MaxPool 3×3/2, <depth> blocks, GlobalAveragePool, Gemm → 1000.\n');

  const refs = makeTable(['network', 'input', 'params', 'MACs', 'reference (params, MACs)', 'made of'], ['left', 'right', 'right', 'right', 'left', 'left']);
  for (const n of networks) {
    refs.push([n.name, `${n.resolution}²`, n.params.toLocaleString('en-US'), formatCount(n.macs), `${n.reference.params.toLocaleString('en-US')}, ${formatCount(n.reference.macs)} (${n.reference.source})`, n.patterns.join(', ')]);
  }
  console.log(refs.toString());
  console.log('Spec: <network>[/r<resolution>][/seed=<n>]. Parameters count BN weight and bias, not running statistics; MACs are Conv + Linear at batch 1.');
  for (const n of networks) if (n.note) console.log(`${n.name}: ${n.note}`);
  console.log('Any path ending in .onnx is a model spec too.');
}
