import { V2ApiError, type V2Client } from '../../client/v2-client.js';
import { BackendError, HistoryLostError, type Backend, type Change, type Listing } from './backend.js';
import { changeFromV2Event, collectLeaves } from './v2-nodes.js';

const KEY_NOT_FOUND = 100;
const EVENT_INDEX_CLEARED = 401;

/**
 * Any etcd v2 API server (a Cairn cluster, or etcd with --enable-v2) through
 * the shared client, which fails over between endpoints. Listings use
 * `quorum=true` so a render never goes back in time after a failover.
 */
export class EtcdV2Backend implements Backend {
  readonly name = 'etcd';
  readonly watchable = true;
  readonly #client: V2Client;

  constructor(client: V2Client) {
    this.#client = client;
  }

  async list(prefix: string, signal?: AbortSignal): Promise<Listing> {
    try {
      const result = await this.#client.get(prefix, { recursive: true, quorum: true, ...(signal === undefined ? {} : { signal }) });
      return { index: result.etcdIndex, pairs: collectLeaves(result.node, new Map()) };
    } catch (err) {
      // etcd's error index is its current index, so a watch from index + 1 still misses nothing.
      if (err instanceof V2ApiError && err.errorCode === KEY_NOT_FOUND) return { index: err.index, pairs: new Map() };
      throw asBackendError(err, `list ${prefix}`);
    }
  }

  async *watch(prefix: string, fromIndex: number, signal: AbortSignal): AsyncIterable<Change> {
    let next = fromIndex;
    for (;;) {
      let result;
      try {
        result = await this.#client.watch(prefix, { recursive: true, waitIndex: next, signal });
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof V2ApiError && err.errorCode === EVENT_INDEX_CLEARED) {
          throw new HistoryLostError(`${prefix}: events from index ${next} are gone (${err.message})`, { cause: err });
        }
        throw asBackendError(err, `watch ${prefix}`);
      }
      const change = changeFromV2Event(result.action, result.node);
      if (change.index < next) {
        // A server that answers with an older index than asked is not one we can trust to be complete.
        throw new HistoryLostError(`${prefix}: watch from ${next} answered with index ${change.index}`);
      }
      next = change.index + 1;
      yield change;
    }
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

function asBackendError(err: unknown, what: string): unknown {
  if (err instanceof BackendError || (err as { name?: unknown }).name === 'AbortError') return err;
  return new BackendError(`${what}: ${(err as Error).message}`, { cause: err });
}
