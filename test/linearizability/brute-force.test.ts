import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLinearizability, formatOperation, type KvOperation } from '../support/linearizability.js';
import { seededRandom } from '../support/seeded-random.js';

/**
 * The definition, executed literally on tiny histories: is there an order of all completed operations plus
 * any subset of the unknown ones, respecting real time (a before b when a returned strictly before b was
 * invoked), in which a plain map produces every recorded output? Written without sharing code with the checker.
 */
function linearizableByDefinition(history: readonly KvOperation[]): boolean {
  const n = history.length;
  const used = new Array<boolean>(n).fill(false);
  const apply = (store: Map<string, string>, op: KvOperation): boolean => {
    const key = op.input.key;
    const cur = store.get(key);
    switch (op.op) {
      case 'read':
        if (op.output === undefined) return true;
        return op.output.status === 'ok' ? cur === op.output.value : cur === undefined;
      case 'write':
        store.set(key, op.input.value);
        return true;
      case 'cas': {
        const outcome = cur === undefined ? 'notFound' : cur === op.input.expected ? 'ok' : 'compareFailed';
        if (outcome === 'ok') store.set(key, op.input.value);
        return op.output === undefined || op.output.status === outcome;
      }
      case 'delete': {
        store.delete(key);
        return op.output === undefined || op.output.status === (cur === undefined ? 'notFound' : 'ok');
      }
    }
  };
  const search = (store: Map<string, string>): boolean => {
    if (history.every((op, i) => used[i] || op.returnTime === undefined)) return true;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      const op = history[i] as KvOperation;
      const blocked = history.some((a, j) => !used[j] && j !== i && a.returnTime !== undefined && a.returnTime < op.invokeTime);
      if (blocked) continue;
      const next = new Map(store);
      if (!apply(next, op)) continue;
      used[i] = true;
      const found = search(next);
      used[i] = false;
      if (found) return true;
    }
    return false;
  };
  return search(new Map());
}

function randomHistory(random: () => number, maxOps = 7): KvOperation[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const int = (below: number): number => Math.floor(random() * below);
  const values = ['1', '2', '3'];
  const history: KvOperation[] = [];
  const count = 1 + int(maxOps);
  for (let i = 0; i < count; i++) {
    const key = random() < 0.75 ? 'a' : 'b';
    // Small integer times make ties common, which is where off-by-one ordering bugs live.
    const invokeTime = int(8);
    const returnTime = random() < 0.2 ? undefined : invokeTime + int(4);
    const base = { clientId: i, invokeTime, returnTime };
    const known = returnTime !== undefined;
    switch (pick(['read', 'read', 'write', 'cas', 'delete'] as const)) {
      case 'read':
        history.push({ ...base, op: 'read', input: { key }, output: known ? (random() < 0.3 ? { status: 'notFound' } : { status: 'ok', value: pick(values) }) : undefined });
        break;
      case 'write':
        history.push({ ...base, op: 'write', input: { key, value: pick(values) }, output: known ? { status: 'ok' } : undefined });
        break;
      case 'cas':
        history.push({
          ...base,
          op: 'cas',
          input: { key, expected: pick(values), value: pick(values) },
          output: known ? { status: pick(['ok', 'ok', 'compareFailed', 'notFound'] as const) } : undefined,
        });
        break;
      case 'delete':
        history.push({ ...base, op: 'delete', input: { key }, output: known ? { status: pick(['ok', 'notFound'] as const) } : undefined });
        break;
    }
  }
  return history;
}

describe('linearizability checker against the definition', () => {
  test('agrees with exhaustive search on thousands of random tiny histories', () => {
    const random = seededRandom(20_261_121);
    const verdicts = { linearizable: 0, violation: 0 };
    for (let round = 0; round < 4_000; round++) {
      const history = randomHistory(random);
      const expected = linearizableByDefinition(history) ? 'linearizable' : 'violation';
      const result = checkLinearizability(history);
      assert.equal(result.verdict, expected, `round ${round}:\n${history.map(formatOperation).join('\n')}`);
      verdicts[expected]++;
      if (expected === 'violation') {
        // Tiny histories never exhaust the budget, so every violation gets a minimized culprit.
        const v = result.violations[0];
        assert.ok(v?.culprit !== undefined, `round ${round}: no culprit`);
      }
    }
    // Both verdicts must be common, or the comparison proves little.
    assert.ok(verdicts.linearizable > 800 && verdicts.violation > 800, JSON.stringify(verdicts));
  });

  test('agrees with exhaustive search on longer single-key histories full of timeouts', () => {
    const random = seededRandom(4242);
    const verdicts = { linearizable: 0, violation: 0 };
    for (let round = 0; round < 600; round++) {
      const history = randomHistory(random, 9).map((op) => {
        const copy = { ...op, input: { ...op.input, key: 'a' } } as KvOperation;
        if (random() < 0.2) {
          delete copy.returnTime;
          delete copy.output;
        }
        return copy;
      });
      const expected = linearizableByDefinition(history) ? 'linearizable' : 'violation';
      assert.equal(checkLinearizability(history).verdict, expected, `round ${round}:\n${history.map(formatOperation).join('\n')}`);
      verdicts[expected]++;
    }
    assert.ok(verdicts.linearizable > 100 && verdicts.violation > 100, JSON.stringify(verdicts));
  });

  test('the blamed operation is exactly where the history stops being linearizable', () => {
    const random = seededRandom(77);
    let checked = 0;
    for (let round = 0; round < 3_000 && checked < 500; round++) {
      const history = randomHistory(random).map((op) => ({ ...op, input: { ...op.input, key: 'a' } }) as KvOperation);
      const result = checkLinearizability(history);
      if (result.verdict !== 'violation') continue;
      checked++;
      const culprit = result.violations[0]?.culprit;
      assert.ok(culprit?.returnTime !== undefined);
      // Cut just before and just after the culprit's return, turning operations still running into unknowns.
      const cut = (includeCulprit: boolean): KvOperation[] =>
        history
          .filter((op) => op.invokeTime <= (culprit.returnTime as number))
          .map((op) => {
            const returnsBefore =
              op.returnTime !== undefined &&
              (op.returnTime < (culprit.returnTime as number) || (op.returnTime === culprit.returnTime && history.indexOf(op) < history.indexOf(culprit)));
            if (returnsBefore || (includeCulprit && op === culprit)) return op;
            const unknown = { ...op };
            delete unknown.returnTime;
            delete unknown.output;
            return unknown;
          });
      assert.equal(linearizableByDefinition(cut(true)), false, `round ${round}: blamed prefix is linearizable`);
      assert.equal(linearizableByDefinition(cut(false)), true, `round ${round}: a shorter prefix already fails`);
    }
    assert.ok(checked >= 300, `only ${checked} violations to check`);
  });
});
