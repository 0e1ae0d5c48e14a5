import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../../errors.js';
import { writeReport } from '../../report/index.js';
import { ResultStore } from '../../store/index.js';

export const EXPORT_FORMATS = ['csv', 'parquet', 'json'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** `formbench results`: the stored trials as CSV, Parquet or JSON, to a file or stdout. */
export async function resultsCommand(dir: string, o: { format: string; output?: string }): Promise<void> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(o.format)) throw new UserError(`unknown format '${o.format}'`, `use one of ${EXPORT_FORMATS.join(', ')}`);
  const store = await ResultStore.openFolder(dir);
  try {
    if (o.output) {
      await store.exportTrials(o.format as ExportFormat, resolve(o.output));
      return;
    }
    // DuckDB writes files; stdout gets the file's bytes.
    const tmp = mkdtempSync(join(tmpdir(), 'formbench-results-'));
    try {
      const file = join(tmp, `trials.${o.format}`);
      await store.exportTrials(o.format as ExportFormat, file);
      process.stdout.write(readFileSync(file));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  } finally {
    store.close();
  }
}

/** `formbench report`: (re)writes the report of a results folder from its store. */
export async function reportCommand(dir: string, o: { baseline?: string }): Promise<void> {
  const store = await ResultStore.openFolder(dir);
  try {
    const report = await writeReport(store, dir, o.baseline ? { baseline: o.baseline } : {});
    for (const f of report.findings) process.stdout.write(`- ${f.text}\n`);
    if (report.warning) process.stderr.write(`warning: ${report.warning}\n`);
    process.stdout.write(`report: ${report.htmlPath}\n`);
  } finally {
    store.close();
  }
}
