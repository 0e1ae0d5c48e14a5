import type { Engine } from './engine.js';
import { choiceOption } from './options.js';

/** The TF.js backends the lab page runs on; WebGL and WebGPU are not among them yet (the GPU needs its adapter recorded, as ort-webgpu's trials do). */
export const TFJS_WEB_BACKENDS = ['wasm'] as const;

/**
 * TensorFlow.js in a browser tab opened from `formbench serve`, as its users run a model there: a
 * tfjs-converter GraphModel (built by engines/tfjs-graph-model.ts from the prepared graph: BN
 * folded, bias and ReLU fused as the converter emits them), `execute()` on the wasm backend
 * (XNNPACK, SIMD) on one thread: TF.js's threaded build starts its workers with importScripts of
 * the page's own script, which a bundled ES module page is not (tried: every worker failed to
 * load). The JavaScript ecosystem's native framework in the page, beside ort-web; like ort-web it
 * is registered by `formbench serve` only.
 */
export const tfjsWebEngine: Engine = {
  name: 'tfjs-web',
  description: 'TensorFlow.js in a browser tab (formbench serve): a converter GraphModel on the wasm backend',
  role: 'native',
  options: {
    backend: choiceOption('the TF.js backend the page runs the model on', TFJS_WEB_BACKENDS, 'wasm'),
  },
  planningRate: { gmacsPerS: 3, startupS: 0.5 },
  async availability() {
    return { available: false, reason: 'runs only in a browser tab: start `formbench serve` and open the page it prints' };
  },
  async load() {
    throw new Error('tfjs-web runs only in a browser tab opened from formbench serve');
  },
};
