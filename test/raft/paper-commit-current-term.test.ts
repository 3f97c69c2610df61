import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { A, B, C, D, E, TestNet, drain, newCore, storageWith } from './harness.js';

describe('§5.4.2 committing entries from previous terms', () => {
  test('a leader never commits a previous-term entry by counting replicas, only with an entry of its own term', () => {
    // Log [1, 2] from earlier terms, nothing committed; A becomes leader of term 3.
    const s = storageWith([A, B, C], [1, 2], { term: 2 });
    const a = newCore(A, s);
    a.campaign();
    drain(a, s);
    a.step({ type: 'voteResp', from: B, to: A, term: 3, reject: false });
    drain(a, s); // persists the no-op at index 3 (term 3)
    assert.equal(a.status().lastIndex, 3);
    // B now holds entries 1-2 as well: a majority, but of term 2.
    a.step({ type: 'appendResp', from: B, to: A, term: 3, index: 2, reject: false, hint: 0, hintTerm: 0 });
    assert.equal(a.status().commit, 0);
    // Once B holds the term-3 entry, everything up to it commits at once.
    a.step({ type: 'appendResp', from: B, to: A, term: 3, index: 3, reject: false, hint: 0, hintTerm: 0 });
    assert.equal(a.status().commit, 3);
  });

  test('Figure 8: an entry stored on a majority by a later leader can still be overwritten, so it must not count as committed', () => {
    const net = new TestNet([A, B, C, D, E], { maxMsgBytes: 1 });
    // (a) A leads term 1 and gets 'x' (index 2) onto B only.
    net.elect(A);
    for (const id of [C, D, E]) net.cut(A, id);
    net.propose(A, 'x');
    assert.equal(net.core(B).status().lastIndex, 2);
    // (b) A crashes; E wins term 2 with C and D, its own entry at index 2 reaches nobody.
    net.recover();
    net.restart(A);
    net.isolate(A);
    net.ignore('append');
    net.elect(E);
    assert.equal(net.core(E).status().role, 'leader');
    assert.equal(net.core(E).status().term, 2);
    assert.equal(net.core(E).termAt(2), 2);
    // (c) E crashes; A returns and wins term 3 with B and C (D stays cut off).
    net.recover();
    net.restart(E);
    net.isolate(E);
    net.isolate(D);
    // C must get 'x' (index 2) but not A's own no-op (index 3) after it.
    net.dropIf = (m) =>
      m.type === 'append' && m.to === C && m.entries.some((e) => e.index === 3) && net.core(C).termAt(2) === 1;
    // (C voted for E in term 2, so A needs term 3.)
    assert.ok(net.electWithRetries(A));
    assert.equal(net.core(A).status().term, 3);
    assert.equal(net.core(C).termAt(2), 1);
    // 'x' (term 1) now sits on A, B and C: a majority of five. Still not committed.
    assert.equal(net.core(A).status().commit, 1);
    // (d) A crashes; E can win again with C and D, whose logs end in older terms than E's...
    net.recover();
    net.restart(A);
    net.isolate(A);
    assert.ok(net.electWithRetries(E));
    net.tickAll(1);
    // ... and replaces 'x' everywhere it can reach. Nobody ever applied it.
    assert.equal(net.core(C).termAt(2), 2);
    for (const id of [A, B, C, D, E]) assert.deepEqual(net.appliedData(id), []);
  });

  test('Figure 8 (e): once the leader stores an entry of its own term on a majority, earlier entries are committed and safe', () => {
    const net = new TestNet([A, B, C, D, E]);
    net.elect(A);
    for (const id of [C, D, E]) net.cut(A, id);
    net.propose(A, 'x');
    net.recover();
    net.restart(A);
    net.isolate(A);
    net.ignore('append');
    net.elect(E);
    net.recover();
    net.restart(E);
    net.isolate(E);
    net.isolate(D);
    assert.ok(net.electWithRetries(A));
    // A's no-op of term 3 reached B and C together with 'x': both committed.
    assert.equal(net.core(A).status().commit, 3);
    assert.deepEqual(net.appliedData(A), ['x']);
    // E can no longer win: C refuses a log ending in term 2.
    net.recover();
    net.restart(A);
    net.isolate(A);
    assert.equal(net.electWithRetries(E), false);
  });
});
