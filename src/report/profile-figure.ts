/**
 * The roofline figure of a profile as a Vega-Lite spec: log-log, arithmetic intensity against
 * achieved GFLOP/s, one point per MAC-doing layer (coloured by operator type), under the
 * machine's two roofs (bandwidth-bound slope, compute-bound flat), and rendered as SVG.
 */
import type { TopLevelSpec } from 'vega-lite';
import { rooflineBoundGflops, type ProfileReport, type MachinePeaks } from '../measure/index.js';
import { renderSvg } from './render.js';

/** The roofline figure as an SVG document. */
export async function rooflineFigureSvg(report: ProfileReport, peaks: MachinePeaks): Promise<string> {
  return renderSvg(rooflineFigureSpec(report, peaks));
}

export function rooflineFigureSpec(report: ProfileReport, peaks: MachinePeaks): TopLevelSpec {
  const points = report.layers
    .filter((l) => l.macs > 0 && l.arithmeticIntensity > 0 && l.ms > 0)
    .map((l) => ({
      layer: l.name,
      opType: l.opType,
      intensity: l.arithmeticIntensity,
      gflops: l.achievedGflops,
      ms: l.ms,
      roof: l.rooflineLevel ?? '',
      fraction: l.rooflineFraction ?? l.achievedGflops / rooflineBoundGflops(l.arithmeticIntensity, peaks),
      softwareLimited: l.softwareLimited ? 'software-limited' : 'other',
    }));
  const memories = [{ level: 'DRAM', bandwidthGBs: peaks.bandwidthGBs }, ...(peaks.caches ?? [])];
  const ridges = memories.map((m) => peaks.peakGflops / m.bandwidthGBs);
  const intensities = points.map((p) => p.intensity);
  const xMin = 2 ** Math.floor(Math.log2(Math.min(...ridges, ...intensities) / 2));
  const xMax = 2 ** Math.ceil(Math.log2(Math.max(...ridges, ...intensities) * 2));
  // One polyline per memory level: its slope up to its ridge point, then the compute roof.
  const roofs = memories.flatMap((m, i) =>
    [xMin, ridges[i]!, xMax].map((x) => ({ memory: m.level, intensity: x, gflops: rooflineBoundGflops(x, { peakGflops: peaks.peakGflops, bandwidthGBs: m.bandwidthGBs }) })),
  );
  const peakLabel = [{ intensity: xMax, gflops: peaks.peakGflops, text: `peak ${peaks.peakGflops.toFixed(0)} GFLOP/s` }];
  const slopeLabels = memories.map((m) => ({ intensity: xMin, gflops: xMin * m.bandwidthGBs, text: `${m.level} ${m.bandwidthGBs.toFixed(1)} GB/s` }));
  const x = { field: 'intensity', type: 'quantitative' as const, scale: { type: 'log' as const, domain: [xMin, xMax] }, title: 'arithmetic intensity (FLOP/byte)' };
  const y = { field: 'gflops', type: 'quantitative' as const, scale: { type: 'log' as const }, title: 'achieved GFLOP/s (2·MACs / time)' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: `Roofline: ${report.model} on ${report.engine}, batch ${report.batch}`,
      subtitle: `${points.length} MAC-doing layers under roofs measured on this machine (ORT MatMul and streaming Adds)`,
    },
    width: 560,
    height: 380,
    layer: [
      {
        data: { values: roofs },
        mark: { type: 'line', color: '#444', strokeWidth: 1.5 },
        encoding: { x, y, detail: { field: 'memory', type: 'nominal' }, strokeDash: { field: 'memory', type: 'nominal', legend: null } },
      },
      ...[
        { values: peakLabel, align: 'right' as const },
        { values: slopeLabels, align: 'left' as const },
      ].map(({ values, align }) => ({
        data: { values },
        mark: { type: 'text' as const, align, baseline: 'bottom' as const, dy: -4, color: '#444' },
        encoding: { x, y, text: { field: 'text', type: 'nominal' as const } },
      })),
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 60, opacity: 0.8 },
        encoding: {
          x,
          y,
          color: { field: 'opType', type: 'nominal', title: 'operator' },
          shape: { field: 'softwareLimited', type: 'nominal', title: 'time ≫ MAC share', scale: { domain: ['other', 'software-limited'], range: ['circle', 'triangle-up'] } },
          tooltip: [
            { field: 'layer', type: 'nominal' },
            { field: 'ms', type: 'quantitative', format: '.3f' },
            { field: 'gflops', type: 'quantitative', format: '.1f' },
            { field: 'roof', type: 'nominal' },
            { field: 'fraction', type: 'quantitative', format: '.0%' },
          ],
        },
      },
    ],
  } as TopLevelSpec;
}
