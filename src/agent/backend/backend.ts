import { CairnError } from '../../util/errors.js';

/** Every leaf key under a prefix at one index of the backend. */
export interface Listing {
  /** The backend's index when the listing was taken: watching from index + 1 misses nothing. */
  readonly index: number;
  /** Absolute key → value, leaves only (directories are implied by their keys). */
  readonly pairs: ReadonlyMap<string, string>;
}

/** One change under a watched prefix. A deleted directory removes every key below it. */
export interface Change {
  readonly index: number;
  readonly key: string;
  /** The new value; undefined when the key went away, and always for a directory. */
  readonly value: string | undefined;
  /** The change is to a directory: created, given a TTL (etcdctl updatedir), or removed with everything below it. */
  readonly dir: boolean;
  /** The key, or the directory and every key below it, went away (delete, compareAndDelete, expire). */
  readonly removed: boolean;
}

/**
 * Where the agent's keys come from. Implementations: the embedded store, the
 * etcd v2 HTTP API, YAML/JSON files and the environment.
 */
export interface Backend {
  /** For logs and errors. */
  readonly name: string;
  /** False when nothing can ever change (env): watch mode renders once and says so. */
  readonly watchable: boolean;
  /** Recursive read of a prefix. A prefix that does not exist is an empty listing, not an error. */
  list(prefix: string, signal?: AbortSignal): Promise<Listing>;
  /**
   * Every change under `prefix` with index >= `fromIndex`, in index order.
   * Returns when `signal` aborts. Throws HistoryLostError when `fromIndex` is
   * older than the backend remembers, so the caller lists afresh; any other
   * error means "resume from the last index seen + 1".
   */
  watch(prefix: string, fromIndex: number, signal: AbortSignal): AsyncIterable<Change>;
  close(): Promise<void>;
}

/** The backend no longer has the history asked for (v2 error 401, v3 compaction). */
export class HistoryLostError extends CairnError {
  constructor(message: string, options?: ErrorOptions) {
    super('CAIRN_HISTORY_LOST', message, options);
  }
}

/** A backend failed in a way worth retrying (unreachable, protocol trouble). */
export class BackendError extends CairnError {
  constructor(message: string, options?: ErrorOptions) {
    super('CAIRN_BACKEND', message, options);
  }
}
