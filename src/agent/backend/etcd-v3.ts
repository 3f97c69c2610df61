import type { EtcdV3Client } from '../../client/etcd-v3-client.js';
import type { V3WatchMessage } from '../../client/etcd-v3-codec.js';
import { EtcdV3ApiError } from '../../client/etcd-v3-errors.js';
import { errorMessage } from '../../util/errors.js';
import { BackendError, HistoryLostError, type Backend, type Change, type Listing } from './backend.js';
import { keySpan, type KeySpan } from './etcd-v3-keys.js';

export interface EtcdV3BackendOptions {
  /** While a watch is idle, check its member answers this often (default 10 s). */
  readonly livenessMs?: number;
}

const DEFAULT_LIVENESS_MS = 10_000;
const HEALTHY_STREAM_MS = 5_000;

/**
 * An etcd v3 cluster through its JSON gateway. A listing is one
 * linearizable range read, and its revision is the index; a watch resumes
 * after a broken stream from the revision after the last one it delivered,
 * on the next member, and a compaction past that revision is a
 * HistoryLostError, so the feed lists afresh and no change is ever missed.
 */
export class EtcdV3Backend implements Backend {
  readonly name = 'etcdv3';
  readonly watchable = true;
  readonly #client: EtcdV3Client;
  readonly #livenessMs: number;

  constructor(client: EtcdV3Client, options: EtcdV3BackendOptions = {}) {
    this.#client = client;
    this.#livenessMs = options.livenessMs ?? DEFAULT_LIVENESS_MS;
  }

  async list(prefix: string, signal?: AbortSignal): Promise<Listing> {
    const span = keySpan(prefix);
    try {
      const result = await this.#client.range(span.key, { rangeEnd: span.rangeEnd, ...(signal === undefined ? {} : { signal }) });
      const pairs = new Map<string, string>();
      for (const kv of result.kvs) if (span.holds(kv.key)) pairs.set(kv.key, kv.value);
      return { index: result.header.revision, pairs };
    } catch (err) {
      throw asBackendError(err, `list ${prefix}`);
    }
  }

  async *watch(prefix: string, fromIndex: number, signal: AbortSignal): AsyncIterable<Change> {
    const span = keySpan(prefix);
    let next = fromIndex;
    // Streams that broke soon after they opened, in a row: one more try than there are members, then the feed's backoff takes over.
    let broken = 0;
    for (;;) {
      let stream;
      try {
        stream = await this.#client.watch({ key: span.key, rangeEnd: span.rangeEnd, startRevision: next }, { signal, livenessMs: this.#livenessMs });
      } catch (err) {
        if (signal.aborted) return;
        throw asBackendError(err, `watch ${prefix}`);
      }
      const openedAt = Date.now();
      try {
        if (stream.created.header.revision + 1 < next) await this.#checkNotBehind(prefix, next, signal);
        for await (const message of stream.messages()) {
          const changes = this.#changes(prefix, span, message, next);
          if (message.events.length > 0) next = Math.max(next, ...message.events.map((e) => e.kv.modRevision + 1));
          broken = 0;
          yield* changes;
        }
        // The member ended the stream (it is shutting down, or lost its leader): go on elsewhere.
        throw new BackendError(`${stream.endpoint} ended the watch on ${prefix}`);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof HistoryLostError) throw err;
        this.#client.avoid(stream.endpoint);
        // A stream that served a while before it broke was healthy: its member just went away.
        broken = Date.now() - openedAt > HEALTHY_STREAM_MS ? 1 : broken + 1;
        if (broken > this.#client.endpoints.length) throw asBackendError(err, `watch ${prefix}`);
      } finally {
        stream.close();
      }
    }
  }

  /** The changes one message carries, or the error it stands for. */
  #changes(prefix: string, span: KeySpan, message: V3WatchMessage, next: number): Change[] {
    if (message.canceled) {
      if (message.compactRevision > 0) {
        throw new HistoryLostError(`${prefix}: revisions from ${next} are compacted (etcd keeps history from ${message.compactRevision})`);
      }
      throw new BackendError(`etcd canceled the watch on ${prefix}: ${message.cancelReason || 'no reason given'}`);
    }
    const changes: Change[] = [];
    for (const event of message.events) {
      // All events of one revision arrive in one message, so skipping by revision never splits a transaction.
      if (event.kv.modRevision < next || !span.holds(event.kv.key)) continue;
      const removed = event.type === 'delete';
      changes.push({ index: event.kv.modRevision, key: event.kv.key, value: removed ? undefined : event.kv.value, dir: false, removed });
    }
    return changes;
  }

  /**
   * The member that took the watch is behind the revision we resume from.
   * A follower that has not applied the latest entries yet catches up and
   * the watch waits for it; but a cluster whose revision went backwards
   * (restored from a backup) would never deliver what it lost, so then the
   * feed must list afresh.
   */
  async #checkNotBehind(prefix: string, next: number, signal: AbortSignal): Promise<void> {
    const { header } = await this.#client.range(keySpan(prefix).key, { signal });
    if (header.revision + 1 < next) {
      throw new HistoryLostError(`${prefix}: the cluster is at revision ${header.revision}, behind the ${next - 1} already seen (restored from a backup?)`);
    }
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

function asBackendError(err: unknown, what: string): unknown {
  if (err instanceof BackendError || err instanceof HistoryLostError || (err as { name?: unknown }).name === 'AbortError') return err;
  if (err instanceof EtcdV3ApiError && err.compacted) return new HistoryLostError(`${what}: ${err.message}`, { cause: err });
  return new BackendError(`${what}: ${errorMessage(err)}`, { cause: err });
}
