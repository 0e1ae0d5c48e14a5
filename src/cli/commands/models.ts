import { DEFAULT_KNOBS, DEFAULT_RESOLUTION, PATTERNS } from '../../zoo/index.js';
import { makeTable, printJson } from '../format.js';

const BLOCKS: Record<(typeof PATTERNS)[number], { block: string; knobs: string }> = {
  standard: { block: 'Conv3×3 + BN + ReLU', knobs: '' },
  factorized: { block: 'Conv3×1 + BN + ReLU, Conv1×3 + BN + ReLU', knobs: '' },
  bottleneck: { block: '1×1 C→C/r, 3×3, 1×1 C/r→C, + input, ReLU', knobs: `reduction=${DEFAULT_KNOBS.reduction}` },
  'depthwise-separable': { block: 'DW3×3 + BN + ReLU, 1×1 + BN + ReLU', knobs: '' },
  'depthwise-bottleneck': { block: '1×1 C→eC + ReLU6, DW3×3 + ReLU6, 1×1 eC→C, + input', knobs: `expansion=${DEFAULT_KNOBS.expansion}` },
  grouped: { block: 'Conv3×3, groups = C/g, + BN + ReLU', knobs: `group-width=${DEFAULT_KNOBS.groupWidth}` },
};

export function modelsCommand(options: { json?: boolean }): void {
  const rows = PATTERNS.map((p) => ({ pattern: p, example: `${p}/d10/w64`, ...BLOCKS[p] }));
  if (options.json) {
    printJson({ patterns: rows, defaultResolution: DEFAULT_RESOLUTION, defaultKnobs: DEFAULT_KNOBS });
    return;
  }
  const table = makeTable(['pattern', 'block (width C)', 'knobs (default)', 'example spec']);
  for (const r of rows) table.push([r.pattern, r.block, r.knobs || '-', r.example]);
  console.log(table.toString());
  console.log(`Spec: <pattern>/d<depth>/w<width>[/r<resolution>][/<knob>=<n>]; resolution ${DEFAULT_RESOLUTION} by default; seed=<n> sets the weights' seed.`);
  console.log('Every network: stem Conv3×3/2 + BN + ReLU, MaxPool 3×3/2, <depth> blocks, GlobalAveragePool, Gemm → 1000.');
  console.log('Any path ending in .onnx is a model spec too.');
}
