/**
 * The server scenario's --find-peak: the highest arrival rate whose probe meets the latency
 * bound, found by bracketing (doubling or halving from a first guess until one rate passes and
 * one fails) and then bisection between them, in a bounded number of probes. A probe is a whole
 * server run; the search assumes that meeting the bound is monotone in the rate.
 */

export interface PeakProbe {
  ratePerS: number;
  met: boolean;
}

export interface PeakSearchOptions {
  /** The first rate probed, queries/s (e.g. what the sessions' service time allows). */
  startRatePerS: number;
  /** At most this many probes in all (default 10). */
  maxProbes?: number;
  /** Stop bisecting once the bracket is within this fraction of its lower end (default 0.05). */
  relativeTolerance?: number;
  /** No rate below this is probed (default startRatePerS / 1024). */
  minRatePerS?: number;
}

export interface PeakSearchResult {
  /** The highest rate that met the bound; undefined if none did. */
  peakRatePerS?: number;
  /** The lowest rate seen to fail, where one did. */
  failedRatePerS?: number;
  probes: PeakProbe[];
  /** Why the search stopped. */
  stoppedBy: 'tolerance' | 'max-probes' | 'min-rate';
}

export async function findPeakRate(probe: (ratePerS: number) => Promise<boolean>, options: PeakSearchOptions): Promise<PeakSearchResult> {
  const maxProbes = options.maxProbes ?? 10;
  const tolerance = options.relativeTolerance ?? 0.05;
  const minRate = options.minRatePerS ?? options.startRatePerS / 1024;
  const probes: PeakProbe[] = [];
  const run = async (ratePerS: number) => {
    const met = await probe(ratePerS);
    probes.push({ ratePerS, met });
    return met;
  };
  let lo: number | undefined; // highest rate that passed
  let hi: number | undefined; // lowest rate that failed
  let rate = options.startRatePerS;
  // Bracketing.
  while (lo === undefined || hi === undefined) {
    if (probes.length >= maxProbes) return result('max-probes');
    if (await run(rate)) {
      lo = rate;
      if (hi === undefined) rate *= 2;
    } else {
      hi = rate;
      if (lo === undefined) {
        if (rate / 2 < minRate) return result('min-rate');
        rate /= 2;
      }
    }
  }
  // Bisection.
  for (;;) {
    const passed: number = lo!;
    const failed: number = hi!;
    if ((failed - passed) / passed <= tolerance) break;
    if (probes.length >= maxProbes) return result('max-probes');
    const mid: number = (passed + failed) / 2;
    if (await run(mid)) lo = mid;
    else hi = mid;
  }
  return result('tolerance');

  function result(stoppedBy: PeakSearchResult['stoppedBy']): PeakSearchResult {
    return { ...(lo !== undefined ? { peakRatePerS: lo } : {}), ...(hi !== undefined ? { failedRatePerS: hi } : {}), probes, stoppedBy };
  }
}
