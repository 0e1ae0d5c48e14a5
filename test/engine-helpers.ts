/** Running one graph on several engines as a bench worker would, for agreement tests. */
import { parseEngineChoice } from '../src/engines/index.js';
import { torchEngine } from '../src/engines/torch.js';
import type { Graph } from '../src/ir/index.js';
import { fromOnnxBytes, toOnnxBytes } from '../src/onnx/index.js';

const torchAvailable = (await torchEngine.availability()).available;

/** ort and the op-by-op engines, one thread each (torch where Debian's PyTorch is installed). */
export const OP_BY_OP_ENGINES = ['ort:threads=1', 'tfjs-cpu', 'tfjs-wasm:threads=1', ...(torchAvailable ? ['torch:threads=1'] : [])];

/** Runs the graph, re-read from its ONNX bytes as a worker does, on each engine: each engine's output. */
export async function onEachEngine(built: Graph, input: Float32Array, dims: number[], engines = OP_BY_OP_ENGINES): Promise<Map<string, Float32Array>> {
  const onnx = toOnnxBytes(built, { batch: dims[0] });
  const graph = fromOnnxBytes(onnx, { source: built.name });
  const out = new Map<string, Float32Array>();
  for (const choice of engines) {
    const { engine, options } = parseEngineChoice(choice);
    const session = await engine.load({ spec: built.name, graph, onnx }, options);
    try {
      out.set(choice, Float32Array.from(await session.run(input, dims)));
    } finally {
      await session.dispose();
    }
  }
  return out;
}
