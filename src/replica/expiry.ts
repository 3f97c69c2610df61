import type { Logger } from '../log/logger.js';

const RETRY_MS = 200;

export interface LeaderExpiryOptions {
  /** The earliest TTL deadline in the local store. */
  nextExpiry(): number | undefined;
  /** Propose an `expire` command carrying `now`; settles once applied here (or failed). */
  proposeExpire(now: number): Promise<unknown>;
  now(): number;
  readonly logger: Logger;
}

/**
 * TTL expiry in a cluster: only the leader looks at the clock, and what it
 * decides travels through the log as an `expire` command (etcd's SYNC), so
 * every member deletes the same keys at the same index. Followers never
 * expire anything by themselves.
 */
export class LeaderExpiry {
  readonly #opts: LeaderExpiryOptions;
  #leader = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #inFlight = false;
  #stopped = false;

  constructor(options: LeaderExpiryOptions) {
    this.#opts = options;
  }

  setLeader(leader: boolean): void {
    if (this.#leader === leader) return;
    this.#leader = leader;
    if (leader) this.reschedule();
    else this.#clear();
  }

  /** Call after applying entries: a new TTL may come due sooner. */
  reschedule(): void {
    if (!this.#leader || this.#stopped || this.#inFlight) return;
    const next = this.#opts.nextExpiry();
    if (next === undefined) return;
    if (this.#timer !== undefined && next >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = next;
    const delay = Math.max(0, Math.min(next - this.#opts.now(), 2 ** 31 - 1));
    this.#timer = setTimeout(() => this.#fire(), delay);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    this.#clear();
  }

  #clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (!this.#leader || this.#stopped) return;
    const now = this.#opts.now();
    const next = this.#opts.nextExpiry();
    if (next === undefined) return;
    if (next > now) {
      this.reschedule();
      return;
    }
    this.#inFlight = true;
    this.#opts.proposeExpire(now).then(
      () => this.#done(),
      (err: unknown) => {
        this.#opts.logger.warn({ err }, 'proposing key expiry failed; retrying');
        // Not at once: a leader that cannot propose now will not be able to in a microsecond either.
        setTimeout(() => this.#done(), RETRY_MS).unref();
      },
    );
  }

  #done(): void {
    this.#inFlight = false;
    this.reschedule();
  }
}
