import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidHistoryError,
  assertLinearizable,
  checkLinearizability,
  formatOperation,
  type CheckResult,
  type KvOperation,
} from '../support/linearizability.js';
import { cas, del, rd, wr } from './builders.js';

function verdict(history: KvOperation[], initialValues: Record<string, string> = {}): CheckResult['verdict'] {
  return checkLinearizability(history, { initialValues }).verdict;
}

function violation(history: KvOperation[]): NonNullable<CheckResult['violations'][number]> {
  const result = checkLinearizability(history);
  assert.equal(result.verdict, 'violation', result.message);
  const v = result.violations[0];
  assert.ok(v !== undefined);
  return v;
}

describe('linearizability checker: hand-made histories', () => {
  test('an empty history and a sequential one are linearizable', () => {
    assert.equal(verdict([]), 'linearizable');
    assert.equal(verdict([wr(1, 'x', 'a', 0, 1), rd(1, 'x', 2, 3, 'a'), del(1, 'x', 4, 5), rd(1, 'x', 6, 7, null)]), 'linearizable');
  });

  test('a stale read after a completed write is a violation, and the read is blamed', () => {
    const stale = rd(3, 'x', 4, 5, '1');
    const v = violation([wr(1, 'x', '1', 0, 1), wr(2, 'x', '2', 2, 3), stale]);
    assert.equal(v.key, 'x');
    assert.equal(v.culprit, stale);
    assert.match(v.message, /key "x" is not linearizable/);
    assert.ok(v.message.includes(formatOperation(stale)), v.message);
  });

  test('a lost write (acknowledged, then never seen) is a violation', () => {
    const v = violation([wr(1, 'x', 'a', 0, 1), rd(2, 'x', 2, 3, null)]);
    assert.equal(v.culprit?.op, 'read');
    const overwritten = violation([wr(1, 'x', 'a', 0, 1), wr(2, 'x', 'b', 2, 3), rd(1, 'x', 4, 5, 'b'), rd(2, 'x', 6, 7, 'a')]);
    assert.deepEqual(overwritten.culprit?.input, { key: 'x' });
    assert.equal(overwritten.culprit?.invokeTime, 6);
  });

  test('two compare-and-swaps cannot both succeed on the same expected value', () => {
    const second = cas(3, 'x', '0', '2', 3, 6);
    const v = violation([wr(1, 'x', '0', 0, 1), cas(2, 'x', '0', '1', 2, 5), second]);
    assert.equal(v.culprit, second);
    assert.equal(v.concurrent.length, 1);
    // Unless something restored the expected value in between.
    assert.equal(
      verdict([wr(1, 'x', '0', 0, 1), cas(2, 'x', '0', '1', 2, 5), cas(4, 'x', '1', '0', 2, 5), cas(3, 'x', '0', '2', 3, 6)]),
      'linearizable',
    );
  });

  test('compare-and-swap outcomes follow etcd: notFound on a missing key, compareFailed on a different value', () => {
    assert.equal(verdict([cas(1, 'x', 'a', 'b', 0, 1, 'notFound')]), 'linearizable');
    assert.equal(verdict([cas(1, 'x', 'a', 'b', 0, 1, 'compareFailed')]), 'violation');
    assert.equal(verdict([wr(1, 'x', 'z', 0, 1), cas(1, 'x', 'a', 'b', 2, 3, 'compareFailed'), rd(1, 'x', 4, 5, 'z')]), 'linearizable');
    assert.equal(verdict([wr(1, 'x', 'a', 0, 1), cas(1, 'x', 'a', 'b', 2, 3, 'compareFailed')]), 'violation');
    assert.equal(verdict([wr(1, 'x', 'a', 0, 1), cas(1, 'x', 'a', 'b', 2, 3, 'notFound')]), 'violation');
    assert.equal(verdict([wr(1, 'x', 'a', 0, 1), cas(1, 'x', 'a', 'b', 2, 3), rd(1, 'x', 4, 5, 'b')]), 'linearizable');
  });

  test('overlapping operations are fine in whichever order explains them', () => {
    // Both writes overlap, so either can be last.
    assert.equal(verdict([wr(1, 'x', '1', 0, 10), wr(2, 'x', '2', 0, 10), rd(3, 'x', 11, 12, '1')]), 'linearizable');
    assert.equal(verdict([wr(1, 'x', '1', 0, 10), wr(2, 'x', '2', 0, 10), rd(3, 'x', 11, 12, '2')]), 'linearizable');
    // But not both orders at once.
    assert.equal(
      verdict([wr(1, 'x', '1', 0, 10), wr(2, 'x', '2', 0, 10), rd(3, 'x', 11, 12, '1'), rd(3, 'x', 13, 14, '2')]),
      'violation',
    );
    // Reads during a write may see the old or the new value, but never old after new.
    const during = [wr(1, 'x', '1', 0, 1), wr(2, 'x', '2', 5, 15)];
    assert.equal(verdict([...during, rd(3, 'x', 6, 7, '1'), rd(4, 'x', 8, 9, '2')]), 'linearizable');
    assert.equal(verdict([...during, rd(3, 'x', 6, 7, '2'), rd(4, 'x', 8, 9, '1')]), 'violation');
    // Two concurrent readers may disagree while the write is in flight, as long as each is consistent.
    assert.equal(verdict([...during, rd(3, 'x', 6, 9, '2'), rd(4, 'x', 6, 9, '1')]), 'linearizable');
  });

  test('intervals that merely touch count as concurrent, so clock resolution is never blamed', () => {
    assert.equal(verdict([wr(1, 'x', 'a', 0, 5), rd(2, 'x', 5, 6, null)]), 'linearizable');
    assert.equal(verdict([wr(1, 'x', 'a', 0, 5), rd(2, 'x', 5.001, 6, null)]), 'violation');
  });

  test('an unknown-outcome write may take effect at any later time, or never, but only once', () => {
    const base = [wr(1, 'x', '1', 0, 1), wr(2, 'x', '2', 2)];
    assert.equal(verdict([...base, rd(3, 'x', 10, 11, '1'), rd(3, 'x', 12, 13, '1')]), 'linearizable');
    assert.equal(verdict([...base, rd(3, 'x', 10, 11, '2'), rd(3, 'x', 12, 13, '2')]), 'linearizable');
    // Took effect long after the client gave up.
    assert.equal(verdict([...base, rd(3, 'x', 10, 11, '1'), rd(3, 'x', 1000, 1001, '2')]), 'linearizable');
    // Once observed, it cannot be undone.
    assert.equal(verdict([...base, rd(3, 'x', 10, 11, '2'), rd(3, 'x', 12, 13, '1')]), 'violation');
    // And it cannot act before it was invoked.
    assert.equal(verdict([wr(1, 'x', '1', 0, 1), rd(3, 'x', 1.5, 1.8, '2'), wr(2, 'x', '2', 2)]), 'violation');
  });

  test('unknown compare-and-swaps and deletes apply their own semantics when they do take effect', () => {
    assert.equal(verdict([wr(1, 'x', 'a', 0, 1), cas(2, 'x', 'a', 'b', 2), rd(3, 'x', 5, 6, 'b')]), 'linearizable');
    // The swap only happens if the value still matches.
    assert.equal(verdict([wr(1, 'x', 'z', 0, 1), cas(2, 'x', 'a', 'b', 2), rd(3, 'x', 5, 6, 'b')]), 'violation');
    assert.equal(verdict([wr(1, 'x', 'a', 0, 1), del(2, 'x', 2), rd(3, 'x', 5, 6, null), rd(3, 'x', 7, 8, null)]), 'linearizable');
    assert.equal(verdict([wr(1, 'x', 'a', 0, 1), del(2, 'x', 2), rd(3, 'x', 5, 6, null), rd(3, 'x', 7, 8, 'a')]), 'violation');
  });

  test('dozens of timed-out operations do not make a violation expensive to find', () => {
    // Forty unknown operations give 2^40 subsets that might have happened. Lost writes of values nobody read are
    // interchangeable, as are the deletes, and a subset that did less covers one that did more.
    const history = [wr(0, 'x', 'a', 0, 1)];
    for (let i = 0; i < 30; i++) history.push(wr(i + 1, 'x', `lost${i}`, 2 + i));
    for (let i = 0; i < 10; i++) history.push(del(40 + i, 'x', 2 + i));
    history.push(rd(99, 'x', 100, 101, 'never-written'));
    const result = checkLinearizability(history, { maxSteps: 100_000 });
    assert.equal(result.verdict, 'violation', result.message);
    assert.equal(result.violations[0]?.culprit, history[history.length - 1]);
    // And the same crowd does not hide a legal read either.
    history[history.length - 1] = rd(99, 'x', 100, 101, null);
    assert.equal(checkLinearizability(history, { maxSteps: 100_000 }).verdict, 'linearizable');
  });

  test('unknown-outcome reads constrain nothing', () => {
    assert.equal(verdict([wr(1, 'x', 'a', 0, 1), rd(2, 'x', 2, undefined, 'nonsense')]), 'linearizable');
  });

  test('notFound: fresh keys, deleted keys, and deletes of missing keys', () => {
    assert.equal(verdict([rd(1, 'x', 0, 1, null)]), 'linearizable');
    assert.equal(verdict([del(1, 'x', 0, 1, 'notFound')]), 'linearizable');
    assert.equal(verdict([del(1, 'x', 0, 1, 'ok')]), 'violation');
    assert.equal(verdict([wr(1, 'x', 'a', 0, 1), del(2, 'x', 2, 3), rd(1, 'x', 4, 5, null), del(1, 'x', 6, 7, 'notFound')]), 'linearizable');
    assert.equal(verdict([wr(1, 'x', 'a', 0, 1), del(2, 'x', 2, 3), del(1, 'x', 4, 5, 'ok')]), 'violation');
    // Two concurrent deletes: exactly one may succeed.
    assert.equal(verdict([wr(1, 'x', 'a', 0, 1), del(2, 'x', 2, 5), del(3, 'x', 2, 5, 'notFound')]), 'linearizable');
    assert.equal(verdict([wr(1, 'x', 'a', 0, 1), del(2, 'x', 2, 5), del(3, 'x', 2, 5)]), 'violation');
  });

  test('initial values stand in for state written before recording started', () => {
    assert.equal(verdict([rd(1, 'x', 0, 1, 'seed')], { x: 'seed' }), 'linearizable');
    assert.equal(verdict([rd(1, 'x', 0, 1, 'seed')]), 'violation');
    assert.equal(verdict([rd(1, 'x', 0, 1, null)], { x: 'seed' }), 'violation');
  });

  test('keys are checked independently, and only the violating key is reported', () => {
    const result = checkLinearizability([
      wr(1, 'good', 'a', 0, 1),
      wr(1, 'bad', 'a', 0, 1),
      rd(2, 'good', 2, 3, 'a'),
      rd(2, 'bad', 2, 3, 'b'),
      rd(3, 'other', 0, 1, null),
    ]);
    assert.equal(result.verdict, 'violation');
    assert.equal(result.keys, 3);
    assert.deepEqual(result.violatingKeys, ['bad']);
    assert.deepEqual(result.undecidedKeys, []);
    assert.match(result.message, /violating keys: "bad"/);
  });

  test('the explanation names the shortest failing prefix and the longest legal order', () => {
    const history = [
      wr(1, 'x', 'a', 0, 1),
      rd(2, 'x', 2, 3, 'a'),
      wr(1, 'x', 'b', 4, 8),
      rd(2, 'x', 5, 6, 'a'),
      rd(3, 'x', 7, 9, 'b'),
      rd(2, 'x', 10, 11, 'a'), // the first impossible one
      rd(2, 'x', 12, 13, 'zzz'), // also impossible, but later
    ];
    const v = violation(history);
    assert.equal(v.culprit, history[5]);
    assert.deepEqual(v.prefix, history.slice(0, 6));
    assert.deepEqual(v.concurrent, []);
    assert.equal(v.valueAfterLongest, 'b');
    // The read at 5..6 still saw "a", so it goes before the write of "b".
    assert.deepEqual(v.longestLinearization, [0, 1, 3, 2, 4].map((i) => history[i]));
    assert.match(v.message, /Longest legal order found \(leaves the key "b"\)/);
  });

  test('assertLinearizable throws an AssertionError carrying the explanation', () => {
    assert.doesNotThrow(() => assertLinearizable([wr(1, 'x', 'a', 0, 1), rd(1, 'x', 2, 3, 'a')]));
    assert.throws(
      () => assertLinearizable([wr(1, 'x', 'a', 0, 1), rd(1, 'x', 2, 3, 'b')]),
      (err: unknown) => err instanceof assert.AssertionError && /key "x" is not linearizable/.test(err.message),
    );
  });

  test('malformed histories are refused with a stable code rather than guessed at', () => {
    const bad: KvOperation[] = [
      { ...wr(1, 'x', 'a', 5, 4) },
      { clientId: 1, op: 'read', input: { key: 'x' }, invokeTime: 0, returnTime: 1 },
      { clientId: 1, op: 'write', input: { key: 'x', value: 'a' }, invokeTime: 0, returnTime: 1, output: { status: 'notFound' } } as unknown as KvOperation,
      { ...wr(1, 'x', 'a', Number.NaN, 1) },
    ];
    for (const op of bad) {
      assert.throws(
        () => checkLinearizability([op]),
        (err: unknown) => err instanceof InvalidHistoryError && err.code === 'CAIRN_HISTORY_INVALID',
        formatOperation(op),
      );
    }
  });

  test('a search that outgrows its budget reports unknown instead of hanging', () => {
    // Twenty concurrent writes and an impossible read: refuting it means visiting every subset of the writes.
    const history: KvOperation[] = [];
    for (let i = 0; i < 20; i++) history.push(wr(i, 'x', `v${i}`, 0, 100));
    history.push(rd(99, 'x', 101, 102, 'never-written'));
    history.push(rd(99, 'small', 0, 1, null));
    const result = checkLinearizability(history, { timeoutMs: 200 });
    assert.equal(result.verdict, 'unknown', result.message);
    assert.deepEqual(result.undecidedKeys, ['x']);
    assert.match(result.message, /undecided keys/);
    const bySteps = checkLinearizability(history, { maxSteps: 5_000 });
    assert.equal(bySteps.verdict, 'unknown');
    assert.throws(() => assertLinearizable(history, { maxSteps: 5_000 }), assert.AssertionError);
  });
});
