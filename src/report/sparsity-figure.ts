/**
 * The activation-sparsity figure of a model as a Vega-Lite spec: the fraction of exact zeros
 * each activation layer outputs, in graph order, and rendered as SVG.
 */
import type { SparsityReport } from '../weights/sparsity.js';
import { renderSvg, type FigureSpec } from './render.js';

/** The sparsity figure as an SVG document. */
export async function sparsityFigureSvg(spec: string, inputs: string, report: SparsityReport): Promise<string> {
  return renderSvg(sparsityFigure(spec, inputs, report));
}

/** Bars: mean zero fraction per layer in graph order; rules: its range over the inputs. */
export function sparsityFigure(spec: string, inputs: string, report: SparsityReport): FigureSpec {
  const values = report.layers.map((l, i) => ({ index: i + 1, layer: shortName(l.name), op: l.op === 'Clip' ? 'Clip (ReLU6)' : l.op, zeroFraction: l.zeroFraction, min: l.min, max: l.max }));
  const x = { field: 'index', type: 'ordinal' as const, title: 'activation layer (graph order)', axis: { labelExpr: "datum.value % 5 === 0 ? datum.value : ''" } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: `Activation sparsity of ${spec}: ${(100 * report.overall.zeroFraction).toFixed(1)}% zeros overall`, subtitle: inputs },
    width: Math.max(360, 9 * values.length),
    height: 240,
    data: { values },
    layer: [
      {
        mark: 'bar',
        encoding: {
          x,
          y: { field: 'zeroFraction', type: 'quantitative', title: 'fraction of exact zeros', scale: { domain: [0, 1] }, axis: { format: '%' } },
          color: { field: 'op', type: 'nominal', title: 'operator' },
          tooltip: [{ field: 'layer' }, { field: 'zeroFraction', format: '.3f' }],
        },
      },
      { mark: { type: 'rule', color: '#333' }, encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
    ],
  } as FigureSpec;
}

/** TF graph names are long paths; the last two parts name the layer well enough on a chart. */
function shortName(name: string): string {
  return name.split('/').slice(-2).join('/');
}
