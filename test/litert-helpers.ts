import { loadLiteRt } from '../src/engines/litert-runtime.js';

/** A .tflite run once on LiteRT.js (XNNPACK, 2 threads): every output, in the file's output order. */
export async function runOnLiteRt(bytes: Uint8Array, data: Float32Array, shape: number[]): Promise<Float32Array[]> {
  const litert = await loadLiteRt(2);
  const compiled = await litert.loadAndCompile(bytes, { accelerator: 'wasm', cpuOptions: { numThreads: 2 } });
  const input = new litert.Tensor(data, shape);
  try {
    const outputs = await compiled.run(input);
    const copies = outputs.map((o) => Float32Array.from(o.toTypedArray() as Float32Array));
    for (const o of outputs) o.delete();
    return copies;
  } finally {
    input.delete();
    compiled.delete();
  }
}
