/**
 * TensorFlow.js in the page, as its users run a converted model: a GraphModel from memory (the
 * server builds it from the prepared graph with formbench's writer), `execute()` on the wasm
 * backend, whose binaries come from the server that served the page (/tfjs/).
 */
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import type { LabGraphModel } from '../serve/api.js';
import type { PageSession } from './ort-web.js';

const TFJS_PATH = '/tfjs/';

let ready: Promise<string> | undefined;

/**
 * Starts the wasm backend once per page, on its SIMD build without threads (engines/tfjs-web.ts
 * says why); answers TF.js's version.
 */
export function loadTfjsWasm(): Promise<string> {
  ready ??= (async () => {
    setWasmPaths(TFJS_PATH);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (!(await tf.setBackend('wasm'))) throw new Error("TF.js's wasm backend did not initialise");
    await tf.ready();
    tf.enableProdMode();
    return tf.version_core;
  })();
  return ready;
}

export async function createTfjsSession(model: LabGraphModel, weights: ArrayBuffer): Promise<PageSession> {
  const graph = await loadGraphModel(tf.io.fromMemory({ modelTopology: model.modelTopology as object, weightSpecs: model.weightSpecs as tf.io.WeightsManifestEntry[], weightData: weights, format: 'graph-model' }));
  return {
    // As the CLI's tfjs engines time a call: the NCHW input made and transposed to NHWC, execute(),
    // the output read back (data() waits for the backend), every tensor disposed.
    async run(input, dims) {
      const y = tf.tidy(() => {
        const x = tf.transpose(tf.tensor(input, dims, 'float32'), [0, 2, 3, 1]);
        const out = graph.execute(x, model.outputName) as tf.Tensor;
        return model.outputNhwc ? tf.transpose(out, [0, 3, 1, 2]) : out;
      });
      try {
        return (await y.data()) as Float32Array;
      } finally {
        y.dispose();
      }
    },
    async release() {
      graph.dispose();
    },
  };
}
