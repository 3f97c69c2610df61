import { backoffDelay, type BackoffPolicy } from '../util/backoff.js';
import type { StoreOperation, StoreOutcome } from './registration-store.js';

export interface RegistrationTiming {
  /** Time between refreshes while the key is registered (a fraction of the TTL). */
  readonly refreshMs: number;
  /** Retries after a failed operation. */
  readonly retry: BackoffPolicy;
}

/** What the driver should do next. */
export type RegistrationStep =
  | { readonly kind: StoreOperation }
  /** Nothing to do before `until` (Infinity: until a check result or a stop). */
  | { readonly kind: 'wait'; readonly until: number }
  /** Stopping, and the key is gone: exit. */
  | { readonly kind: 'done' };

/**
 * A state change worth one log line. The machine reports each change once,
 * not once per attempt, so a store that is down for an hour logs two lines.
 */
export type RegistrationNotice =
  | { readonly event: 'registered' | 're-registered'; readonly endpoint?: string }
  /** A refresh found the key gone (expired during a pause or outage, or deleted). */
  | { readonly event: 'key-missing' }
  /** A refresh found another value in the key. */
  | { readonly event: 'key-foreign' }
  | { readonly event: 'connection-lost'; readonly error: string }
  | { readonly event: 'connection-restored'; readonly endpoint?: string }
  /** The store answered with an error; reported again only when the error changes. */
  | { readonly event: 'store-error'; readonly operation: StoreOperation; readonly error: string }
  | { readonly event: 'check-failing'; readonly detail: string }
  | { readonly event: 'check-passing' }
  /** The key was removed because the check fails (`found`: it was there and ours). */
  | { readonly event: 'deregistered'; readonly found: boolean }
  /** The key was removed on the way out. */
  | { readonly event: 'removed'; readonly found: boolean };

type KeyState = 'unknown' | 'present' | 'absent';
type Health = 'unknown' | 'passing' | 'failing';

/**
 * The registration state machine, with no I/O and no clock of its own: the
 * driver asks `next(now)` what to do, performs it, and reports back through
 * `settle`, `checkResult` and `stop`. Times are plain milliseconds.
 *
 * The rule is simple: the key should exist exactly while we run and the
 * check (if any) passes. Any mismatch between that and what we believe the
 * store holds is acted on at once, unless a retry backoff is pending; a key
 * that matches is refreshed every `refreshMs`.
 */
export class Registration {
  readonly #timing: RegistrationTiming;
  readonly #random: () => number;
  #health: Health;
  // 'unknown' at start: a key left behind by an earlier run that crashed may be there.
  #key: KeyState = 'unknown';
  #stopping = false;
  #refreshAt = 0;
  #retryAt = 0;
  #failures = 0;
  #connection: 'unknown' | 'up' | 'down' = 'unknown';
  #everRegistered = false;
  #lastError: string | undefined;

  constructor(options: { timing: RegistrationTiming; checked: boolean; random?: () => number }) {
    this.#timing = options.timing;
    this.#random = options.random ?? Math.random;
    // Without a check the service counts as healthy; with one, nothing is written before its first verdict.
    this.#health = options.checked ? 'unknown' : 'passing';
  }

  /** For logs and tests. */
  get state(): { key: KeyState; health: Health; connection: 'unknown' | 'up' | 'down'; stopping: boolean; failures: number } {
    return { key: this.#key, health: this.#health, connection: this.#connection, stopping: this.#stopping, failures: this.#failures };
  }

  next(now: number): RegistrationStep {
    const wanted = !this.#stopping && this.#health === 'passing';
    let kind: StoreOperation | undefined;
    let due = this.#retryAt;
    if (wanted) {
      kind = this.#key === 'present' ? 'refresh' : 'create';
      if (kind === 'refresh') due = Math.max(due, this.#refreshAt);
    } else if (this.#key !== 'absent') {
      // Health still unknown: leave a possible leftover key alone until the check has spoken.
      if (this.#stopping || this.#health === 'failing') kind = 'remove';
    } else if (this.#stopping) {
      return { kind: 'done' };
    }
    if (kind === undefined) return { kind: 'wait', until: Number.POSITIVE_INFINITY };
    return now >= due ? { kind } : { kind: 'wait', until: due };
  }

  /** Reports how the operation that `next` asked for ended. */
  settle(operation: StoreOperation, outcome: StoreOutcome, now: number): RegistrationNotice[] {
    const notices: RegistrationNotice[] = [];
    if (outcome.kind === 'unavailable' || outcome.kind === 'failed') {
      this.#failures++;
      this.#retryAt = now + backoffDelay(this.#timing.retry, this.#failures, this.#random);
      if (outcome.kind === 'unavailable') {
        if (this.#connection !== 'down') notices.push({ event: 'connection-lost', error: outcome.error });
        this.#connection = 'down';
        this.#lastError = undefined;
      } else {
        if (this.#connection === 'down') notices.push(restored(undefined));
        this.#connection = 'up';
        if (outcome.error !== this.#lastError) notices.push({ event: 'store-error', operation, error: outcome.error });
        this.#lastError = outcome.error;
      }
      return notices;
    }

    const endpoint = outcome.kind === 'ok' ? outcome.endpoint : undefined;
    if (this.#connection === 'down') notices.push(restored(endpoint));
    this.#connection = 'up';
    this.#failures = 0;
    this.#retryAt = 0;
    this.#lastError = undefined;
    switch (operation) {
      case 'create':
        // A plain write has no precondition, so anything but ok was handled above.
        this.#key = 'present';
        this.#refreshAt = now + this.#timing.refreshMs;
        notices.push({ event: this.#everRegistered ? 're-registered' : 'registered', ...(endpoint === undefined ? {} : { endpoint }) });
        this.#everRegistered = true;
        break;
      case 'refresh':
        if (outcome.kind === 'ok') {
          this.#refreshAt = now + this.#timing.refreshMs;
        } else {
          this.#key = 'absent';
          notices.push({ event: outcome.kind === 'missing' ? 'key-missing' : 'key-foreign' });
        }
        break;
      case 'remove':
        this.#key = 'absent';
        notices.push({ event: this.#stopping ? 'removed' : 'deregistered', found: outcome.kind === 'ok' });
        break;
    }
    return notices;
  }

  /** Reports a health-check verdict; only a change of verdict does anything. */
  checkResult(passed: boolean, detail: string): RegistrationNotice[] {
    const health: Health = passed ? 'passing' : 'failing';
    if (health === this.#health || this.#stopping) return [];
    this.#health = health;
    // A changed verdict is acted on at once, even in the middle of a backoff.
    this.#retryAt = 0;
    return passed ? [{ event: 'check-passing' }] : [{ event: 'check-failing', detail }];
  }

  /** SIGTERM/SIGINT: remove the key, then `next` answers done. */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#retryAt = 0;
    this.#failures = 0;
  }
}

function restored(endpoint: string | undefined): RegistrationNotice {
  return { event: 'connection-restored', ...(endpoint === undefined ? {} : { endpoint }) };
}
