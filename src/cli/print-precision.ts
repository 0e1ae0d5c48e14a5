import { describeKernelPrecision, type KernelPrecisionSummary } from '../engines/ort-kernel-precision.js';
import type { OutputError } from '../quantize/index.js';

/** What onnxruntime actually ran (its profiler), so that a fallback to float kernels shows. */
export function printKernels(k: KernelPrecisionSummary): void {
  console.log(`onnxruntime (CPU, opt=all) runs it as: ${describeKernelPrecision(k).replace(/^kernel precision by share of kernel time: /, '')} (profiled, ${k.runs} runs)`);
}

export function printError(e: OutputError, what: string): void {
  console.log(
    `output vs FP32 on ${what}: top-1 agreement ${(100 * e.top1Agreement).toFixed(1)}% (${e.top1Agree}/${e.images}; FP32's arg-max takes ${e.referenceClasses} distinct classes), ` +
      `relative error ‖Δ‖/‖FP32‖ ${e.relativeError.toExponential(2)}, max abs error ${e.maxAbsError.toPrecision(3)}`,
  );
  if (e.referenceClasses < Math.min(10, e.images / 2)) {
    console.log(
      `  FP32 picks few distinct classes, so top-1 agreement says little; on the outputs minus FP32's mean output (the input-dependent part): ` +
        `agreement ${(100 * e.centredTop1Agreement).toFixed(1)}% over ${e.centredReferenceClasses} distinct classes`,
    );
  }
}
