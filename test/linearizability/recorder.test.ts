import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HistoryRecorder, InvalidHistoryError, checkLinearizability } from '../support/linearizability.js';

function fakeClock(): () => number {
  let now = 0;
  return () => ++now;
}

describe('HistoryRecorder', () => {
  test('records invoke and return times, inputs and outputs, and the history checks', () => {
    const recorder = new HistoryRecorder(fakeClock());
    const w = recorder.invoke('c1', 'write', { key: '/x', value: 'a' });
    const r = recorder.invoke('c2', 'read', { key: '/x' });
    w.ok({ status: 'ok' });
    r.ok({ status: 'ok', value: 'a' });
    const c = recorder.invoke(3, 'cas', { key: '/x', expected: 'a', value: 'b' });
    c.ok({ status: 'ok' });
    const d = recorder.invoke(3, 'delete', { key: '/x' });
    d.ok({ status: 'ok' });
    assert.deepEqual(recorder.history(), [
      { clientId: 'c1', op: 'write', input: { key: '/x', value: 'a' }, invokeTime: 1, returnTime: 3, output: { status: 'ok' } },
      { clientId: 'c2', op: 'read', input: { key: '/x' }, invokeTime: 2, returnTime: 4, output: { status: 'ok', value: 'a' } },
      { clientId: 3, op: 'cas', input: { key: '/x', expected: 'a', value: 'b' }, invokeTime: 5, returnTime: 6, output: { status: 'ok' } },
      { clientId: 3, op: 'delete', input: { key: '/x' }, invokeTime: 7, returnTime: 8, output: { status: 'ok' } },
    ]);
    assert.equal(checkLinearizability(recorder.history()).verdict, 'linearizable');
  });

  test('fail() drops the operation; info() and never-settled operations become unknown outcomes', () => {
    const recorder = new HistoryRecorder(fakeClock());
    recorder.invoke(1, 'write', { key: 'k', value: 'failed' }).fail();
    recorder.invoke(2, 'write', { key: 'k', value: 'maybe' }).info();
    recorder.invoke(3, 'cas', { key: 'k', expected: 'maybe', value: 'pending' });
    const history = recorder.history();
    assert.deepEqual(
      history.map((op) => [op.input, op.returnTime, op.output]),
      [
        [{ key: 'k', value: 'maybe' }, undefined, undefined],
        [{ key: 'k', expected: 'maybe', value: 'pending' }, undefined, undefined],
      ],
    );
    assert.deepEqual(recorder.counts(), { ok: 0, fail: 1, info: 1, pending: 1 });
    // A read of the failed write's value is a violation; of the unknown ones, not.
    const read = (value: string) => {
      const r = new HistoryRecorder(fakeClock());
      r.invoke(1, 'write', { key: 'k', value: 'failed' }).fail();
      r.invoke(2, 'write', { key: 'k', value: 'maybe' }).info();
      r.invoke(3, 'cas', { key: 'k', expected: 'maybe', value: 'pending' });
      r.invoke(4, 'read', { key: 'k' }).ok({ status: 'ok', value });
      return checkLinearizability(r.history()).verdict;
    };
    assert.equal(read('failed'), 'violation');
    assert.equal(read('maybe'), 'linearizable');
    assert.equal(read('pending'), 'linearizable');
  });

  test('an operation settles once', () => {
    const recorder = new HistoryRecorder();
    const h = recorder.invoke(1, 'read', { key: 'k' });
    h.ok({ status: 'notFound' });
    assert.throws(() => h.info(), InvalidHistoryError);
    assert.throws(() => h.ok({ status: 'notFound' }), InvalidHistoryError);
    assert.equal(recorder.history()[0]?.output?.status, 'notFound');
  });

  test('the recorded input is a copy, so a caller reusing its object cannot rewrite history', () => {
    const recorder = new HistoryRecorder();
    const input = { key: 'k', value: 'one' };
    recorder.invoke(1, 'write', input).ok({ status: 'ok' });
    input.value = 'two';
    assert.deepEqual(recorder.history()[0]?.input, { key: 'k', value: 'one' });
  });

  test('run() records the awaited result, and classifies thrown errors as failed or unknown', async () => {
    const recorder = new HistoryRecorder();
    const value = await recorder.run(1, 'read', { key: 'k' }, async () => ({ status: 'notFound' as const }));
    assert.deepEqual(value, { status: 'notFound' });
    await assert.rejects(
      recorder.run(2, 'write', { key: 'k', value: 'x' }, async () => {
        throw new Error('socket hang up');
      }),
      /socket hang up/,
    );
    await assert.rejects(
      recorder.run(
        3,
        'cas',
        { key: 'k', expected: 'a', value: 'b' },
        async () => {
          throw Object.assign(new Error('bad request'), { status: 400 });
        },
        (err) => ((err as { status?: number }).status === 400 ? 'fail' : 'info'),
      ),
      /bad request/,
    );
    assert.deepEqual(recorder.counts(), { ok: 1, fail: 1, info: 1, pending: 0 });
    assert.deepEqual(
      recorder.history().map((op) => [op.op, op.returnTime === undefined]),
      [
        ['read', false],
        ['write', true],
      ],
    );
  });

  test('the default clock is monotonic and brackets the awaited work', async () => {
    const recorder = new HistoryRecorder();
    const before = performance.now();
    await recorder.run(1, 'write', { key: 'k', value: 'v' }, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return { status: 'ok' };
    });
    const after = performance.now();
    const [op] = recorder.history();
    assert.ok(op !== undefined && op.returnTime !== undefined);
    assert.ok(before <= op.invokeTime && op.invokeTime <= op.returnTime && op.returnTime <= after);
  });
});
