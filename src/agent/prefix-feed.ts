import type { Logger } from '../log/logger.js';
import { backoffDelay, sleep, type BackoffPolicy } from '../util/backoff.js';
import { HistoryLostError, type Backend } from './backend/backend.js';
import { KeyMirror } from './key-mirror.js';

export type FeedListener = (prefix: string, changedKeys: readonly string[]) => void;

const RETRY: BackoffPolicy = { baseMs: 500, capMs: 30_000 };

/**
 * Keeps a KeyMirror of one prefix in step with the backend, losing nothing:
 * list, then watch from the listing's index + 1; after an error resume from
 * the last index seen + 1; when the backend no longer has that history, list
 * again. Outages are logged once when they start and once when they end.
 */
export class PrefixFeed {
  readonly mirror: KeyMirror;
  readonly #backend: Backend;
  readonly #logger: Logger;
  readonly #listener: FeedListener;
  #ready = false;
  #needList = true;
  #failing: string | undefined;
  #inner: AbortController | undefined;

  constructor(backend: Backend, prefix: string, logger: Logger, listener: FeedListener) {
    this.#backend = backend;
    this.mirror = new KeyMirror(prefix);
    this.#logger = logger.child({ prefix });
    this.#listener = listener;
  }

  get prefix(): string {
    return this.mirror.prefix;
  }

  /** True once the mirror holds a complete listing. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Lists afresh (periodic reconciliation), ending the current watch. */
  resync(): void {
    this.#needList = true;
    this.#inner?.abort();
  }

  /** Runs until `signal` aborts. Never throws. */
  async run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      const inner = new AbortController();
      this.#inner = inner;
      const onAbort = (): void => inner.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        if (this.#needList) {
          const listing = await this.#backend.list(this.prefix, inner.signal);
          if (this.#ready && listing.index < this.mirror.index) {
            this.#logger.warn({ was: this.mirror.index, now: listing.index }, 'backend index went backwards; taking its data as it is now');
          }
          const changed = this.mirror.replace(listing);
          this.#needList = false;
          const first = !this.#ready;
          this.#ready = true;
          this.#recovered();
          attempt = 0;
          if (first || changed.length > 0) this.#listener(this.prefix, changed);
        }
        if (!this.#backend.watchable) {
          await sleep(2 ** 31 - 1, inner.signal);
          continue;
        }
        for await (const change of this.#backend.watch(this.prefix, this.mirror.index + 1, inner.signal)) {
          const changed = this.mirror.apply(change);
          this.#recovered();
          attempt = 0;
          if (changed.length > 0) this.#listener(this.prefix, changed);
        }
      } catch (err) {
        if (signal.aborted) break;
        if (inner.signal.aborted) continue;
        if (err instanceof HistoryLostError) {
          this.#logger.info({ err: err.message }, 'watch history gone; listing again');
          this.#needList = true;
          continue;
        }
        const message = (err as Error).message;
        if (this.#failing === undefined) this.#logger.error({ err: message }, 'backend unavailable; keeping the last good files and retrying');
        else if (this.#failing !== message) this.#logger.debug({ err: message }, 'backend still unavailable');
        this.#failing = message;
        await sleep(backoffDelay(RETRY, attempt + 1, Math.random), signal);
        attempt += 1;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }
  }

  #recovered(): void {
    if (this.#failing === undefined) return;
    this.#failing = undefined;
    this.#logger.info({ index: this.mirror.index }, 'backend reachable again');
  }
}
