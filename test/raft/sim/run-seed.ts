import { SimCluster } from './cluster.js';
import { randomParams } from './params.js';
import type { SimParams } from './params.js';
import { Prng } from './prng.js';

export interface SeedResult {
  seed: number;
  params: SimParams;
  ticks: number;
  stats: Record<string, number>;
}

export class SimFailure extends Error {
  override name = 'SimFailure';

  constructor(
    readonly seed: number,
    readonly failure: unknown,
    readonly traceTail: readonly string[],
  ) {
    const reason = failure instanceof Error ? failure.message : String(failure);
    super(
      `raft simulation failed for seed ${seed}: ${reason}\n` +
        `replay with: npx tsc -p tsconfig.json && RAFT_SIM_SEED=${seed} node scripts/test.mjs test/raft/sim` +
        (traceTail.length > 0 ? `\nlast events:\n${traceTail.join('\n')}` : ''),
    );
  }
}

/**
 * Run one seeded simulation. With `traceLines` > 0 the last that many
 * events are kept and printed on failure (slower; used when replaying).
 */
export function runSeed(seed: number, traceLines = 0): SeedResult {
  const prng = new Prng(seed);
  const params = randomParams(prng);
  const tail: string[] = [];
  const trace =
    traceLines > 0
      ? (line: string): void => {
          tail.push(line);
          if (tail.length > traceLines) tail.shift();
        }
      : undefined;
  const cluster = new SimCluster(params, prng, trace);
  try {
    cluster.run();
  } catch (err) {
    throw new SimFailure(seed, err, tail);
  }
  return {
    seed,
    params,
    ticks: cluster.now,
    stats: { ...cluster.stats, ...cluster.checker.stats, ...cluster.net.stats },
  };
}
