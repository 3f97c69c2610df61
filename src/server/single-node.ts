import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { Snapshotter } from '../storage/snapshotter.js';
import type { LogEntry } from '../storage/types.js';
import { Wal } from '../storage/wal.js';
import { CairnError } from '../util/errors.js';
import { decodeCommand, encodeCommand, type V2Command } from '../v2store/command.js';
import { ErrorCode, V2Error } from '../v2store/errors.js';
import type { V2Event } from '../v2store/event.js';
import { V2Store } from '../v2store/store.js';
import type { KeyService } from './key-service.js';

export interface SingleNodeOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  /** Applied entries between snapshots (etcd's --snapshot-count). */
  readonly snapshotCount?: number;
  /** Wall clock, injectable for tests. */
  readonly now?: () => number;
}

const TERM = 1;

interface Pending {
  readonly index: number;
  readonly command: V2Command;
  resolve(event: V2Event): void;
  reject(err: unknown): void;
}

/**
 * A store node without peers: every command is written to the WAL, fsynced
 * (shared with concurrent writers by the WAL's group commit), and only then
 * applied and acknowledged — so an acknowledged write survives kill -9, and
 * no reader ever sees a write that a crash could take back.
 */
export class SingleNode implements KeyService {
  store: V2Store;
  #wal: Wal;
  readonly #snapshotter: Snapshotter;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #snapshotCount: number;
  #lastIndex: number;
  #applied: number;
  #snapshotIndex: number;
  #snapshotting = false;
  readonly #pending: Pending[] = [];
  #expiryTimer: NodeJS.Timeout | undefined;
  #expiryAt = Number.POSITIVE_INFINITY;
  #expiring = false;
  #failure: Error | undefined;
  #closed = false;
  onFatal: (err: Error) => void = () => {};

  private constructor(store: V2Store, wal: Wal, snapshotter: Snapshotter, lastIndex: number, snapshotIndex: number, options: SingleNodeOptions) {
    this.store = store;
    this.#wal = wal;
    this.#snapshotter = snapshotter;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#snapshotCount = options.snapshotCount ?? 10_000;
    this.#lastIndex = lastIndex;
    this.#applied = lastIndex;
    this.#snapshotIndex = snapshotIndex;
  }

  /** Restores the newest snapshot, replays the WAL after it, and starts expiring keys. */
  static async open(options: SingleNodeOptions): Promise<SingleNode> {
    const { dataDir, logger } = options;
    await mkdir(join(dataDir, 'member'), { recursive: true });
    const started = performance.now();
    const snapshotter = new Snapshotter(join(dataDir, 'member', 'snap'), logger);
    const snapshot = await snapshotter.loadNewest();
    const store = snapshot === undefined ? new V2Store() : V2Store.restore(snapshot.data);
    const snapshotIndex = snapshot?.index ?? 0;
    const { wal, state } = await Wal.open(join(dataDir, 'member', 'wal'), { logger });
    if (state.snapshot.index > snapshotIndex) {
      throw new CairnError(
        'CAIRN_SNAPSHOT_MISSING',
        `the WAL expects a snapshot at index ${state.snapshot.index} but the newest readable snapshot is at ${snapshotIndex}`,
      );
    }
    let lastIndex = snapshotIndex;
    const now = (options.now ?? Date.now)();
    for (const entry of state.entries) {
      if (entry.index <= snapshotIndex) continue;
      if (entry.index !== lastIndex + 1) {
        throw new CairnError('CAIRN_WAL_GAP', `WAL entry ${entry.index} follows ${lastIndex}: entries are missing`);
      }
      applyQuietly(store, decodeCommand(entry.data), now);
      lastIndex = entry.index;
    }
    logger.info(
      {
        snapshotIndex,
        replayed: lastIndex - snapshotIndex,
        storeIndex: store.index,
        repairedBytes: state.repairedBytes,
        ms: Math.round(performance.now() - started),
      },
      'store restored',
    );
    const node = new SingleNode(store, wal, snapshotter, lastIndex, snapshotIndex, options);
    node.#scheduleExpiry();
    return node;
  }

  get appliedIndex(): number {
    return this.#applied;
  }

  get term(): number {
    return TERM;
  }

