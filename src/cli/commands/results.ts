import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { UserError } from '../../errors.js';
import { EXPORT_TABLES, ResultStore, STORE_FILE, type ExportTable } from '../../store/index.js';

const EXPORT_FORMATS = ['csv', 'parquet', 'json', 'duckdb'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function registerResultsCommand(program: Command): void {
  program
    .command('results')
    .description('export the stored trials (or scenario runs) of a results folder for pandas, R or a spreadsheet')
    .argument('[dir]', 'results folder written by formbench study (none with --fleet)')
    .addOption(new Option('--format <format>', 'output format').choices([...EXPORT_FORMATS]).default('csv'))
    .addOption(new Option('--table <table>', 'trials, or scenarios: the load-scenario runs of scenario: sweeps').choices([...EXPORT_TABLES]).default('trials'))
    .option('-o, --output <file>', 'write to a file (default: stdout)')
    .option('--fleet <url>', "export a fleet's PostgreSQL store (postgres://…) instead of a results folder")
    .action(resultsCommand);
}

/** `formbench results`: the stored trials or scenario runs as CSV, Parquet or JSON, to a file or stdout. */
async function resultsCommand(dir: string | undefined, o: { format: string; table: string; output?: string; fleet?: string }): Promise<void> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(o.format)) throw new UserError(`unknown format '${o.format}'`, `use one of ${EXPORT_FORMATS.join(', ')}`);
  if (!(EXPORT_TABLES as readonly string[]).includes(o.table)) throw new UserError(`unknown table '${o.table}'`, `use one of ${EXPORT_TABLES.join(', ')}`);
  const table = o.table as ExportTable;
  if (o.fleet) {
    if (dir !== undefined) throw new UserError(`give a results folder or --fleet, not both ('${dir}')`, 'formbench results --fleet postgres://… --format duckdb|parquet|csv -o FILE');
    return (await import('../fleet-snapshot.js')).withFleetSnapshot(o.fleet, (folder) => resultsCommand(folder, { ...o, fleet: undefined }));
  }
  if (dir === undefined) throw new UserError('no results folder given', "give the folder a study wrote, or --fleet postgres://… for a fleet's store");
  if (o.format === 'duckdb') {
    // The store itself is the DuckDB export: every table, as formbench reads it.
    const store = await ResultStore.openFolder(dir);
    store.close();
    if (o.output) copyFileSync(join(dir, STORE_FILE), resolve(o.output));
    else process.stdout.write(readFileSync(join(dir, STORE_FILE)));
    return;
  }
  const store = await ResultStore.openFolder(dir);
  try {
    if (o.output) {
      await store.exportTable(table, o.format as Exclude<ExportFormat, 'duckdb'>, resolve(o.output));
      return;
    }
    // DuckDB writes files; stdout gets the file's bytes.
    const tmp = mkdtempSync(join(tmpdir(), 'formbench-results-'));
    try {
      const file = join(tmp, `${table}.${o.format}`);
      await store.exportTable(table, o.format as Exclude<ExportFormat, 'duckdb'>, file);
      process.stdout.write(readFileSync(file));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  } finally {
    store.close();
  }
}
