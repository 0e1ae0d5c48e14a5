import Table from 'cli-table3';

/** Human-readable numbers for terminal tables: SI prefixes for counts, binary units for bytes. */
export function formatCount(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e12) return `${(n / 1e12).toFixed(2)} T`;
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (abs >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

export function formatShape(shape: readonly (number | string)[]): string {
  return shape.join('×');
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A terminal table: colours only on a terminal, so piped output stays plain text. */
export function makeTable(head: string[], colAligns?: ('left' | 'right')[]): Table.Table {
  const plain = !process.stdout.isTTY;
  return new Table({
    head,
    style: { compact: true, ...(plain ? { head: [], border: [] } : {}) },
    ...(colAligns ? { colAligns } : {}),
  });
}
