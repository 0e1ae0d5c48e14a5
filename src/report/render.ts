/**
 * Rendering a Vega-Lite figure to SVG (no browser, no canvas: Vega's headless SVG renderer) and
 * to PNG (resvg with the system's fonts), so figures are files that open anywhere offline.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type FigureSpec = TopLevelSpec;

/** A consistent look for every figure: white background, readable fonts. */
const FIGURE_CONFIG = {
  background: 'white',
  font: 'DejaVu Sans, Liberation Sans, Arial, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 0 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const, subtitleFontSize: 11, subtitleColor: '#555' },
};

/**
 * Vega-Lite's logger, less one warning: facets with independent x scales over layered marks
 * (the precision bars and their interval rules) make it warn that it unions the layers' domains
 * as if from one source, which they are. Every other warning still reaches stderr.
 */
function compileLogger(): ReturnType<typeof vega.logger> {
  const logger = vega.logger(vega.Warn);
  const warn = logger.warn.bind(logger);
  logger.warn = (...args: readonly unknown[]) => (String(args[0]).includes('union domain of the same fields') ? logger : warn(...args));
  return logger;
}

export async function renderSvg(spec: FigureSpec): Promise<string> {
  const withConfig = { ...spec, config: { ...FIGURE_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(withConfig, { logger: compileLogger() }).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG at twice the SVG's size, so text stays sharp on high-density screens. */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font: { loadSystemFonts: true } });
  return resvg.render().asPng();
}
