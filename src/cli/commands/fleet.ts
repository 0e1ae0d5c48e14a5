import type { Command } from 'commander';
import type { FleetStatus } from '../../fleet/index.js';
import { fleetUrlOption } from '../fleet-options.js';
import { duration } from '../progress.js';

export function registerFleetCommand(program: Command): void {
  const fleet = program.command('fleet').description('a fleet of machines sharing studies on PostgreSQL (see `formbench worker`)');
  fleet
    .command('status')
    .description('machines, and per study and machine class the trials done, pending, running and failed, with the ETA')
    .addOption(fleetUrlOption())
    .option('--json', 'machine-readable')
    .action(statusCommand);
}

async function statusCommand(o: { fleet: string; json?: boolean }): Promise<void> {
  const { fleetStatus, FleetStore, parseFleetUrl } = await import('../../fleet/index.js');
  const store = await FleetStore.open(parseFleetUrl(o.fleet));
  try {
    const status = await fleetStatus(store);
    const studies = await store.studies();
    if (o.json) {
      process.stdout.write(JSON.stringify({ ...status, studies: studies.map((s) => ({ name: s.name, generation: s.generation, mode: s.mode, trials: s.trials.length })) }) + '\n');
      return;
    }
    process.stdout.write(statusLines(status, studies).join('\n') + '\n');
  } finally {
    await store.close();
  }
}

function statusLines(s: FleetStatus, studies: { name: string; generation: number; mode: string; trials: unknown[] }[]): string[] {
  const lines = [`machines (${s.machines.filter((m) => m.live).length} live of ${s.machines.length}):`];
  for (const m of s.machines) lines.push(`  ${m.name}: ${m.className}; ${m.live ? (m.doing ? `running ${m.doing}` : 'waiting for trials') : m.doing === 'left' ? 'left' : `not heard from since ${m.lastSeen.toISOString()}`}`);
  lines.push('studies:');
  for (const study of studies) {
    const units = s.units.filter((u) => u.study === study.name && u.generation === study.generation);
    lines.push(`  ${study.name} (${study.mode}, submission ${study.generation}): ${study.trials.length} trials per ${study.mode === 'split' ? 'machine class' : 'machine'}${units.length ? '' : '; no worker has taken it yet'}`);
    for (const u of units) {
      const eta = u.etaSeconds !== undefined ? `ETA ${duration(u.etaSeconds)} on ${u.liveMachines} machine${u.liveMachines > 1 ? 's' : ''}` : 'no live machine';
      lines.push(`    ${u.label} [${u.unit}]: ${u.done} done, ${u.pending} pending, ${u.running} running, ${u.failed} failed${u.fidelityChecks ? `; fidelity checks ${u.fidelityDone} of ${u.fidelityChecks}` : ''}; ${u.done + u.failed === u.trials && u.fidelityDone === u.fidelityChecks ? 'finished' : eta}`);
    }
  }
  if (s.refused.length) {
    lines.push(`refused jobs (${s.refused.length}):`);
    for (const r of s.refused.slice(-5)) lines.push(`  ${r.jobId} by ${r.worker}: ${r.reason}`);
  }
  return lines;
}
