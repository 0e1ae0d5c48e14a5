/**
 * The server scenario's arrivals: a Poisson process at a target rate, i.e. independent
 * exponential gaps of mean 1/rate, drawn from a seeded generator so that a run is reproducible
 * query for query (MLPerf LoadGen's Server scenario schedules its queries the same way).
 */
import { Rng } from '../../weights/index.js';

/** Arrival times from the start, ms, of every query scheduled before `durationMs` (at least `minQueries` of them). */
export function poissonArrivalsMs(ratePerS: number, durationMs: number, seed: number, minQueries = 0): number[] {
  if (!(ratePerS > 0)) throw new Error(`a Poisson rate must be positive, got ${ratePerS}`);
  const rng = new Rng(seed, 'poisson-arrivals');
  const meanGapMs = 1000 / ratePerS;
  const arrivals: number[] = [];
  // Inverse transform: −ln(U)·mean is exponential for U uniform on (0, 1) (uniform() never returns 0).
  for (let t = -Math.log(rng.uniform()) * meanGapMs; t < durationMs || arrivals.length < minQueries; t += -Math.log(rng.uniform()) * meanGapMs) arrivals.push(t);
  return arrivals;
}
