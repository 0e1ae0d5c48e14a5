/**
 * The seed paper's lines: the native framework, hardware-specific acceleration on the CPU and,
 * as the third, GPU-specific acceleration (hardware adapters only). A software GPU keeps its own
 * label, which already says what it is.
 */
import type { GpuAdapter } from '../engines/engine.js';

const LINE_OF_ROLE: Record<string, string> = { native: 'native', accelerated: 'CPU acceleration', 'gpu-accelerated': 'GPU-specific acceleration', portable: 'portable' };

/** A point's line in the figures: `ort (CPU acceleration)`, `ort-webgpu (GPU-specific acceleration)`. */
export const lineOf = (p: { engine: string; role: string; gpu?: GpuAdapter }): string => (p.gpu?.software || !LINE_OF_ROLE[p.role] ? p.engine : `${p.engine} (${LINE_OF_ROLE[p.role]})`);
