export interface BackoffPolicy {
  /** Delay before the first retry. */
  readonly baseMs: number;
  /** No retry waits longer than this. */
  readonly capMs: number;
}

/**
 * Capped exponential backoff with "equal jitter": half the delay is fixed so
 * retries never bunch up at zero, the other half is random so many
 * registrars that lost the same store do not come back in lockstep.
 * `attempt` counts failures so far, starting at 1.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
