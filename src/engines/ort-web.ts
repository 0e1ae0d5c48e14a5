import type { Engine, EngineOption } from './engine.js';
import { OPT_OPTION } from './ort-common.js';
import { choiceOption } from './options.js';

/** The device's own core count: the server cannot know a phone's. */
export const ALL_THREADS = 'all';

/** The page's wasm threads: onnxruntime-web fixes its count when its wasm starts. */
export const PAGE_THREADS_OPTION: EngineOption = {
  description: "wasm threads: 'all' (the device's navigator.hardwareConcurrency) or a count; one thread where the page is not cross-origin isolated",
  defaultValue: () => ALL_THREADS,
  parse: (value) => {
    if (value === ALL_THREADS) return value;
    if (!/^\d{1,4}$/.test(value) || Number(value) < 1) throw new Error("must be 'all' or a positive integer");
    return String(Number(value));
  },
};

/**
 * The backends the lab page (src/browser/) runs onnxruntime-web on. WebGPU is not one yet: its
 * trials would need the adapter and the software-GPU label that the CLI's GPU engines record.
 */
export const ORT_WEB_BACKENDS = ['wasm'] as const;
export type OrtWebBackend = (typeof ORT_WEB_BACKENDS)[number];

/**
 * onnxruntime-web in a browser tab opened from `formbench serve`: WebAssembly (SIMD, and threads
 * where the page is cross-origin isolated) or WebGPU. It runs in the page, never in a worker
 * process of this machine, so it is not in the registry's ENGINES: `formbench serve` registers it
 * to plan the page's trials (the CLI's trial keys, columns and estimates), and the page measures
 * them. Its role is the CPU acceleration a browser user gets, beside a CLI run's engines.
 */
export const ortWebEngine: Engine = {
  name: 'ort-web',
  description: 'onnxruntime-web in a browser tab (formbench serve): WebAssembly with SIMD and threads',
  role: 'accelerated',
  options: {
    backend: choiceOption('where the page runs the model (WebAssembly: SIMD, threads where cross-origin isolated)', ORT_WEB_BACKENDS, 'wasm'),
    opt: OPT_OPTION,
    threads: PAGE_THREADS_OPTION,
  },
  // A browser's wasm is about half the speed of onnxruntime-node here; a phone less again.
  planningRate: { gmacsPerS: 5, startupS: 0.5 },
  async availability() {
    return { available: false, reason: 'runs only in a browser tab: start `formbench serve` and open the page it prints' };
  },
  async load() {
    throw new Error('ort-web runs only in a browser tab opened from formbench serve');
  },
};
