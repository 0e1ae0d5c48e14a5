/**
 * Reading a cachegrind or callgrind output file (callgrind writes one per dump): the `events:` line names the columns and the `summary:` line
 * holds the whole-program totals (Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw Bc Bcm Bi Bim with
 * --cache-sim=yes --branch-sim=yes). The per-function lines in between are not needed.
 */

/** Cachegrind's event names: Ir/Dr/Dw instruction, data read and write references; I1mr/D1mr/D1mw first-level misses; ILmr/DLmr/DLmw last-level misses; Bc/Bcm conditional branches and mispredictions; Bi/Bim indirect ones. */
export const CACHEGRIND_EVENTS = ['Ir', 'I1mr', 'ILmr', 'Dr', 'D1mr', 'DLmr', 'Dw', 'D1mw', 'DLmw', 'Bc', 'Bcm', 'Bi', 'Bim'] as const;
export type CachegrindEvent = (typeof CACHEGRIND_EVENTS)[number];
export type CachegrindTotals = Record<CachegrindEvent, number>;

export function parseCachegrindOut(text: string): CachegrindTotals {
  let events: string[] | undefined;
  let summary: number[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('events:')) events = line.slice('events:'.length).trim().split(/\s+/);
    else if (line.startsWith('summary:')) summary = line.slice('summary:'.length).trim().split(/\s+/).map(Number);
  }
  if (!events || !summary) throw new Error('cachegrind output has no events:/summary: lines');
  const totals = {} as CachegrindTotals;
  for (const name of CACHEGRIND_EVENTS) {
    const at = events.indexOf(name);
    if (at < 0) throw new Error(`cachegrind output lacks the ${name} event (was it run with --cache-sim=yes --branch-sim=yes?)`);
    // A trailing column that was never incremented may be left out of the summary line.
    totals[name] = summary[at] ?? 0;
  }
  return totals;
}

/** Several processes (a worker's children under --trace-children) add up to one run's totals. */
export function addTotals(list: CachegrindTotals[]): CachegrindTotals {
  const sum = Object.fromEntries(CACHEGRIND_EVENTS.map((e) => [e, 0])) as CachegrindTotals;
  for (const t of list) for (const e of CACHEGRIND_EVENTS) sum[e] += t[e];
  return sum;
}
