import { randomBytes } from 'node:crypto';
import { ProposalDroppedError } from '../raft/errors.js';
import type { ReadState } from '../raft/types.js';

export interface LinearizableReadOptions {
  /** Ask the Raft core for a read index under `ctx` (throws ProposalDroppedError without a leader). */
  request(ctx: Uint8Array): void;
  /** The state machine's applied index. */
  applied(): number;
  readonly timeoutMs: number;
  /** A request can be lost with a leader change; ask again after this long. */
  readonly retryMs: number;
  timeoutError(): Error;
}

interface Round {
  readonly waiters: { resolve(): void; reject(err: unknown): void }[];
  readonly ctxs: Set<string>;
  index: number;
  retry: NodeJS.Timeout | undefined;
  deadline: NodeJS.Timeout | undefined;
}

/**
 * Quorum reads through Raft's ReadIndex: the leader confirms it still leads
 * (a heartbeat round) and names its commit index; a read is served once this
 * member has applied that index. Concurrent reads share one round, so a
 * burst of reads costs one heartbeat round, not one each.
 */
export class LinearizableReads {
  readonly #opts: LinearizableReadOptions;
  readonly #prefix = randomBytes(4);
  #seq = 0;
  /** Collecting readers; requested once the in-flight round has its index. */
  #next: Round | undefined;
  #inflight: Round | undefined;
  /** Index known, waiting for apply. */
  #ready: Round[] = [];
  #scheduled = false;
  #closed = false;

  constructor(options: LinearizableReadOptions) {
    this.#opts = options;
  }

  /** Resolves when a read of the local store is linearizable. */
  read(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#opts.timeoutError());
    return new Promise<void>((resolve, reject) => {
      if (this.#next === undefined) {
        const round: Round = { waiters: [], ctxs: new Set(), index: 0, retry: undefined, deadline: undefined };
        round.deadline = setTimeout(() => this.#expire(round), this.#opts.timeoutMs);
        this.#next = round;
      }
      this.#next.waiters.push({ resolve, reject });
      // Reads arriving in the same turn of the event loop join one round.
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#startNext();
        });
      }
    });
  }

  onReadStates(states: readonly ReadState[]): void {
    const round = this.#inflight;
    if (round === undefined) return;
    for (const rs of states) {
      if (!round.ctxs.has(Buffer.from(rs.ctx).toString('hex'))) continue;
      clearTimeout(round.retry);
      round.index = rs.index;
      this.#inflight = undefined;
      this.#ready.push(round);
      this.#startNext();
      break;
    }
    this.onApplied(this.#opts.applied());
  }

  onApplied(applied: number): void {
    if (this.#ready.length === 0) return;
    const still: Round[] = [];
    for (const round of this.#ready) {
      if (round.index <= applied) this.#settle(round, undefined);
      else still.push(round);
    }
    this.#ready = still;
  }

  close(): void {
    this.#closed = true;
    for (const round of [this.#next, this.#inflight, ...this.#ready]) if (round !== undefined) this.#settle(round, this.#opts.timeoutError());
    this.#next = undefined;
    this.#inflight = undefined;
    this.#ready = [];
  }

  #startNext(): void {
    if (this.#inflight !== undefined || this.#next === undefined || this.#closed) return;
    this.#inflight = this.#next;
    this.#next = undefined;
    this.#ask(this.#inflight);
  }

  #ask(round: Round): void {
    const ctx = Buffer.allocUnsafe(this.#prefix.length + 4);
    this.#prefix.copy(ctx, 0);
    this.#seq = (this.#seq + 1) >>> 0;
    ctx.writeUInt32BE(this.#seq, this.#prefix.length);
    round.ctxs.add(ctx.toString('hex'));
    try {
      this.#opts.request(ctx);
    } catch (err) {
      // No leader yet: the retry below asks again once one may be known.
      if (!(err instanceof ProposalDroppedError)) {
        this.#inflight = undefined;
        this.#settle(round, err);
        this.#startNext();
        return;
      }
    }
    round.retry = setTimeout(() => {
      if (this.#inflight === round) this.#ask(round);
    }, this.#opts.retryMs);
  }

  #expire(round: Round): void {
    if (this.#next === round) this.#next = undefined;
    if (this.#inflight === round) {
      this.#inflight = undefined;
      this.#startNext();
    }
    this.#ready = this.#ready.filter((r) => r !== round);
    this.#settle(round, this.#opts.timeoutError());
  }

  #settle(round: Round, err: unknown): void {
    clearTimeout(round.retry);
    clearTimeout(round.deadline);
    for (const w of round.waiters.splice(0)) {
      if (err === undefined) w.resolve();
      else w.reject(err);
    }
  }
}
