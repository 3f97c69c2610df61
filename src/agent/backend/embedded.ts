import { AsyncQueue } from '../../util/async-queue.js';
import { ErrorCode, V2Error } from '../../v2store/errors.js';
import type { V2Event } from '../../v2store/event.js';
import type { V2Store } from '../../v2store/store.js';
import { BackendError, HistoryLostError, type Backend, type Change, type Listing } from './backend.js';
import { changeFromV2Event, collectLeaves } from './v2-nodes.js';

/** A watcher that falls this far behind is dropped and resumes from its last index, as HTTP watchers are. */
const MAX_QUEUED_EVENTS = 10_000;

/**
 * The agent's own store, read in-process: no HTTP, no serialisation, and a
 * watch that sees events as they are applied. `store()` is asked each time
 * because a replica may swap its store when it installs a snapshot.
 */
export class EmbeddedBackend implements Backend {
  readonly name = 'embedded';
  readonly watchable = true;
  readonly #store: () => V2Store;

  constructor(store: () => V2Store) {
    this.#store = store;
  }

  async list(prefix: string): Promise<Listing> {
    const store = this.#store();
    try {
      const event = store.get(prefix, true, false, Date.now());
      return { index: event.etcdIndex, pairs: collectLeaves(event.node, new Map()) };
    } catch (err) {
      if (err instanceof V2Error && err.errorCode === ErrorCode.KeyNotFound) return { index: store.index, pairs: new Map() };
      throw err;
    }
  }

  async *watch(prefix: string, fromIndex: number, signal: AbortSignal): AsyncIterable<Change> {
    const queue = new AsyncQueue<V2Event>();
    let watcher;
    try {
      watcher = this.#store().watch(prefix, true, true, fromIndex, {
        deliver(event) {
          if (queue.length >= MAX_QUEUED_EVENTS) return false;
          queue.push(event);
          return true;
        },
        ended() {
          queue.fail(new BackendError(`watch on ${prefix} fell behind and was dropped`));
        },
      });
    } catch (err) {
      if (err instanceof V2Error && err.errorCode === ErrorCode.EventIndexCleared) {
        throw new HistoryLostError(`history before index ${fromIndex} is gone: ${err.message}`, { cause: err });
      }
      throw err;
    }
    const stop = (): void => queue.end();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const event of queue) yield changeFromV2Event(event.action, event.node);
    } finally {
      signal.removeEventListener('abort', stop);
      watcher.close();
    }
  }

  async close(): Promise<void> {}
}
