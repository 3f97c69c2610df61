import type { NodeId } from './types.js';

export interface ReadRequest {
  readonly index: number;
  /** Node that asked: the leader itself, or a follower that forwarded the request. */
  readonly from: NodeId;
  readonly ctx: Uint8Array;
  readonly acks: Set<NodeId>;
}

/**
 * Read-index requests waiting for a heartbeat round to confirm that the
 * leader is still the leader (ReadOnlySafe). Requests are kept in arrival
 * order: a quorum acking a later round also confirms every earlier one.
 */
export class ReadOnlyQueue {
  private readonly pending = new Map<string, ReadRequest>();
  private queue: string[] = [];

  /** Contexts must be unique among pending requests; a duplicate is ignored. */
  add(index: number, from: NodeId, ctx: Uint8Array): void {
    const key = ctxKey(ctx);
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, from, ctx, acks: new Set() });
    this.queue.push(key);
  }

  recvAck(id: NodeId, ctx: Uint8Array): ReadonlySet<NodeId> | undefined {
    const req = this.pending.get(ctxKey(ctx));
    if (req === undefined) return undefined;
    req.acks.add(id);
    return req.acks;
  }

  /** Remove and return every request up to and including the one for `ctx`. */
  advance(ctx: Uint8Array): ReadRequest[] {
    const at = this.queue.indexOf(ctxKey(ctx));
    if (at < 0) return [];
    const released = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: ReadRequest[] = [];
    for (const key of released) {
      const req = this.pending.get(key);
      this.pending.delete(key);
      if (req !== undefined) out.push(req);
    }
    return out;
  }

  lastPendingCtx(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : this.pending.get(key)?.ctx;
  }

  get size(): number {
    return this.queue.length;
  }

  clear(): void {
    this.pending.clear();
    this.queue = [];
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function ctxKey(ctx: Uint8Array): string {
  let s = '';
  for (const b of ctx) s += HEX[b] as string;
  return s;
}
