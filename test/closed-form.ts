/**
 * MACs and parameters of a pattern network computed in closed form from DESIGN.md, independently
 * of the zoo's builder, so tests can check the builder and the analysis against it.
 */
export interface ClosedFormOptions {
  pattern: string;
  depth: number;
  width: number;
  resolution?: number;
  reduction?: number;
  expansion?: number;
  groupWidth?: number;
}

const convOut = (size: number, k: number, s: number, p: number) => Math.floor((size + 2 * p - k) / s) + 1;

export function closedForm(o: ClosedFormOptions): { macs: number; params: number } {
  const R = o.resolution ?? 224;
  const C = o.width;
  const r = o.reduction ?? 4;
  const e = o.expansion ?? 6;
  const g = o.groupWidth ?? 16;
  const stemSize = convOut(R, 3, 2, 1);
  const S = convOut(stemSize, 3, 2, 1);
  const bn = (c: number) => 2 * c; // scale + shift; running statistics are not parameters
  let blockMacsPerPixel: number;
  let blockParams: number;
  switch (o.pattern) {
    case 'standard':
      blockMacsPerPixel = C * C * 9;
      blockParams = 9 * C * C + bn(C);
      break;
    case 'factorized':
      blockMacsPerPixel = 2 * C * C * 3;
      blockParams = 2 * (3 * C * C + bn(C));
      break;
    case 'bottleneck': {
      const m = C / r;
      blockMacsPerPixel = C * m + m * m * 9 + m * C;
      blockParams = C * m + bn(m) + 9 * m * m + bn(m) + m * C + bn(C);
      break;
    }
    case 'depthwise-separable':
      blockMacsPerPixel = C * 9 + C * C;
      blockParams = 9 * C + bn(C) + C * C + bn(C);
      break;
    case 'depthwise-bottleneck': {
      const w = e * C;
      blockMacsPerPixel = C * w + w * 9 + w * C;
      blockParams = C * w + bn(w) + 9 * w + bn(w) + w * C + bn(C);
      break;
    }
    case 'grouped':
      blockMacsPerPixel = C * g * 9;
      blockParams = 9 * C * g + bn(C);
      break;
    default:
      throw new Error(`no closed form for ${o.pattern}`);
  }
  const stemMacs = stemSize * stemSize * C * 3 * 9;
  const headMacs = C * 1000;
  return {
    macs: stemMacs + o.depth * S * S * blockMacsPerPixel + headMacs,
    params: 27 * C + bn(C) + o.depth * blockParams + 1000 * C + 1000,
  };
}
