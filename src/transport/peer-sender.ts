import { Pool } from 'undici';
import type { Logger } from '../log/logger.js';
import type { Message, NodeId } from '../raft/types.js';
import { CairnError, errorMessage } from '../util/errors.js';
import { encodeMessages } from './codec.js';
import { neverConnected } from './connect-errors.js';
import { CLUSTER_HEADER, FROM_HEADER, MESSAGES_PATH, SNAPSHOT_PATH } from './paths.js';

/** Messages waiting for one peer beyond this are dropped: Raft resends what matters. */
const MAX_QUEUE = 4096;
const MAX_BATCH_MESSAGES = 512;
const MAX_BATCH_BYTES = 4 << 20;

export interface PeerSenderOptions {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly urls: readonly string[];
  readonly clusterId: string;
  readonly logger: Logger;
  readonly messageTimeoutMs: number;
  readonly snapshotTimeoutMs: number;
  /** A batch could not be delivered (or the queue overflowed). */
  onUnreachable(to: NodeId): void;
  /** Fate of a snapshot message; failures must reach the Raft core. */
  onSnapshotStatus(to: NodeId, ok: boolean): void;
  /** A delivered (ok) or lost batch holding `appends` append messages; `ms` is its round trip. */
  onBatch(to: NodeId, ok: boolean, appends: number, ms: number): void;
  /** A batch that certainly never reached the peer (no connection could be made). */
  onUndelivered(to: NodeId, messages: readonly Message[]): void;
  /** The peer answered 410: this member has been removed from the cluster. */
  onRemoved(by: NodeId): void;
}

/** The peer answered, but did not take the messages (another cluster, a malformed batch, ...). */
export class PeerRefusedError extends CairnError {
  readonly status: number;

  constructor(status: number, body: string) {
    super('CAIRN_PEER_REFUSED', `peer answered ${status}: ${body.trim().slice(0, 200)}`);
    this.status = status;
  }
}

/** etcd's answer to a removed member, which must then stop. */
export const REMOVED_STATUS = 410;

function roughSize(m: Message): number {
  if (m.type !== 'append' && m.type !== 'propose') return 64;
  let n = 64;
  for (const e of m.entries) n += 32 + e.data.byteLength;
  return n;
}

/**
 * The stream of messages to one peer: queued, sent in batches over one
 * HTTP request at a time (so the peer sees them in order), dropped on
 * failure. Snapshots travel on their own request so that a large transfer
 * does not hold up heartbeats.
 */
export class PeerSender {
  readonly #opts: PeerSenderOptions;
  #urls: readonly string[];
  #urlAt = 0;
  #pool: Pool;
  #queue: Message[] = [];
  #busy = false;
  #closed = false;
  #reachable = true;
  #snapshotting = false;

  constructor(options: PeerSenderOptions) {
    this.#opts = options;
    this.#urls = options.urls;
    this.#pool = this.#newPool();
  }

  get to(): NodeId {
    return this.#opts.to;
  }

  send(m: Message): void {
    if (this.#closed) return;
    if (m.type === 'snapshot') {
      this.#sendSnapshot(m);
      return;
    }
    if (this.#queue.length >= MAX_QUEUE) {
      this.#opts.onUnreachable(this.#opts.to);
      return;
    }
    this.#queue.push(m);
    if (!this.#busy) void this.#pump();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#queue = [];
    await this.#pool.destroy().catch(() => undefined);
  }

  #newPool(): Pool {
    const url = this.#urls[this.#urlAt % this.#urls.length] as string;
    // Two connections: the message stream and a snapshot transfer never wait for each other.
    return new Pool(url, { connections: 2, pipelining: 1, keepAliveTimeout: 30_000, connect: { timeout: this.#opts.messageTimeoutMs } });
  }

  /** After a failure, the next attempt goes to the peer's next URL (if it has several). */
  #rotateUrl(): void {
    if (this.#urls.length < 2) return;
    this.#urlAt += 1;
    const old = this.#pool;
    this.#pool = this.#newPool();
    void old.destroy().catch(() => undefined);
  }

  #takeBatch(): Message[] {
    let bytes = 0;
    let n = 0;
    while (n < this.#queue.length && n < MAX_BATCH_MESSAGES) {
      bytes += roughSize(this.#queue[n] as Message);
      n += 1;
      if (bytes >= MAX_BATCH_BYTES) break;
    }
    return this.#queue.splice(0, n);
  }

  async #pump(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const batch = this.#takeBatch();
        let appends = 0;
        for (const m of batch) if (m.type === 'append') appends += 1;
        const started = performance.now();
        try {
          await this.#post(MESSAGES_PATH, encodeMessages(batch), this.#opts.messageTimeoutMs);
          this.#markReachable();
          this.#opts.onBatch(this.#opts.to, true, appends, performance.now() - started);
        } catch (err) {
          if (this.#closed) return;
          if (err instanceof PeerRefusedError && err.status === REMOVED_STATUS) {
            this.#queue = [];
            this.#opts.onRemoved(this.#opts.to);
            return;
          }
          // What queued behind a failed batch would most likely fail too; Raft resends what matters.
          this.#queue = [];
          this.#markUnreachable(err);
          this.#opts.onBatch(this.#opts.to, false, appends, performance.now() - started);
          if (neverConnected(err)) this.#opts.onUndelivered(this.#opts.to, batch);
          this.#opts.onUnreachable(this.#opts.to);
        }
      }
    } finally {
      this.#busy = false;
    }
  }

  #sendSnapshot(m: Extract<Message, { type: 'snapshot' }>): void {
    if (this.#snapshotting) {
      // The core sends one snapshot at a time per peer; a second one means the first was given up.
      this.#opts.onSnapshotStatus(this.#opts.to, false);
      return;
    }
    this.#snapshotting = true;
    const { index, data } = m.snapshot;
    this.#opts.logger.info({ to: this.#opts.to, index, bytes: data.byteLength }, 'sending snapshot');
    const started = performance.now();
    this.#post(SNAPSHOT_PATH, encodeMessages([m]), this.#opts.snapshotTimeoutMs).then(
      () => {
        this.#snapshotting = false;
        this.#opts.logger.info({ to: this.#opts.to, index, ms: Math.round(performance.now() - started) }, 'snapshot sent');
        this.#opts.onSnapshotStatus(this.#opts.to, true);
      },
      (err: unknown) => {
        this.#snapshotting = false;
        if (this.#closed) return;
        this.#opts.logger.warn({ to: this.#opts.to, index, err: errorMessage(err) }, 'sending snapshot failed');
        this.#opts.onSnapshotStatus(this.#opts.to, false);
        this.#opts.onUnreachable(this.#opts.to);
      },
    );
  }

  async #post(path: string, body: Buffer, timeoutMs: number): Promise<void> {
    const res = await this.#pool.request({
      path,
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/octet-stream',
        [CLUSTER_HEADER]: this.#opts.clusterId,
        [FROM_HEADER]: this.#opts.from,
      },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    if (res.statusCode !== 204) throw new PeerRefusedError(res.statusCode, text);
  }

  #markReachable(): void {
    if (this.#reachable) return;
    this.#reachable = true;
    this.#opts.logger.info({ peer: this.#opts.to }, 'peer reachable again');
  }

  #markUnreachable(err: unknown): void {
    this.#rotateUrl();
    if (!this.#reachable) return;
    this.#reachable = false;
    this.#opts.logger.warn({ peer: this.#opts.to, err: errorMessage(err) }, 'peer unreachable');
  }
}
