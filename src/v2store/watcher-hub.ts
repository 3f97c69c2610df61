import { eventIndex, type V2Event } from './event.js';
import type { EventHistory } from './event-history.js';

/**
 * A registered watch. `deliver` is called synchronously from the apply path,
 * so it must only queue or write, never block; it returns false when the
 * consumer can no longer keep up, which removes the watcher (the client sees
 * its response end and re-watches from its last index, as with etcd).
 */
export interface WatcherSink {
  deliver(event: V2Event): boolean;
  /** Called once when the hub drops the watcher for any reason other than close(). */
  ended?(): void;
}

export class Watcher {
  readonly key: string;
  readonly recursive: boolean;
  readonly stream: boolean;
  readonly sinceIndex: number;
  /** The store index when the watch began; sent as X-Etcd-Index. */
  readonly startIndex: number;
  removed = false;
  #lastDelivered = 0;
  readonly #sink: WatcherSink;
  readonly #hub: WatcherHub;

  constructor(hub: WatcherHub, key: string, recursive: boolean, stream: boolean, sinceIndex: number, startIndex: number, sink: WatcherSink) {
    this.#hub = hub;
    this.key = key;
    this.recursive = recursive;
    this.stream = stream;
    this.sinceIndex = sinceIndex;
    this.startIndex = startIndex;
    this.#sink = sink;
  }

  /** Returns true when the event was for this watcher (and so a one-shot watch is done). */
  notify(event: V2Event, originalPath: boolean, deleted: boolean): boolean {
    const index = eventIndex(event);
    if (!(this.recursive || originalPath || deleted) || index < this.sinceIndex) return false;
    // A directory delete reaches a stream watcher both from the walk below the
    // directory and from the walk up its path; it must see the event once.
    if (index === this.#lastDelivered) return true;
    this.#lastDelivered = index;
    if (!this.#sink.deliver(event)) {
      this.#hub.remove(this);
      this.#sink.ended?.();
    }
    return true;
  }

  close(): void {
    this.#hub.remove(this);
  }

  /** Called by the hub when it drops this watcher. */
  end(): void {
    this.#sink.ended?.();
  }
}

/**
 * Watchers indexed by the path they watch. An event walks the segments of its
 * key ("/", "/a", "/a/b"), so its cost grows with key depth, not with the
 * number of watchers elsewhere in the tree.
 */
export class WatcherHub {
  readonly #byPath = new Map<string, Set<Watcher>>();
  readonly history: EventHistory;
  #count = 0;

  constructor(history: EventHistory) {
    this.history = history;
  }

  get count(): number {
    return this.#count;
  }

  /**
   * Registers a watch from `sinceIndex`. If history already holds a matching
   * event it is delivered at once and (for a one-shot watch) nothing is registered.
   */
  watch(key: string, recursive: boolean, stream: boolean, sinceIndex: number, storeIndex: number, sink: WatcherSink): Watcher {
    const past = this.history.scan(key, recursive, sinceIndex, storeIndex);
    const watcher = new Watcher(this, key, recursive, stream, sinceIndex, storeIndex, sink);
    if (past !== undefined) {
      watcher.notify(past, true, false);
      if (!stream || watcher.removed) {
        watcher.removed = true;
        return watcher;
      }
    }
    let set = this.#byPath.get(key);
    if (set === undefined) {
      set = new Set();
      this.#byPath.set(key, set);
    }
    set.add(watcher);
    this.#count += 1;
    return watcher;
  }

  remove(watcher: Watcher): void {
    if (watcher.removed) return;
    watcher.removed = true;
    const set = this.#byPath.get(watcher.key);
    if (set?.delete(watcher) === true) {
      this.#count -= 1;
      if (set.size === 0) this.#byPath.delete(watcher.key);
    }
  }

  /** Drops every watcher, telling each sink it ended. */
  endAll(): void {
    for (const set of [...this.#byPath.values()]) {
      for (const watcher of [...set]) {
        this.remove(watcher);
        watcher.end();
      }
    }
  }

  /** Records the event and wakes every watcher on its path and above. */
  notify(event: V2Event): void {
    this.history.add(event);
    const key = event.node.key ?? '/';
    this.notifyPath(event, '/', false);
    for (let i = 1; i < key.length; i++) {
      if (key.charCodeAt(i) === 47 /* / */) this.notifyPath(event, key.slice(0, i), false);
    }
    if (key.length > 1) this.notifyPath(event, key, false);
  }

  /** Records a refresh: it stays in history for index continuity but wakes nobody. */
  record(event: V2Event): void {
    this.history.add(event);
  }

  notifyPath(event: V2Event, path: string, deleted: boolean): void {
    const set = this.#byPath.get(path);
    if (set === undefined) return;
    const key = event.node.key ?? '/';
    const originalPath = key === path;
    for (const watcher of set) {
      if (!originalPath && isHiddenBelow(path, key)) continue;
      if (watcher.notify(event, originalPath, deleted) && !watcher.stream) this.remove(watcher);
    }
  }
}

/** Whether `key`, seen from a watch on `watchPath`, lies in or under a hidden (`_`) node. */
function isHiddenBelow(watchPath: string, key: string): boolean {
  if (watchPath.length > key.length) return false;
  const rest = key.slice(watchPath.length);
  return `/${rest}`.includes('/_');
}
