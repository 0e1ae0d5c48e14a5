/**
 * The predictor's one fitting routine: ridge least squares on standardised features. Kernel
 * models fit ln(ms) on log features, so that a 10 µs kernel and a 10 ms one weigh alike (errors
 * are relative); the network model fits milliseconds with weights 1/y², for the same reason.
 * A model is its coefficients and the standardisation, plain numbers the store keeps as rows.
 */

/** A fitted linear model: y ≈ intercept + Σ coefficient_i · (x_i − mean_i) / scale_i. */
export interface LinearModel {
  featureNames: string[];
  intercept: number;
  coefficients: number[];
  means: number[];
  scales: number[];
}

/** The ridge penalty on standardised coefficients: small, it only keeps collinear features (MACs vs channels × spatial) from blowing up. */
export const RIDGE_LAMBDA = 1e-2;

export function evaluate(model: LinearModel, x: readonly number[]): number {
  let y = model.intercept;
  for (let i = 0; i < model.coefficients.length; i++) y += model.coefficients[i]! * ((x[i]! - model.means[i]!) / model.scales[i]!);
  return y;
}

/**
 * Weighted ridge regression; the intercept is not penalised. A constant feature gets scale 1
 * and, with the penalty, a coefficient of 0.
 */
export function fitRidge(featureNames: string[], xs: readonly (readonly number[])[], ys: readonly number[], weights?: readonly number[], lambda = RIDGE_LAMBDA): LinearModel {
  const n = xs.length;
  const p = featureNames.length;
  if (n === 0) throw new Error('fitRidge: no samples');
  const w = weights ?? new Array<number>(n).fill(1);
  const wSum = w.reduce((a, b) => a + b, 0);
  const means = featureNames.map((_, j) => xs.reduce((a, x, i) => a + w[i]! * x[j]!, 0) / wSum);
  const scales = featureNames.map((_, j) => {
    const v = xs.reduce((a, x, i) => a + w[i]! * (x[j]! - means[j]!) ** 2, 0) / wSum;
    return v > 1e-18 ? Math.sqrt(v) : 1;
  });
  const yMean = ys.reduce((a, y, i) => a + w[i]! * y, 0) / wSum;
  // Normal equations of the centred problem: (ZᵀWZ + λ·ΣW·I) β = ZᵀW(y − ȳ).
  const a = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const b = new Array<number>(p).fill(0);
  for (let i = 0; i < n; i++) {
    const z = xs[i]!.map((v, j) => (v - means[j]!) / scales[j]!);
    for (let j = 0; j < p; j++) {
      b[j]! += w[i]! * z[j]! * (ys[i]! - yMean);
      for (let k = 0; k < p; k++) a[j]![k]! += w[i]! * z[j]! * z[k]!;
    }
  }
  for (let j = 0; j < p; j++) a[j]![j]! += lambda * wSum;
  const coefficients = solve(a, b);
  return { featureNames, intercept: yMean, coefficients, means, scales };
}

/** Gaussian elimination with partial pivoting (p is a dozen at most). */
function solve(a: number[][], b: number[]): number[] {
  const p = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let col = 0; col < p; col++) {
    let pivot = col;
    for (let r = col + 1; r < p; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    const d = m[col]![col]!;
    if (Math.abs(d) < 1e-300) continue;
    for (let r = 0; r < p; r++) {
      if (r === col) continue;
      const f = m[r]![col]! / d;
      if (f === 0) continue;
      for (let c = col; c <= p; c++) m[r]![c]! -= f * m[col]![c]!;
    }
  }
  return m.map((row, i) => (Math.abs(row[i]!) < 1e-300 ? 0 : row[p]! / row[i]!));
}
