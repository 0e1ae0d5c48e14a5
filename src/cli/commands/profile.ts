import type { Command } from 'commander';
import { checkOutputPath, writeAtomically } from '../write-file.js';
import { availabilityOf, describeAdapter, parseEngineChoice, type GpuAdapter } from '../../engines/index.js';
import { INPUT_SEED, GAP_TOLERANCE, profileModel, SOFTWARE_LIMITED_MIN_SHARE, SOFTWARE_LIMITED_RATIO, withRoofline, measureMachinePeaks, type ProfileGroup, type ProfileReport } from '../../measure/index.js';
import { rooflineFigureSvg } from '../../report/profile-figure.js';
import { formatCount, makeTable, printJson } from '../format.js';
import { batchSize, positiveInt } from '../options.js';

export interface ProfileCommandOptions {
  engine: string;
  batch: number;
  runs: number;
  top: number;
  roofline?: boolean;
  figure?: string;
  json?: boolean;
}

export function registerProfileCommand(program: Command): void {
  program
    .command('profile')
    .description('time each layer, operator type and block on one engine, beside its share of the MACs; optionally under the machine\'s roofline')
    .argument('<spec>', 'model spec or .onnx file')
    .option('--engine <engine>', 'engine with options, e.g. ort:opt=disabled', 'ort')
    .option('--batch <n>', 'batch size', batchSize, 1)
    .option('--runs <n>', 'profiled runs per layer (after one unrecorded)', positiveInt, 10)
    .option('--top <n>', 'layers shown in the table (JSON has all)', positiveInt, 15)
    .option('--roofline', 'measure this machine\'s peak GFLOP/s and bandwidth and place each layer under the roofline')
    .option('--figure <file.svg>', 'write a roofline figure (implies --roofline)')
    .option('--json', 'machine-readable output')
    .action(profileCommand);
}