  propose(command: V2Command): Promise<V2Event> {
    if (this.#failure !== undefined) return Promise.reject(internalError(this.#failure.message, this.store.index));
    if (this.#closed) return Promise.reject(internalError('server is shutting down', this.store.index));
    const index = ++this.#lastIndex;
    const entry: LogEntry = { index, term: TERM, data: encodeCommand(command) };
    return new Promise<V2Event>((resolve, reject) => {
      this.#pending.push({ index, command, resolve, reject });
      this.#wal.append([entry]).then(
        () => this.#applyDurable(index),
        (err: unknown) => this.#fail(err),
      );
    });
  }

  /** Applies, in log order, every pending command up to a durable index. */
  #applyDurable(durable: number): void {
    while (this.#pending.length > 0 && (this.#pending[0] as Pending).index <= durable) {
      const pending = this.#pending.shift() as Pending;
      let event: V2Event;
      try {
        event = this.store.apply(pending.command, this.#now());
      } catch (err) {
        this.#applied = pending.index;
        pending.reject(err);
        continue;
      }
      this.#applied = pending.index;
      pending.resolve(event);
    }
    this.#scheduleExpiry();
    this.#maybeSnapshot();
  }

  #fail(err: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = err instanceof Error ? err : new Error(String(err));
    this.#logger.fatal({ err: this.#failure }, 'write-ahead log failed; refusing further writes');
    for (const pending of this.#pending.splice(0)) pending.reject(internalError(this.#failure.message, this.store.index));
    this.onFatal(this.#failure);
  }

  // Expiry is a logged command like any write, so a replay deletes the same
  // keys at the same index instead of consulting the clock again.
  #scheduleExpiry(): void {
    if (this.#closed || this.#expiring) return;
    const next = this.store.nextExpiry();
    if (next === undefined) return;
    if (this.#expiryTimer !== undefined && next >= this.#expiryAt) return;
    clearTimeout(this.#expiryTimer);
    this.#expiryAt = next;
    const delay = Math.max(0, Math.min(next - this.#now(), 2 ** 31 - 1));
    this.#expiryTimer = setTimeout(() => this.#expireDue(), delay);
    this.#expiryTimer.unref();
  }

  #expireDue(): void {
    this.#expiryTimer = undefined;
    this.#expiryAt = Number.POSITIVE_INFINITY;
    const now = this.#now();
    const next = this.store.nextExpiry();
    if (next === undefined) return;
    if (next > now) {
      this.#scheduleExpiry();
      return;
    }
    this.#expiring = true;
    this.propose({ op: 'expire', now }).then(
      () => this.#expiryDone(),
      (err: unknown) => {
        this.#logger.warn({ err }, 'expiring keys failed');
        this.#expiryDone();
      },
    );
  }

  #expiryDone(): void {
    this.#expiring = false;
    this.#scheduleExpiry();
  }

  #maybeSnapshot(): void {
    if (this.#snapshotting || this.#applied - this.#snapshotIndex < this.#snapshotCount) return;
    this.#snapshotting = true;
    const index = this.#applied;
    const data = this.store.save();
    void this.#writeSnapshot(index, data).finally(() => {
      this.#snapshotting = false;
    });
  }

  async #writeSnapshot(index: number, data: Uint8Array): Promise<void> {
    try {
      // The snapshot file must be durable before the WAL says it exists.
      await this.#snapshotter.save({ index, term: TERM, data });
      await this.#wal.saveSnapshotMarker({ index, term: TERM });
      await this.#wal.releaseBefore(index);
      this.#snapshotIndex = index;
      this.#logger.info({ index, bytes: data.byteLength }, 'snapshot saved');
    } catch (err) {
      this.#logger.error({ err }, 'snapshot failed; the WAL keeps every entry until the next attempt');
    }
  }

  /** Stops taking writes, lets in-flight ones finish, and closes the WAL. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#expiryTimer);
    const last = this.#lastIndex;
    const deadline = Date.now() + 10_000;
    while (this.#applied < last && this.#failure === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await this.#wal.close();
  }
}

function applyQuietly(store: V2Store, command: V2Command, now: number): void {
  try {
    store.apply(command, now);
  } catch (err) {
    // Failed conditional writes are logged too; they fail again, identically.
    if (!(err instanceof V2Error)) throw err;
  }
}

function internalError(message: string, index: number): V2Error {
  return new V2Error(ErrorCode.RaftInternal, message, index);
}
