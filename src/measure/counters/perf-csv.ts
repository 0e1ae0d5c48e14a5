/**
 * Reading `perf stat -x,` output. Each counter line is
 * `value,unit,event,run-time,percent-running,metric-value,metric-unit`, where value may be
 * `<not supported>` (the PMU has no such event: a VM without a virtual PMU, say) or
 * `<not counted>` (supported, but it never ran: the workload ended first, or multiplexing never
 * scheduled it). Neither is a zero, and neither is read as one.
 */

export interface PerfCounts {
  /** Every event asked for: its count over the enabled window, or null when none was counted. */
  counts: Record<string, number | null>;
  /** Events perf answered `<not supported>` for. */
  unsupported: string[];
  /** Events perf answered `<not counted>` for. */
  notCounted: string[];
  /** Events that shared the PMU with others: perf scaled their counts from this fraction of the time. */
  multiplexed: { event: string; runningPercent: number }[];
}

/** perf's generic name of an event without PMU prefix or modifiers: `cpu_core/cycles/u` → `cycles`. */
export function baseEventName(name: string): string {
  const unprefixed = /^[\w-]+\/([^/]+)\/\w*$/.exec(name)?.[1] ?? name;
  return unprefixed.replace(/:[a-zA-Z]+$/, '');
}

/**
 * Parses perf's CSV for the events asked for. Hybrid CPUs print one line per core type
 * (cpu_core/…, cpu_atom/…): those counts add up. An event asked for but absent from the output
 * is not counted.
 */
export function parsePerfCsv(text: string, events: readonly string[]): PerfCounts {
  const sums = new Map<string, number>();
  const unsupported = new Set<string>();
  const notCounted = new Set<string>();
  const multiplexed: PerfCounts['multiplexed'] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = line.split(',');
    if (fields.length < 3) continue;
    const [value, , rawEvent, , percent] = fields as [string, string, string, string | undefined, string | undefined];
    const event = baseEventName(rawEvent.trim());
    if (!events.includes(event)) continue;
    const v = value.trim();
    if (v === '<not supported>') unsupported.add(event);
    else if (v === '<not counted>') notCounted.add(event);
    else {
      const n = Number(v);
      if (!Number.isFinite(n)) continue;
      sums.set(event, (sums.get(event) ?? 0) + n);
      const running = Number(percent);
      if (Number.isFinite(running) && running < 100) multiplexed.push({ event, runningPercent: running });
    }
  }
  const counts: Record<string, number | null> = {};
  for (const event of events) {
    const sum = sums.get(event);
    counts[event] = sum ?? null;
    // A hybrid CPU may count an event on one core type and not the other: it was counted.
    if (sum !== undefined) {
      unsupported.delete(event);
      notCounted.delete(event);
    } else if (!unsupported.has(event)) {
      notCounted.add(event);
    }
  }
  return { counts, unsupported: events.filter((e) => unsupported.has(e)), notCounted: events.filter((e) => notCounted.has(e)), multiplexed };
}
