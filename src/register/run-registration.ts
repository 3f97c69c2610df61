import type { Logger } from '../log/logger.js';
import { runCheck, type CheckResult } from './health-check.js';
import type { Registration, RegistrationNotice } from './registration.js';
import type { RegistrationStore } from './registration-store.js';

export interface HealthCheckSpec {
  readonly command: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export interface RunRegistrationOptions {
  readonly registration: Registration;
  readonly store: RegistrationStore;
  readonly check?: HealthCheckSpec;
  readonly logger: Logger;
  /** Fires on SIGTERM/SIGINT: remove the key and return. */
  readonly stop: AbortSignal;
  /** How long removing the key may take after `stop` before giving up (the TTL cleans up then). */
  readonly stopTimeoutMs: number;
  /** Injected for tests. */
  readonly now?: () => number;
  readonly runCheck?: (command: string, timeoutMs: number, signal: AbortSignal) => Promise<CheckResult>;
}

/** Resolves when woken, when `ms` passes, or when `signal` aborts. */
class Wakeup {
  #wake: (() => void) | undefined;
  #pending = false;

  poke(): void {
    this.#pending = true;
    this.#wake?.();
  }

  async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#pending || signal.aborted) {
      this.#pending = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      // Infinity (wait for an event) still needs a finite timer; the loop just asks again.
      const timer = setTimeout(done, Math.min(Math.max(ms, 0), 2 ** 31 - 1));
      signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
    this.#pending = false;
  }
}

/**
 * Drives a Registration against a store: performs the operations it asks
 * for, feeds back their outcomes and the health-check verdicts, and logs
 * the state changes it reports. Returns true when the key was removed (or
 * found gone) on the way out, false when removal gave up.
 */
export async function runRegistration(options: RunRegistrationOptions): Promise<boolean> {
  const { registration, store, logger, check } = options;
  const now = options.now ?? Date.now;
  const execCheck = options.runCheck ?? runCheck;
  const wake = new Wakeup();
  const report = (notices: readonly RegistrationNotice[]): void => {
    for (const notice of notices) logNotice(logger, notice);
  };

  // Aborts whatever is still in flight once removal has had its time.
  const giveUp = new AbortController();
  let giveUpTimer: NodeJS.Timeout | undefined;
  const onStop = (): void => {
    registration.stop();
    giveUpTimer = setTimeout(() => giveUp.abort(), options.stopTimeoutMs);
    wake.poke();
  };
  if (options.stop.aborted) onStop();
  else options.stop.addEventListener('abort', onStop, { once: true });

  // Ends the check loop on a stop, and also if the loop below fails, so that nothing keeps the process alive.
  const halt = new AbortController();
  const checkSignal = AbortSignal.any([options.stop, halt.signal]);
  const checks = check === undefined ? Promise.resolve() : checkLoop(check, checkSignal);
  async function checkLoop(spec: HealthCheckSpec, stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      const result = await execCheck(spec.command, spec.timeoutMs, stop);
      if (stop.aborted) return;
      report(registration.checkResult(result.passed, result.detail));
      wake.poke();
      await sleep(spec.intervalMs, stop);
    }
  }

  let removed = true;
  try {
    for (;;) {
      const step = registration.next(now());
      if (step.kind === 'done') break;
      if (giveUp.signal.aborted) {
        removed = false;
        break;
      }
      if (step.kind === 'wait') {
        await wake.wait(step.until - now(), giveUp.signal);
        continue;
      }
      // Operations are not cut short by `stop`: a write abandoned mid-flight could land after our delete.
      const outcome = await store[step.kind](giveUp.signal);
      report(registration.settle(step.kind, outcome, now()));
      if (outcome.kind === 'unavailable' || outcome.kind === 'failed') {
        // Every attempt, for debugging; the info/warn lines above only mark changes.
        logger.debug({ operation: step.kind, error: outcome.error, failures: registration.state.failures }, 'store operation failed');
      }
    }
  } finally {
    clearTimeout(giveUpTimer);
    options.stop.removeEventListener('abort', onStop);
    halt.abort();
    await checks;
  }
  if (!removed) logger.warn({ event: 'remove-abandoned' }, `could not remove the key within ${options.stopTimeoutMs} ms; it expires with its TTL`);
  return removed;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function logNotice(logger: Logger, notice: RegistrationNotice): void {
  switch (notice.event) {
    case 'registered':
      logger.info(notice, 'registered');
      return;
    case 're-registered':
      logger.info(notice, 're-registered');
      return;
    case 'key-missing':
      logger.warn(notice, 'the key was gone (expired or deleted); writing it again');
      return;
    case 'key-foreign':
      logger.warn(notice, 'the key held another value; writing ours again');
      return;
    case 'connection-lost':
      logger.warn(notice, 'lost connection to the store; retrying with backoff');
      return;
    case 'connection-restored':
      logger.info(notice, 'connection to the store restored');
      return;
    case 'store-error':
      logger.warn(notice, `the store refused the ${notice.operation}; retrying with backoff`);
      return;
    case 'check-failing':
      logger.warn(notice, 'health check failing; removing the key');
      return;
    case 'check-passing':
      logger.info(notice, 'health check passing');
      return;
    case 'deregistered':
      logger.info(notice, notice.found ? 'removed the key while the check fails' : 'the check fails; the key is not registered');
      return;
    case 'removed':
      logger.info(notice, notice.found ? 'removed the key' : 'the key was already gone');
      return;
  }
}
