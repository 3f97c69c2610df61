/**
 * The registration state machine on its own: no store, no clock, no timers.
 * Each test plays the driver's part, asking next(now) and reporting outcomes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from '../../src/util/backoff.js';
import { Registration, type RegistrationNotice } from '../../src/register/registration.js';

const TIMING = { refreshMs: 10_000, retry: { baseMs: 250, capMs: 5_000 } };
const OK = { kind: 'ok', endpoint: 'http://a' } as const;
const DOWN = { kind: 'unavailable', error: 'connect ECONNREFUSED' } as const;

function events(notices: readonly RegistrationNotice[]): string[] {
  return notices.map((n) => n.event);
}

/** random() = 1 makes every backoff its ceiling, so times are exact. */
function machine(checked = false): Registration {
  return new Registration({ timing: TIMING, checked, random: () => 1 });
}

describe('registration without a check', () => {
  test('creates at once, then refreshes every refresh period', () => {
    const r = machine();
    assert.deepEqual(r.next(0), { kind: 'create' });
    assert.deepEqual(r.settle('create', OK, 5), [{ event: 'registered', endpoint: 'http://a' }]);
    assert.deepEqual(r.next(5), { kind: 'wait', until: 10_005 });
    assert.deepEqual(r.next(10_005), { kind: 'refresh' });
    assert.deepEqual(r.settle('refresh', OK, 10_010), []);
    assert.deepEqual(r.next(10_011), { kind: 'wait', until: 20_010 });
  });

  test('a refresh that finds the key gone writes it again at once', () => {
    const r = machine();
    r.settle('create', OK, 0);
    assert.deepEqual(events(r.settle('refresh', { kind: 'missing' }, 10_000)), ['key-missing']);
    assert.deepEqual(r.next(10_000), { kind: 'create' });
    assert.deepEqual(events(r.settle('create', OK, 10_001)), ['re-registered']);
  });

  test('a refresh that finds another value writes ours again', () => {
    const r = machine();
    r.settle('create', OK, 0);
    assert.deepEqual(events(r.settle('refresh', { kind: 'foreign' }, 10_000)), ['key-foreign']);
    assert.deepEqual(r.next(10_000), { kind: 'create' });
  });

  test('an outage is logged once, retried with capped exponential backoff, and its end logged once', () => {
    const r = machine();
    r.settle('create', OK, 0);
    const notices: RegistrationNotice[] = [];
    const delays: number[] = [];
    let now = 10_000;
    for (let i = 0; i < 8; i++) {
      assert.deepEqual(r.next(now), { kind: 'refresh' });
      notices.push(...r.settle('refresh', DOWN, now));
      const step = r.next(now);
      assert.equal(step.kind, 'wait');
      const until = (step as { until: number }).until;
      delays.push(until - now);
      now = until;
    }
    assert.deepEqual(events(notices), ['connection-lost']);
    assert.deepEqual(delays, [250, 500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000]);
    // Back: the key expired meanwhile.
    assert.deepEqual(events(r.settle('refresh', { kind: 'missing' }, now)), ['connection-restored', 'key-missing']);
    assert.deepEqual(events(r.settle('create', OK, now)), ['re-registered']);
    assert.equal(r.state.failures, 0);
  });

  test('a store error is logged once per distinct message', () => {
    const r = machine();
    const refused = { kind: 'failed', error: '110: The request requires user authentication' } as const;
    assert.deepEqual(events(r.settle('create', refused, 0)), ['store-error']);
    assert.deepEqual(events(r.settle('create', refused, 300)), []);
    assert.deepEqual(events(r.settle('create', { kind: 'failed', error: '102: Not a file' }, 900)), ['store-error']);
    assert.deepEqual(events(r.settle('create', OK, 2_000)), ['registered']);
  });

  test('stop removes the key, even during a backoff, then is done', () => {
    const r = machine();
    r.settle('create', OK, 0);
    r.settle('refresh', DOWN, 10_000);
    r.stop();
    assert.deepEqual(r.next(10_001), { kind: 'remove' });
    r.settle('remove', DOWN, 10_002);
    assert.equal(r.next(10_003).kind, 'wait');
    assert.deepEqual(r.settle('remove', OK, 10_300), [{ event: 'connection-restored', endpoint: 'http://a' }, { event: 'removed', found: true }]);
    assert.deepEqual(r.next(10_301), { kind: 'done' });
  });

  test('stop before anything was written still clears a key a crashed run may have left', () => {
    const r = machine();
    r.stop();
    assert.deepEqual(r.next(0), { kind: 'remove' });
    assert.deepEqual(r.settle('remove', { kind: 'missing' }, 1), [{ event: 'removed', found: false }]);
    assert.deepEqual(r.next(2), { kind: 'done' });
  });
});

