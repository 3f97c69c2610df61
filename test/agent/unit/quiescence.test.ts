import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { parseWait, Quiescence } from '../../../src/agent/quiescence.js';

/** A Quiescence on mocked timers and clock, with the instants (ms since the start) at which it fired. */
function setup(t: TestContext, wait: { minMs: number; maxMs: number } | undefined): { q: Quiescence; fired: number[]; tick: (ms: number) => void } {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const fired: number[] = [];
  const q = new Quiescence(wait, () => fired.push(Date.now()));
  // One millisecond at a time: the mocked Date reads the end of a tick() even inside the timers it runs.
  const tick = (ms: number): void => {
    for (let i = 0; i < ms; i++) t.mock.timers.tick(1);
    if (ms === 0) t.mock.timers.tick(0);
  };
  return { q, fired, tick };
}

describe('Quiescence without --wait', () => {
  test('pokes within one turn of the event loop fire once', (t) => {
    const { q, fired, tick } = setup(t, undefined);
    q.poke();
    q.poke();
    q.poke();
    assert.deepEqual(fired, [], 'never synchronously');
    tick(0);
    assert.deepEqual(fired, [0]);
    tick(1000);
    assert.deepEqual(fired, [0]);
  });

  test('a poke after the fire schedules another', (t) => {
    const { q, fired, tick } = setup(t, undefined);
    q.poke();
    tick(0);
    q.poke();
    tick(0);
    assert.equal(fired.length, 2);
  });
});

describe('Quiescence with --wait MIN:MAX', () => {
  test('a single change fires MIN after it', (t) => {
    const { q, fired, tick } = setup(t, { minMs: 100, maxMs: 400 });
    q.poke();
    tick(99);
    assert.deepEqual(fired, []);
    tick(1);
    assert.deepEqual(fired, [100]);
    tick(10_000);
    assert.deepEqual(fired, [100], 'fires once per burst');
  });

  test('each change within MIN pushes the fire back to MIN after the last one', (t) => {
    const { q, fired, tick } = setup(t, { minMs: 100, maxMs: 1000 });
    q.poke(); // 0
    tick(60);
    q.poke(); // 60
    tick(60);
    q.poke(); // 120
    tick(99);
    assert.deepEqual(fired, []);
    tick(1);
    assert.deepEqual(fired, [220]);
  });

  test('a burst that never goes quiet still fires MAX after its first change', (t) => {
    const { q, fired, tick } = setup(t, { minMs: 100, maxMs: 400 });
    for (let at = 0; at <= 1000; at += 50) {
      q.poke();
      tick(50);
    }
    // A burst starts at 0 and again at the first poke after each fire (400, 800).
    assert.deepEqual(fired, [400, 800]);
    tick(100);
    assert.deepEqual(fired, [400, 800, 1100], 'the last change (at 1000) is followed by a fire MIN later');
  });

  test('MAX caps the delay even when MIN after the last change would be later', (t) => {
    const { q, fired, tick } = setup(t, { minMs: 100, maxMs: 250 });
    q.poke(); // 0: hard deadline 250
    tick(90);
    q.poke(); // 90
    tick(90);
    q.poke(); // 180: MIN would be 280, MAX caps it at 250
    tick(69);
    assert.deepEqual(fired, []);
    tick(1);
    assert.deepEqual(fired, [250]);
  });

  test('MIN equal to MAX fires MIN after the first change of a burst', (t) => {
    const { q, fired, tick } = setup(t, { minMs: 100, maxMs: 100 });
    q.poke();
    tick(90);
    q.poke();
    tick(10);
    assert.deepEqual(fired, [100]);
  });

  test('cancel drops a pending fire; the next poke starts a new burst', (t) => {
    const { q, fired, tick } = setup(t, { minMs: 100, maxMs: 400 });
    q.poke();
    tick(50);
    q.cancel();
    tick(1000);
    assert.deepEqual(fired, []);
    q.poke(); // 1050
    tick(100);
    assert.deepEqual(fired, [1150]);
  });

  test('a poke from inside the fire callback starts a new burst', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    const fired: number[] = [];
    let again = true;
    const q: Quiescence = new Quiescence({ minMs: 100, maxMs: 400 }, () => {
      fired.push(Date.now());
      if (again) {
        again = false;
        q.poke();
      }
    });
    q.poke();
    t.mock.timers.tick(100);
    t.mock.timers.tick(100);
    assert.deepEqual(fired, [100, 200]);
  });
});

describe('parseWait', () => {
  test('MIN alone: MAX defaults to 4 × MIN, as in consul-template', () => {
    assert.deepEqual(parseWait('2s'), { minMs: 2000, maxMs: 8000 });
    assert.deepEqual(parseWait('250ms'), { minMs: 250, maxMs: 1000 });
  });

  test('MIN:MAX with Go durations or bare seconds', () => {
    assert.deepEqual(parseWait('500ms:5s'), { minMs: 500, maxMs: 5000 });
    assert.deepEqual(parseWait('1m30s:2m'), { minMs: 90_000, maxMs: 120_000 });
    assert.deepEqual(parseWait('3'), { minMs: 3000, maxMs: 12_000 });
    assert.deepEqual(parseWait('1:1'), { minMs: 1000, maxMs: 1000 });
    assert.deepEqual(parseWait('0.5:2'), { minMs: 500, maxMs: 2000 });
  });

  test('rejects malformed values and MAX < MIN', () => {
    for (const bad of ['', ':', '2s:', ':5s', 'soon', '5x', '1s:2s:3s', '5s:1s', '-1s', '1s 2s']) {
      assert.equal(parseWait(bad), undefined, `"${bad}" should be rejected`);
    }
  });
});
