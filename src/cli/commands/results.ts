import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { UserError } from '../../errors.js';
import { EXPORT_TABLES, ResultStore, type ExportTable } from '../../store/index.js';

const EXPORT_FORMATS = ['csv', 'parquet', 'json'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function registerResultsCommand(program: Command): void {
  program
    .command('results')
    .description('export the stored trials (or scenario runs) of a results folder for pandas, R or a spreadsheet')
    .argument('<dir>', 'results folder written by formbench study')
    .addOption(new Option('--format <format>', 'output format').choices([...EXPORT_FORMATS]).default('csv'))
    .addOption(new Option('--table <table>', 'trials, or scenarios: the load-scenario runs of scenario: sweeps').choices([...EXPORT_TABLES]).default('trials'))
    .option('-o, --output <file>', 'write to a file (default: stdout)')
    .action(resultsCommand);
}

/** `formbench results`: the stored trials or scenario runs as CSV, Parquet or JSON, to a file or stdout. */
async function resultsCommand(dir: string, o: { format: string; table: string; output?: string }): Promise<void> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(o.format)) throw new UserError(`unknown format '${o.format}'`, `use one of ${EXPORT_FORMATS.join(', ')}`);
  if (!(EXPORT_TABLES as readonly string[]).includes(o.table)) throw new UserError(`unknown table '${o.table}'`, `use one of ${EXPORT_TABLES.join(', ')}`);
  const table = o.table as ExportTable;
  const store = await ResultStore.openFolder(dir);
  try {
    if (o.output) {
      await store.exportTable(table, o.format as ExportFormat, resolve(o.output));
      return;
    }
    // DuckDB writes files; stdout gets the file's bytes.
    const tmp = mkdtempSync(join(tmpdir(), 'formbench-results-'));
    try {
      const file = join(tmp, `${table}.${o.format}`);
      await store.exportTable(table, o.format as ExportFormat, file);
      process.stdout.write(readFileSync(file));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  } finally {
    store.close();
  }
}
