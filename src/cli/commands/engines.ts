import type { Command } from 'commander';
import { availabilityOf, cpuInfo, describeAdapter, ENGINES } from '../../engines/index.js';
import { makeTable, printJson } from '../format.js';

export function registerEnginesCommand(program: Command): void {
  program
    .command('engines')
    .description('list the engines, whether each can run here (and why not), and the CPU\'s ISA features')
    .option('--json', 'machine-readable output')
    .action(enginesCommand);
}

/** `formbench engines`: every engine, whether it can run here and why not, and the CPU's ISA. */
async function enginesCommand(options: { json?: boolean }): Promise<void> {
  const cpu = cpuInfo();
  const engines = await Promise.all(
    ENGINES.map(async (e) => ({
      name: e.name,
      role: e.role,
      description: e.description,
      ...(await availabilityOf(e)),
      options: Object.fromEntries(Object.entries(e.options).map(([k, o]) => [k, { description: o.description, default: o.defaultValue(), ...(o.values ? { values: o.values } : {}) }])),
    })),
  );
  if (options.json) {
    printJson({ cpu, node: process.version, engines: engines.map((e) => (e.available && e.gpu ? { ...e, adapter: describeAdapter(e.gpu) } : e)) });
    return;
  }
  console.log(`CPU: ${cpu.model}, ${cpu.logicalCores} logical cores; ISA: ${cpu.isa.join(', ') || 'none detected'} (${cpu.source})`);
  const table = makeTable(['engine', 'role', 'available', 'version / reason', 'options (default)']);
  for (const e of engines) {
    const opts = Object.entries(e.options).map(([k, o]) => `${k}=${o.default}${o.values ? ` (${o.values.join('|')})` : ''}`).join(', ');
    // A GPU engine's version says the adapter it runs on, and whether that is a GPU at all.
    const version = e.available ? (e.gpu ? `${e.version} on ${describeAdapter(e.gpu)}` : e.version) : e.reason;
    table.push([e.name, e.role, e.available ? 'yes' : 'no', version, opts]);
  }
  console.log(table.toString());
  // What a native baseline ran with decides its speed: say it (BLAS, threads) for every engine that tells.
  for (const e of engines) {
    if (!e.available || !e.details) continue;
    for (const key of ['blas', 'threading'] as const) if (e.details[key]) console.log(`${e.name} ${key}: ${e.details[key]}`);
  }
}
