import type { Message, NodeId } from '../../../src/raft/index.js';
import type { Prng } from './prng.js';

export interface NetFaults {
  /** Probability a message is lost. */
  drop: number;
  /** Probability a message is delivered twice. */
  duplicate: number;
  /** Delivery delay is uniform in [0, maxDelay] ticks, so messages reorder freely. */
  maxDelay: number;
}

export const HEALTHY: NetFaults = { drop: 0, duplicate: 0, maxDelay: 1 };

/**
 * Messages in transit, bucketed by the virtual tick they arrive at. Links
 * can be blocked one way (a from>to pair) to build partitions.
 */
export class SimNetwork {
  faults: NetFaults;
  private readonly buckets = new Map<number, Message[]>();
  private readonly blocked = new Set<string>();
  inFlight = 0;
  readonly stats = { sent: 0, dropped: 0, duplicated: 0 };

  constructor(
    private readonly prng: Prng,
    faults: NetFaults,
  ) {
    this.faults = faults;
  }

  block(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}>${to}`);
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.size > 0 && this.blocked.has(`${from}>${to}`);
  }

  heal(): void {
    this.blocked.clear();
  }

  get partitioned(): boolean {
    return this.blocked.size > 0;
  }

  /** Returns false when the message is lost on the way out. */
  send(m: Message, now: number): boolean {
    this.stats.sent++;
    if (this.isBlocked(m.from, m.to) || this.prng.chance(this.faults.drop)) {
      this.stats.dropped++;
      return false;
    }
    this.enqueue(m, now);
    if (this.prng.chance(this.faults.duplicate)) {
      this.stats.duplicated++;
      this.enqueue(m, now);
    }
    return true;
  }

  private enqueue(m: Message, now: number): void {
    const at = now + this.prng.int(this.faults.maxDelay + 1);
    let b = this.buckets.get(at);
    if (b === undefined) {
      b = [];
      this.buckets.set(at, b);
    }
    b.push(m);
    this.inFlight++;
  }

  /** Messages due at `now`, in random order; undefined when none are left. */
  take(now: number): Message[] | undefined {
    const b = this.buckets.get(now);
    if (b === undefined) return undefined;
    this.buckets.delete(now);
    this.inFlight -= b.length;
    return this.prng.shuffle(b);
  }
}
