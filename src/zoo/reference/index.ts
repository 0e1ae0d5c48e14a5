/** The reference networks, by spec name. */
import { UserError } from '../../errors.js';
import { BATCH_DIM, NetBuilder } from '../builder.js';
import type { ZooModel } from '../patterns.js';
import type { ReferenceNetwork } from './network.js';
import { DARTS } from './darts.js';
import { INCEPTIONS } from './inception.js';
import { MOBILENETS } from './mobilenet.js';
import { NASNET } from './nasnet.js';
import { RESNETS } from './resnet.js';

export type { ReferenceNetwork } from './network.js';

export const REFERENCE_NETWORKS: ReferenceNetwork[] = [...RESNETS, ...MOBILENETS, ...INCEPTIONS, ...DARTS, ...NASNET];

const BY_NAME = new Map(REFERENCE_NETWORKS.map((n) => [n.name, n]));

export function isReferenceSpec(spec: string): boolean {
  return BY_NAME.has(spec.split('/')[0]!);
}

const HINT = 'a reference network spec is <name>[/r<resolution>][/seed=<n>], e.g. resnet50 or resnet50/r160';

/** Builds `name[/r<res>][/seed=<n>]` with seeded, lazily generated weights (BN uncalibrated). */
export function buildReferenceNetwork(spec: string): ZooModel {
  const [name, ...parts] = spec.trim().split('/');
  const net = BY_NAME.get(name!);
  if (!net) throw new UserError(`unknown reference network '${name}'`, `known: ${[...BY_NAME.keys()].join(', ')}`);
  let resolution = net.resolution;
  let seed = 1;
  for (const part of parts) {
    const r = /^r(\d+)$/.exec(part);
    const s = /^seed=(\d+)$/.exec(part);
    if (r) resolution = Number(r[1]);
    else if (s) seed = Number(s[1]);
    else throw new UserError(`cannot read '${part}' in model spec '${spec}'`, HINT);
  }
  if (resolution < 32) throw new UserError(`resolution must be at least 32 for ${name}, got ${resolution}`, HINT);
  let canonical = name!;
  if (resolution !== net.resolution) canonical += `/r${resolution}`;
  if (seed !== 1) canonical += `/seed=${seed}`;
  const b = new NetBuilder(canonical, seed, [BATCH_DIM, 3, resolution, resolution]);
  const logits = net.build(b, 'input');
  const graph = b.finish(logits, {
    'formbench.spec': canonical,
    'formbench.network': net.name,
    'formbench.resolution': String(resolution),
    'formbench.seed': String(seed),
  });
  return { spec: canonical, graph, bnGains: b.bnGains };
}