/** `formbench profile`: where one engine spends an inference, and which layers are slower than their MACs. */
export async function profileCommand(spec: string, o: ProfileCommandOptions): Promise<void> {
  // Before the profile and the peaks (seconds of work): a bad figure path fails at once.
  if (o.figure) checkOutputPath(o.figure);
  const choice = parseEngineChoice(o.engine);
  let report = await profileModel(spec, choice, { batch: o.batch, runs: o.runs, inputSeed: INPUT_SEED });
  if (o.roofline || o.figure) report = withRoofline(report, await measureMachinePeaks());
  if (o.figure) writeAtomically(o.figure, await rooflineFigureSvg(report, report.peaks!));
  // A GPU profile says which adapter made it; on a software one its times are the CPU's.
  const availability = await availabilityOf(choice.engine);
  const gpu = availability.available ? availability.gpu : undefined;
  if (o.json) {
    printJson(gpu ? { ...report, gpu } : report);
    return;
  }
  printReport(report, o.top, gpu);
  if (o.figure) console.log(`Roofline figure written to ${o.figure}`);
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

function printReport(r: ProfileReport, top: number, gpu: GpuAdapter | undefined): void {
  console.log(`${r.model} on ${r.engine}${gpu?.software ? ' (software GPU)' : ''} (${r.engineVersion}), batch ${r.batch}: ${r.layers.length} timed units, ${formatCount(r.macs)} MACs`);
  if (gpu) console.log(`GPU adapter: ${describeAdapter(gpu)}${gpu.software ? ': a CPU implementation of the GPU API, so these times show where the emulation spends, not a GPU' : ''}${r.peaks ? '; the roofline is the CPU\'s' : ''}`);
  console.log(`How: ${r.method}`);
  const withRoof = r.peaks !== undefined;
  const head = ['layer', 'op type', 'block', 'ms', 'time share', 'MACs', 'MAC share', 'GFLOP/s', ...(withRoof ? ['FLOP/B', 'of roof (bound)'] : []), 'flag'];
  const table = makeTable(head, ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', ...(withRoof ? (['right', 'right'] as const) : []), 'left']);
  for (const l of r.layers.slice(0, top)) {
    const fused = l.nodes.length > 1 ? ` (+${l.nodes.length - 1} fused)` : '';
    table.push([
      `${l.name}${fused}`,
      l.opType,
      l.block ?? '',
      l.ms.toFixed(3),
      pct(l.share),
      l.macs ? formatCount(l.macs) : '-',
      l.macs ? pct(l.macShare) : '-',
      l.macs ? l.achievedGflops.toFixed(1) : '-',
      ...(withRoof ? [l.macs ? l.arithmeticIntensity.toFixed(1) : '-', l.rooflineFraction !== undefined ? `${pct(l.rooflineFraction)} (${l.rooflineLevel})` : '-'] : []),
      l.softwareLimited ? 'software-limited' : '',
    ]);
  }
  console.log(`\nSlowest ${Math.min(top, r.layers.length)} of ${r.layers.length} layers`);
  console.log(table.toString());
  printGroups('By operator type', r.byOpType);
  if (r.byBlock.some((g) => g.key !== '(none)' && g.key !== 'layout conversion')) printGroups('By block', r.byBlock);

  const gap = `${r.gapMs >= 0 ? '+' : ''}${r.gapMs.toFixed(3)} ms (${pct(r.gapFraction)})`;
  console.log(`\nSum of layer times ${r.totalLayerMs.toFixed(3)} ms vs unprofiled median ${r.unprofiledMedianMs.toFixed(3)} ms (${r.unprofiledRuns} runs, same worker): gap ${gap}.`);
  console.log(`Profiling overhead: an inference with the profiler on takes ${r.profiledRunMedianMs.toFixed(3)} ms (median of ${r.runs}), ${pct(r.profilingOverhead)} over unprofiled.`);
  if (!r.withinTolerance) {
    console.log(
      `Warning: layer times do not sum to within ${pct(GAP_TOLERANCE)} of the unprofiled median; shares are of the profiled total. ` +
        (r.gapMs > 0
          ? 'Time outside the layers is framework overhead between kernels or copying in and out.'
          : 'The profiler inflated the layers (its own overhead per layer), or other processes did: re-run on a quiet system to tell which.'),
    );
  }
  const limited = r.layers.filter((l) => l.softwareLimited);
  if (limited.length) {
    console.log(`${limited.length} software-limited layer(s): ≥ ${pct(SOFTWARE_LIMITED_MIN_SHARE)} of the time and ≥ ${SOFTWARE_LIMITED_RATIO}× their MAC share (or no MACs at all).`);
  }
  if (r.unattributedNodes.length) console.log(`IR nodes no timed unit accounts for: ${r.unattributedNodes.join(', ')}`);
  if (r.peaks) {
    const caches = (r.peaks.caches ?? []).map((c) => `, ${c.level} ${c.bandwidthGBs.toFixed(1)} GB/s`).join('');
    console.log(`Roofline: peak ${r.peaks.peakGflops.toFixed(1)} GFLOP/s, DRAM ${r.peaks.bandwidthGBs.toFixed(1)} GB/s${caches}; a layer is held to the roof of the smallest level its working set fits in.`);
    console.log(`  (${r.peaks.method})`);
    const best = r.layers.filter((l) => l.rooflineFraction !== undefined).sort((a, b) => b.rooflineFraction! - a.rooflineFraction!)[0];
    if (best) console.log(`Closest to its roof: ${best.name} at ${pct(best.rooflineFraction!)} of its ${best.rooflineLevel} roof (${best.achievedGflops.toFixed(1)} GFLOP/s).`);
  }
}

function printGroups(title: string, groups: ProfileGroup[]): void {
  const table = makeTable([title.replace(/^By /, ''), 'layers', 'ms', 'time share', 'MAC share', 'time ÷ MAC share'], ['left', 'right', 'right', 'right', 'right', 'right']);
  for (const g of groups) {
    table.push([g.key, g.count, g.ms.toFixed(3), pct(g.share), g.macs ? pct(g.macShare) : '-', g.macShare > 0 ? (g.share / g.macShare).toFixed(2) : '-']);
  }
  console.log(`\n${title}`);
  console.log(table.toString());
}
