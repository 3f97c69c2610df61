import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppendMessage, AppendRespMessage, Entry, Message, NodeId } from '../../src/raft/index.js';
import { A, B, C, TestNet, bytes, drain, newCore, storageWith } from './harness.js';
import type { TestNode } from './harness.js';

function appendsTo(msgs: readonly Message[], to: NodeId): AppendMessage[] {
  return msgs.filter((m): m is AppendMessage => m.type === 'append' && m.to === to);
}

function termsOf(n: TestNode): number[] {
  const out: number[] = [];
  for (let i = n.storage.firstIndex(); i <= n.storage.lastIndex(); i++) out.push(n.storage.term(i));
  return out;
}

function entry(index: number, term: number, data = `e${index}`): Entry {
  return { index, term, kind: 'normal', data: bytes(data) };
}

describe('§5.3 log replication', () => {
  test('the leader appends a proposal to its log and sends it to every follower', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    const a = net.node(A);
    a.core.propose(bytes('x'));
    const out = drain(a.core, a.storage);
    assert.equal(a.storage.lastIndex(), 2);
    for (const to of [B, C]) {
      const [m] = appendsTo(out.messages, to);
      assert.ok(m !== undefined);
      assert.deepEqual([m.prevIndex, m.prevTerm], [1, 1]);
      assert.deepEqual(m.entries.map((e) => [e.index, e.term]), [[2, 1]]);
    }
  });

  test('an entry is committed once a majority stores it, and the leader then applies it', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    net.isolate(C);
    net.propose(A, 'x');
    assert.equal(net.core(A).status().commit, 2);
    assert.deepEqual(net.appliedData(A), ['x']);
    assert.deepEqual(net.appliedData(C), []);
  });

  test('followers learn the commit index from later messages and apply in log order', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    for (const v of ['x', 'y', 'z']) net.propose(A, v);
    net.tickAll(1);
    for (const id of [A, B, C]) assert.deepEqual(net.appliedData(id), ['x', 'y', 'z']);
  });

  test('a follower refuses entries when its log does not contain the previous entry, with a hint', () => {
    const s = storageWith([A, B, C], [1, 1, 2, 2], { term: 3 });
    const b = newCore(B, s);
    // Leader of term 4 believes index 5 (term 3) precedes its new entry.
    b.step({ type: 'append', from: A, to: B, term: 4, prevIndex: 5, prevTerm: 3, entries: [entry(6, 4)], commit: 0 });
    const [resp] = drain(b, s).messages as AppendRespMessage[];
    assert.ok(resp !== undefined);
    assert.equal(resp.reject, true);
    assert.equal(resp.index, 5);
    // Our log ends at 4 with term 2 <= 3: that is where the leader should look next.
    assert.deepEqual([resp.hint, resp.hintTerm], [4, 2]);
    assert.equal(s.lastIndex(), 4);
  });

  test('a follower overwrites a conflicting suffix with the leader entries', () => {
    const s = storageWith([A, B, C], [1, 1, 2, 2], { term: 2 });
    const b = newCore(B, s);
    b.step({ type: 'append', from: A, to: B, term: 3, prevIndex: 2, prevTerm: 1, entries: [entry(3, 3, 'new')], commit: 0 });
    drain(b, s);
    assert.equal(s.lastIndex(), 3);
    assert.equal(s.term(3), 3);
  });

  test('duplicated or reordered appends never truncate entries the follower already matched', () => {
    const s = storageWith([A, B, C]);
    const b = newCore(B, s);
    const ents = [entry(1, 1), entry(2, 1), entry(3, 1)];
    b.step({ type: 'append', from: A, to: B, term: 1, prevIndex: 0, prevTerm: 0, entries: ents, commit: 0 });
    // An older message that only carried the first entry arrives late.
    b.step({ type: 'append', from: A, to: B, term: 1, prevIndex: 0, prevTerm: 0, entries: ents.slice(0, 1), commit: 0 });
    const resps = drain(b, s).messages as AppendRespMessage[];
    assert.equal(s.lastIndex(), 3);
    assert.deepEqual(resps.map((m) => [m.index, m.reject]), [
      [3, false],
      [1, false],
    ]);
  });

  // Figure 7: the leader (term 8) and possible follower logs (a)-(f).
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: Record<string, number[]> = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  for (const [name, log] of Object.entries(followers)) {
    test(`Figure 7 (${name}): the leader brings a divergent follower log in line with its own`, () => {
      const net = new TestNet([]);
      net.add(A, storageWith([A, B, C], leaderLog, { term: 8 }));
      net.add(B, storageWith([A, B, C], log, { term: 8 }));
      // C holds the leader's log, so A can win whatever B thinks of it.
      net.add(C, storageWith([A, B, C], leaderLog, { term: 8 }));
      net.elect(A);
      assert.equal(net.core(A).status().role, 'leader');
      net.tickAll(1);
      const expected = [...leaderLog, 9]; // plus the new leader's no-op of term 9
      assert.deepEqual(termsOf(net.node(B)), expected);
      assert.deepEqual(termsOf(net.node(A)), expected);
      assert.equal(net.core(B).status().commit, expected.length);
      // Rejection hints skip whole terms: few round trips even for (f).
      const rejects = net.trace.filter((m) => m.type === 'appendResp' && m.from === B && m.reject).length;
      assert.ok(rejects <= 3, `${rejects} rejections`);
    });
  }
});
