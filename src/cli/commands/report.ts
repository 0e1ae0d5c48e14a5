import type { Command } from 'commander';
import { writeReport } from '../../report/index.js';
import { ResultStore } from '../../store/index.js';

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('write report.html, figures (SVG, PNG) and tables (CSV, Markdown) from a results folder')
    .argument('<dir>', 'results folder written by formbench study (with --fleet: the folder to write the report to)')
    .option('--fleet <url>', "report a fleet's PostgreSQL store (postgres://…): one machine class, or one machine of an each study, per fingerprint")
    .option('--baseline <engine>', 'engine the speed-ups are relative to (default: the first native framework)')
    .action(reportCommand);
}

/** `formbench report`: (re)writes the report of a results folder from its store. */
async function reportCommand(dir: string, o: { baseline?: string; fleet?: string }): Promise<void> {
  if (o.fleet) return (await import('../fleet-snapshot.js')).withFleetSnapshot(o.fleet, (folder) => writeFrom(folder, dir, o));
  return writeFrom(dir, dir, o);
}

async function writeFrom(storeDir: string, dir: string, o: { baseline?: string }): Promise<void> {
  const store = await ResultStore.openFolder(storeDir);
  try {
    const report = await writeReport(store, dir, o.baseline ? { baseline: o.baseline, baselineRequired: true } : {});
    for (const f of report.findings) process.stdout.write(`- ${f.text}\n`);
    if (report.warning) process.stderr.write(`warning: ${report.warning}\n`);
    if (report.softwareGpuNotice) process.stderr.write(`note: ${report.softwareGpuNotice}\n`);
    for (const w of report.lifecycleWarnings) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write(`report: ${report.htmlPath}\n`);
  } finally {
    store.close();
  }
}
