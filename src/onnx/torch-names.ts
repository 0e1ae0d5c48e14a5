/**
 * The PyTorch module a node of a PyTorch ONNX export comes from. PyTorch (≥ 1.13) writes the
 * module scope into node names: '/layer2/downsample/downsample.0/Conv' is module
 * 'layer2.downsample.0' (a segment that extends the previous one replaces it). Returns '' for
 * names without a scope.
 */
export function torchModuleOf(nodeName: string): string {
  const path: string[] = [];
  for (const segment of nodeName.split('/').slice(1, -1)) {
    if (path.length > 0 && segment.startsWith(`${path[path.length - 1]}.`)) path[path.length - 1] = segment;
    else path.push(segment);
  }
  return path.join('.');
}
