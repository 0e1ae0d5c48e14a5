import { GraphError } from './graph.js';
import type { Dim } from './tensor.js';

/**
 * The most elements formbench allocates for one tensor (an input it fills with seeded values, an
 * initializer it decodes or generates): 2^30, 4 GiB as float32. Larger tensors do not fit the
 * 2 GiB a model file may hold, and a typed array cannot exceed 2^32 elements at all.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 30;

/**
 * Checks the dimensions of a tensor formbench will hold: each a positive integer (or, where
 * `symbols` allows, a name bound later), and the element count under MAX_TENSOR_ELEMENTS.
 * `allowZero` admits empty tensors, which are legitimate as constants (an empty axes list).
 */
export function checkTensorShape(shape: readonly Dim[], what: string, options: { allowZero?: boolean; symbols?: boolean } = {}): void {
  let count = 1;
  shape.forEach((d, i) => {
    if (typeof d === 'string') {
      if (!options.symbols || d === '') throw new GraphError(`${what} has the unbound dimension '${d}' at axis ${i}`, 'give the model a fixed shape there');
      return;
    }
    if (!Number.isSafeInteger(d) || d < 0 || (d === 0 && !options.allowZero)) {
      throw new GraphError(
        `${what} has dimension ${d} at axis ${i} (shape [${shape.join(', ')}]); a dimension must be ${options.allowZero ? 'a non-negative' : 'a positive'} integer`,
        'the model declares an impossible shape: fix it in the exporter (a zero or negative size is not a tensor)',
      );
    }
    count *= d;
  });
  if (count > MAX_TENSOR_ELEMENTS) {
    throw new GraphError(
      `${what} has ${count} elements (shape [${shape.join(', ')}]), more than the ${MAX_TENSOR_ELEMENTS} formbench allocates for one tensor`,
      'use a smaller input resolution or batch',
    );
  }
}

/**
 * The largest batch formbench runs: 4096 is 16× the largest batch the seed paper measures (256),
 * and one 3×224×224 float input at that batch is already 2.3 GiB. A bigger value is a slip (1e9).
 */
export const MAX_BATCH = 4096;