describe('registration with a check', () => {
  test('nothing is written before the first verdict', () => {
    const r = machine(true);
    assert.deepEqual(r.next(0), { kind: 'wait', until: Number.POSITIVE_INFINITY });
    assert.deepEqual(events(r.checkResult(true, '')), ['check-passing']);
    assert.deepEqual(r.next(1), { kind: 'create' });
  });

  test('a failing check removes the key, a passing one writes it again; repeats are silent', () => {
    const r = machine(true);
    r.checkResult(true, '');
    r.settle('create', OK, 0);
    assert.deepEqual(r.checkResult(false, 'exit status 1'), [{ event: 'check-failing', detail: 'exit status 1' }]);
    assert.deepEqual(r.checkResult(false, 'exit status 1'), []);
    assert.deepEqual(r.next(1), { kind: 'remove' });
    assert.deepEqual(r.settle('remove', OK, 2), [{ event: 'deregistered', found: true }]);
    assert.deepEqual(r.next(3), { kind: 'wait', until: Number.POSITIVE_INFINITY });
    assert.deepEqual(events(r.checkResult(true, '')), ['check-passing']);
    assert.deepEqual(r.next(4), { kind: 'create' });
    assert.deepEqual(events(r.settle('create', OK, 5)), ['re-registered']);
  });

  test('a verdict that arrives while a refresh is in flight is acted on right after it', () => {
    const r = machine(true);
    r.checkResult(true, '');
    r.settle('create', OK, 0);
    assert.deepEqual(r.next(10_000), { kind: 'refresh' });
    r.checkResult(false, 'exit status 1');
    r.settle('refresh', OK, 10_001);
    assert.deepEqual(r.next(10_001), { kind: 'remove' });
  });

  test('a verdict cuts a pending backoff short', () => {
    const r = machine(true);
    r.checkResult(true, '');
    for (let i = 0; i < 6; i++) r.settle('create', DOWN, 0);
    assert.equal(r.next(1).kind, 'wait');
    r.checkResult(false, 'exit status 1');
    assert.deepEqual(r.next(1), { kind: 'remove' });
  });

  test('a first failing verdict clears a key a crashed run may have left', () => {
    const r = machine(true);
    r.checkResult(false, 'exit status 7');
    assert.deepEqual(r.next(0), { kind: 'remove' });
    assert.deepEqual(r.settle('remove', { kind: 'foreign' }, 1), [{ event: 'deregistered', found: false }]);
    assert.deepEqual(r.next(1), { kind: 'wait', until: Number.POSITIVE_INFINITY });
  });

  test('stop while the check fails and the key is gone is done at once', () => {
    const r = machine(true);
    r.checkResult(true, '');
    r.settle('create', OK, 0);
    r.checkResult(false, '');
    r.settle('remove', OK, 1);
    r.stop();
    assert.deepEqual(r.checkResult(true, ''), []);
    assert.deepEqual(r.next(2), { kind: 'done' });
  });
});

test('backoff: equal jitter between half the ceiling and the ceiling, ceiling capped', () => {
  const policy = { baseMs: 100, capMs: 1_000 };
  assert.equal(backoffDelay(policy, 1, () => 0), 50);
  assert.equal(backoffDelay(policy, 1, () => 1), 100);
  assert.equal(backoffDelay(policy, 3, () => 0.5), 300);
  assert.equal(backoffDelay(policy, 10, () => 1), 1_000);
  assert.equal(backoffDelay(policy, 10_000, () => 0), 500);
});
