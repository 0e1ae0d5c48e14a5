/** IR ⇄ ONNX: export any IR graph (opset 17), import ONNX files for the common CNN operator set. */
export { toOnnxBytes, writeOnnxFile, IR_OPSET, type ExportOptions } from './export.js';
export { fromOnnxBytes, readOnnxFile, type ImportOptions } from './import.js';
export { torchModuleOf } from './torch-names.js';
