/**
 * The driver with an in-memory store and a scripted check: ordering on
 * shutdown, giving up when the store is gone, and logs that report state
 * changes once. Timings are a few milliseconds; conditions are polled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registration } from '../../src/register/registration.js';
import type { RegistrationStore, StoreOperation, StoreOutcome } from '../../src/register/registration-store.js';
import { runRegistration } from '../../src/register/run-registration.js';
import { waitFor } from '../support/wait.js';

const TIMING = { refreshMs: 20, retry: { baseMs: 5, capMs: 20 } };

/** A key in memory; `down` makes every operation unavailable; `hold` parks the next operation until released. */
class FakeStore implements RegistrationStore {
  present = false;
  down = false;
  readonly log: string[] = [];
  #gate: Promise<void> | undefined;
  #onHeldStart: (() => void) | undefined;

  /** The next operation waits for release(); `started` resolves once it is waiting. */
  hold(): { release: () => void; started: Promise<void> } {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const started = new Promise<void>((resolve) => (this.#onHeldStart = resolve));
    this.#gate = gate;
    return { release, started };
  }

  async #op(op: StoreOperation, apply: () => StoreOutcome): Promise<StoreOutcome> {
    const gate = this.#gate;
    this.#gate = undefined;
    if (gate !== undefined) {
      this.log.push(`${op}:start`);
      this.#onHeldStart?.();
      await gate;
    }
    if (this.down) return { kind: 'unavailable', error: 'connect ECONNREFUSED' };
    const outcome = apply();
    this.log.push(`${op}:${outcome.kind}`);
    return outcome;
  }

  create(): Promise<StoreOutcome> {
    return this.#op('create', () => {
      this.present = true;
      return { kind: 'ok' };
    });
  }

  refresh(): Promise<StoreOutcome> {
    return this.#op('refresh', () => (this.present ? { kind: 'ok' } : { kind: 'missing' }));
  }

  remove(): Promise<StoreOutcome> {
    return this.#op('remove', () => {
      const was = this.present;
      this.present = false;
      return was ? { kind: 'ok' } : { kind: 'missing' };
    });
  }

  async close(): Promise<void> {}
}

function capture(): { logger: pino.Logger; events: () => string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, callback) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      callback();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  return {
    logger,
    events: () => lines.map((l) => (JSON.parse(l) as { event?: string }).event).filter((e): e is string => e !== undefined),
  };
}

test('a stop during an in-flight write lets it finish, then removes the key', async () => {
  const store = new FakeStore();
  const stop = new AbortController();
  const { logger, events } = capture();
  const held = store.hold();
  const run = runRegistration({
    registration: new Registration({ timing: TIMING, checked: false }),
    store,
    logger,
    stop: stop.signal,
    stopTimeoutMs: 10_000,
  });
  await held.started;
  stop.abort();
  held.release();
  assert.equal(await run, true);
  assert.deepEqual(store.log, ['create:start', 'create:ok', 'remove:ok']);
  assert.equal(store.present, false);
  assert.deepEqual(events(), ['registered', 'removed']);
});

test('refreshes keep going; an outage is logged once and the key comes back after it', async () => {
  const store = new FakeStore();
  const stop = new AbortController();
  const { logger, events } = capture();
  const run = runRegistration({
    registration: new Registration({ timing: TIMING, checked: false }),
    store,
    logger,
    stop: stop.signal,
    stopTimeoutMs: 10_000,
  });
  await waitFor(() => store.log.filter((l) => l === 'refresh:ok').length >= 3, { what: 'three refreshes' });
  store.down = true;
  // The key expires while the store is away.
  store.present = false;
  await waitFor(() => events().includes('connection-lost'), { what: 'connection-lost' });
  store.down = false;
  await waitFor(() => events().includes('re-registered'), { what: 're-registered' });
  stop.abort();
  assert.equal(await run, true);
  assert.deepEqual(events(), ['registered', 'connection-lost', 'connection-restored', 'key-missing', 're-registered', 'removed']);
});

test('when the store stays away after a stop, removal gives up after the stop timeout', async () => {
  const store = new FakeStore();
  const stop = new AbortController();
  const { logger, events } = capture();
  const run = runRegistration({
    registration: new Registration({ timing: TIMING, checked: false }),
    store,
    logger,
    stop: stop.signal,
    stopTimeoutMs: 200,
  });
  await waitFor(() => store.present, { what: 'registered' });
  store.down = true;
  stop.abort();
  assert.equal(await run, false);
  assert.deepEqual(events(), ['registered', 'connection-lost', 'remove-abandoned']);
});

test('check verdicts add and remove the key; the check stops with the registration', async () => {
  const store = new FakeStore();
  const stop = new AbortController();
  const { logger, events } = capture();
  let healthy = true;
  let checksRunning = 0;
  const run = runRegistration({
    registration: new Registration({ timing: TIMING, checked: true }),
    store,
    check: { command: 'ignored', intervalMs: 5, timeoutMs: 1_000 },
    runCheck: async (_command, _timeout, signal) => {
      checksRunning++;
      try {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return signal.aborted ? { passed: false, detail: 'aborted' } : { passed: healthy, detail: healthy ? '' : 'exit status 1' };
      } finally {
        checksRunning--;
      }
    },
    logger,
    stop: stop.signal,
    stopTimeoutMs: 10_000,
  });
  await waitFor(() => store.present, { what: 'registered' });
  healthy = false;
  await waitFor(() => !store.present, { what: 'removed while failing' });
  healthy = true;
  await waitFor(() => store.present, { what: 'registered again' });
  stop.abort();
  assert.equal(await run, true);
  assert.equal(checksRunning, 0);
  assert.deepEqual(events(), ['check-passing', 'registered', 'check-failing', 'deregistered', 'check-passing', 're-registered', 'removed']);
});
