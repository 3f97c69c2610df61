import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLinearizability, type KvOperation } from '../support/linearizability.js';
import { seededRandom } from '../support/seeded-random.js';
import { injectStaleRead, simulateLinearizableStore } from './simulate.js';

const SEEDS = Array.from({ length: 60 }, (_, i) => 1000 + i);

describe('linearizability checker: histories of a simulated correct store', () => {
  test('accepts every linearizable history, with unknown and failed outcomes mixed in', () => {
    for (const seed of SEEDS) {
      const { history } = simulateLinearizableStore(seed, { clients: 6, opsPerClient: 40, keys: 3, unknownRate: 0.08 });
      const result = checkLinearizability(history, { timeoutMs: 20_000 });
      assert.equal(result.verdict, 'linearizable', `seed ${seed}\n${result.message}`);
    }
  });

  test('accepts heavily contended histories on a single key', () => {
    for (const seed of SEEDS.slice(0, 20)) {
      const { history } = simulateLinearizableStore(seed, { clients: 12, opsPerClient: 25, keys: 1, unknownRate: 0.04 });
      const result = checkLinearizability(history, { timeoutMs: 20_000 });
      assert.equal(result.verdict, 'linearizable', `seed ${seed}\n${result.message}`);
    }
  });

  test('rejects the same histories once one read returns a provably stale value, and blames that read', () => {
    let injected = 0;
    for (const seed of SEEDS) {
      const { history } = simulateLinearizableStore(seed, { clients: 6, opsPerClient: 40, keys: 3, unknownRate: 0.08 });
      const stale = injectStaleRead(history, seed);
      if (stale === undefined) continue;
      injected++;
      const result = checkLinearizability(history, { timeoutMs: 20_000 });
      assert.equal(result.verdict, 'violation', `seed ${seed}: accepted a stale read`);
      assert.deepEqual(result.violatingKeys, [stale.input.key], `seed ${seed}`);
      // Every prefix ending before the stale read returned is the original, linearizable history.
      assert.equal(result.violations[0]?.culprit, stale, `seed ${seed}\n${result.message}`);
    }
    assert.ok(injected >= SEEDS.length * 0.8, `only ${injected} of ${SEEDS.length} histories had a provably stale read to inject`);
  });

  test('rejects a read of a value nobody wrote, wherever it lands', () => {
    for (const seed of SEEDS.slice(0, 30)) {
      const { history } = simulateLinearizableStore(seed, { clients: 5, opsPerClient: 30, keys: 2 });
      const reads = history.filter((op): op is Extract<KvOperation, { op: 'read' }> => op.op === 'read' && op.returnTime !== undefined);
      const victim = reads[Math.floor(seededRandom(seed)() * reads.length)];
      assert.ok(victim !== undefined);
      victim.output = { status: 'ok', value: 'phantom' };
      const result = checkLinearizability(history);
      assert.equal(result.verdict, 'violation', `seed ${seed}`);
      assert.equal(result.violations[0]?.culprit, victim, `seed ${seed}`);
    }
  });

  test('a history of ~5,000 operations over 20 keys from 10 clients reaches a verdict', (t) => {
    const { history } = simulateLinearizableStore(7, { clients: 10, opsPerClient: 500, keys: 20, unknownRate: 0.03 });
    assert.ok(history.length > 4_500);
    const result = checkLinearizability(history, { timeoutMs: 120_000 });
    t.diagnostic(result.message);
    assert.equal(result.verdict, 'linearizable', result.message);
    assert.equal(result.keys, 20);
  });
});
