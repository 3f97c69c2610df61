import { watch as chokidarWatch, type FSWatcher } from 'chokidar';
import type { Logger } from '../../log/logger.js';
import { HistoryLostError, type Backend, type Change, type Listing } from './backend.js';
import { readDataFiles, underPrefix } from './file-data.js';

/**
 * YAML or JSON files as keys, for CI renders and local development. Each
 * successful re-read of the files is a new generation (the index); a broken
 * edit keeps the previous data and is logged.
 */
export class FileBackend implements Backend {
  readonly name = 'file';
  readonly watchable = true;
  readonly #paths: readonly string[];
  readonly #logger: Logger;
  #generation = 1;
  #pairs: Map<string, string> | undefined;
  #watcher: FSWatcher | undefined;
  #reloading: Promise<void> | undefined;
  #reloadAgain = false;
  #lastError: string | undefined;
  readonly #waiters = new Set<() => void>();
  #previous: { generation: number; pairs: Map<string, string> } | undefined;

  constructor(paths: readonly string[], logger: Logger) {
    this.#paths = paths;
    this.#logger = logger;
  }

  async list(prefix: string): Promise<Listing> {
    if (this.#watcher === undefined) {
      // Not watching (--onetime, --interval): every listing reads the files as they are now.
      const fresh = await readDataFiles(this.#paths);
      if (this.#pairs !== undefined && !samePairs(this.#pairs, fresh)) this.#generation += 1;
      this.#pairs = fresh;
    }
    if (this.#pairs === undefined) {
      const pairs = await readDataFiles(this.#paths);
      // A reload may have finished during the read; its data is at least as new.
      this.#pairs ??= pairs;
    }
    const pairs = new Map<string, string>();
    for (const [key, value] of this.#pairs) if (underPrefix(prefix, key)) pairs.set(key, value);
    return { index: this.#generation, pairs };
  }

  async *watch(prefix: string, fromIndex: number, signal: AbortSignal): AsyncIterable<Change> {
    await this.#startWatching();
    for (;;) {
      if (signal.aborted) return;
      if (fromIndex <= this.#generation) {
        const previous = this.#previous;
        if (previous === undefined || previous.generation !== fromIndex - 1 || fromIndex !== this.#generation) {
          throw new HistoryLostError(`files changed more than once since generation ${fromIndex - 1}`);
        }
        const changes = diffPairs(prefix, previous.pairs, this.#pairs ?? new Map(), this.#generation);
        fromIndex = this.#generation + 1;
        if (changes.length === 0) throw new HistoryLostError('files changed outside this prefix');
        yield* changes;
        continue;
      }
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.#waiters.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.#waiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  #ready: Promise<void> | undefined;

  /** Once chokidar is ready, reads the files again: an edit made before it was watching is not lost. */
  #startWatching(): Promise<void> {
    this.#ready ??= new Promise<void>((resolve) => {
      const watcher = chokidarWatch([...this.#paths], { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 } });
      this.#watcher = watcher;
      const onEvent = (): void => this.#scheduleReload();
      watcher.on('add', onEvent).on('change', onEvent).on('unlink', onEvent);
      watcher.on('error', (err) => this.#logger.warn({ err }, 'watching data files failed'));
      watcher.once('ready', () => {
        this.#scheduleReload();
        resolve();
      });
    });
    return this.#ready;
  }

  #scheduleReload(): void {
    if (this.#reloading !== undefined) {
      this.#reloadAgain = true;
      return;
    }
    this.#reloading = this.#reload().finally(() => {
      this.#reloading = undefined;
      if (this.#reloadAgain) {
        this.#reloadAgain = false;
        this.#scheduleReload();
      }
    });
  }

  async #reload(): Promise<void> {
    let pairs: Map<string, string>;
    try {
      pairs = await readDataFiles(this.#paths);
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.#lastError) this.#logger.error({ err: message }, 'data file change rejected; keeping the previous data');
      this.#lastError = message;
      return;
    }
    if (this.#lastError !== undefined) this.#logger.info('data files readable again');
    this.#lastError = undefined;
    if (this.#pairs !== undefined && samePairs(this.#pairs, pairs)) return;
    this.#previous = { generation: this.#generation, pairs: this.#pairs ?? new Map() };
    this.#pairs = pairs;
    this.#generation += 1;
    for (const wake of [...this.#waiters]) wake();
  }

  async close(): Promise<void> {
    for (const wake of [...this.#waiters]) wake();
    await this.#watcher?.close();
  }
}

function diffPairs(prefix: string, before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>, index: number): Change[] {
  const changes: Change[] = [];
  for (const [key, value] of after) {
    if (underPrefix(prefix, key) && before.get(key) !== value) changes.push({ index, key, value, dir: false, removed: false });
  }
  for (const key of before.keys()) {
    if (underPrefix(prefix, key) && !after.has(key)) changes.push({ index, key, value: undefined, dir: false, removed: true });
  }
  return changes;
}

function samePairs(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}
