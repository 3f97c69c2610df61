import { AsyncQueue } from '../../util/async-queue.js';
import { ErrorCode, V2Error } from '../../v2store/errors.js';
import { eventIndex, type V2Event } from '../../v2store/event.js';
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
    let next = fromIndex;
    while (!signal.aborted) {
      // A stream watch that starts in the past replays only the first matching
      // event from history and then goes live (as etcd's does), skipping the
      // rest of the backlog. So while history has something for us, take that
      // one event and watch again from just after it; only a watch that history
      // has nothing for is kept as the live stream.
      let past: V2Event | undefined;
      let live = false;
      const queue = new AsyncQueue<V2Event>();
      let watcher;
      try {
        watcher = this.#store().watch(prefix, true, true, next, {
          deliver(event) {
            if (!live) {
              past = event;
              return true;
            }
            if (queue.length >= MAX_QUEUED_EVENTS) return false;
            queue.push(event);
            return true;
          },
          ended() {
            queue.fail(new BackendError(`the store ended the watch on ${prefix} (it fell behind, or the store was replaced)`));
          },
        });
      } catch (err) {
        if (err instanceof V2Error && err.errorCode === ErrorCode.EventIndexCleared) {
          throw new HistoryLostError(`history before index ${next} is gone: ${err.message}`, { cause: err });
        }
        throw err;
      }
      live = true;
      if (past !== undefined) {
        watcher.close();
        next = eventIndex(past) + 1;
        yield changeFromV2Event(past.action, past.node);
        continue;
      }
      const stop = (): void => queue.end();
      signal.addEventListener('abort', stop, { once: true });
      try {
        for await (const event of queue) yield changeFromV2Event(event.action, event.node);
      } finally {
        signal.removeEventListener('abort', stop);
        watcher.close();
      }
      return;
    }
  }

  async close(): Promise<void> {}
}
