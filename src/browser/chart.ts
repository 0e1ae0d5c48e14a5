/**
 * The page's live latency-vs-depth chart, redrawn as each result arrives: a colour per design
 * pattern, a line per engine: the native framework dashed, as the report draws it.
 */

export interface ChartPoint {
  pattern: string;
  engine: string;
  native: boolean;
  depth: number;
  medianMs: number;
}

const COLORS = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#eeca3b', '#9d755d'];
const SVG_NS = 'http://www.w3.org/2000/svg';
const W = 640;
const H = 320;
const M = { left: 56, right: 170, top: 12, bottom: 40 };

export function drawChart(svg: SVGSVGElement, points: ChartPoint[]): void {
  svg.replaceChildren();
  const el = (name: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  };
  if (!points.length) {
    el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', fill: '#888' }, 'the first result draws the chart');
    return;
  }
  const depths = points.map((p) => p.depth);
  const [x0, x1] = [Math.min(...depths), Math.max(...depths)];
  const yMax = niceCeiling(Math.max(...points.map((p) => p.medianMs)));
  const x = (d: number) => M.left + (x1 === x0 ? 0.5 : (d - x0) / (x1 - x0)) * (W - M.left - M.right);
  const y = (ms: number) => H - M.bottom - (ms / yMax) * (H - M.top - M.bottom);
  el('line', { x1: M.left, y1: H - M.bottom, x2: W - M.right, y2: H - M.bottom, stroke: '#999' });
  el('line', { x1: M.left, y1: M.top, x2: M.left, y2: H - M.bottom, stroke: '#999' });
  for (const d of [...new Set(depths)].sort((a, b) => a - b)) el('text', { x: x(d), y: H - M.bottom + 16, 'text-anchor': 'middle', 'font-size': 11 }, String(d));
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    el('text', { x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11 }, String(Number(v.toPrecision(3))));
    el('line', { x1: M.left, y1: y(v), x2: W - M.right, y2: y(v), stroke: '#eee' });
  }
  el('text', { x: (M.left + W - M.right) / 2, y: H - 6, 'text-anchor': 'middle', 'font-size': 12 }, 'depth (blocks)');
  el('text', { x: 14, y: (M.top + H - M.bottom) / 2, 'text-anchor': 'middle', 'font-size': 12, transform: `rotate(-90 14 ${(M.top + H - M.bottom) / 2})` }, 'median latency, ms');
  const patterns = [...new Set(points.map((p) => p.pattern))];
  const engines = [...new Set(points.map((p) => p.engine))];
  const dash = (engine: string) => (points.find((p) => p.engine === engine)!.native ? '6 4' : 'none');
  for (const [i, pattern] of patterns.entries()) {
    const color = COLORS[i % COLORS.length]!;
    for (const engine of engines) {
      const line = points.filter((p) => p.pattern === pattern && p.engine === engine).sort((a, b) => a.depth - b.depth);
      if (!line.length) continue;
      el('polyline', { points: line.map((p) => `${x(p.depth)},${y(p.medianMs)}`).join(' '), fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-dasharray': dash(engine) });
      for (const p of line) el('circle', { cx: x(p.depth), cy: y(p.medianMs), r: 3, fill: color });
    }
    el('rect', { x: W - M.right + 12, y: M.top + 4 + i * 18, width: 12, height: 12, fill: color });
    el('text', { x: W - M.right + 30, y: M.top + 14 + i * 18, 'font-size': 12 }, pattern);
  }
  for (const [j, engine] of engines.entries()) {
    const ly = M.top + 14 + (patterns.length + 0.5 + j) * 18;
    el('line', { x1: W - M.right + 10, y1: ly - 4, x2: W - M.right + 26, y2: ly - 4, stroke: '#444', 'stroke-width': 2, 'stroke-dasharray': dash(engine) });
    el('text', { x: W - M.right + 30, y: ly, 'font-size': 12 }, engine);
  }
}

/** 1, 2 or 5 times a power of ten, at or above v. */
function niceCeiling(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v || 1));
  return [1, 2, 5, 10].map((m) => m * p).find((c) => c >= v) ?? 10 * p;
}
