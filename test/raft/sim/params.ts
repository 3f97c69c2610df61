import type { Prng } from './prng.js';

/** Everything about one simulated run that the seed decides up front. */
export interface SimParams {
  voters: number;
  preVote: boolean;
  checkQuorum: boolean;
  electionTicks: number;
  heartbeatTicks: number;
  maxInflight: number;
  maxMsgBytes: number;
  /** Network faults while the chaos lasts. */
  drop: number;
  duplicate: number;
  maxDelay: number;
  /** Per-tick probabilities of faults and client activity. */
  crash: number;
  crashMidReady: number;
  partition: number;
  healPartition: number;
  propose: number;
  read: number;
  compact: number;
  confChange: number;
  transfer: number;
  /** A node misses a tick (a pause, a slow clock). */
  tickSkip: number;
  /** Probability a node handles its Ready right after an input rather than later (later = lost on a crash). */
  readyNow: number;
  chaosTicks: number;
  /** Liveness bound once the network is healed. */
  healTicks: number;
}

export function randomParams(prng: Prng): SimParams {
  return {
    voters: prng.pick([1, 2, 3, 3, 4, 5, 5, 5]),
    preVote: prng.chance(0.6),
    checkQuorum: prng.chance(0.6),
    electionTicks: 10,
    heartbeatTicks: prng.pick([1, 1, 2, 3]),
    maxInflight: prng.pick([1, 2, 4, 64]),
    maxMsgBytes: prng.pick([1, 100, 400, 1 << 20]),
    drop: prng.pick([0, 0.02, 0.05, 0.1, 0.2]),
    duplicate: prng.pick([0, 0.02, 0.1]),
    maxDelay: prng.pick([0, 1, 2, 4, 8]),
    crash: prng.pick([0, 0.005, 0.02]),
    crashMidReady: prng.pick([0, 0.002, 0.01]),
    partition: prng.pick([0, 0.01, 0.03]),
    healPartition: prng.pick([0.02, 0.1]),
    propose: prng.pick([0.1, 0.3, 0.8]),
    read: prng.pick([0, 0.1, 0.3]),
    compact: prng.pick([0, 0.02, 0.1]),
    confChange: prng.pick([0, 0, 0.01, 0.03]),
    transfer: prng.pick([0, 0.005, 0.02]),
    tickSkip: prng.pick([0, 0.05, 0.2]),
    readyNow: prng.pick([0.3, 0.7, 1]),
    chaosTicks: 150 + prng.int(200),
    healTicks: 600,
  };
}
