import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppendRespMessage, RaftSnapshot } from '../../src/raft/index.js';
import { A, B, C, TestNet, bytes, drain, newCore, storageWith } from './harness.js';

function snap(index: number, term: number): RaftSnapshot {
  return { index, term, voters: [A, B, C], data: bytes(`state@${index}`) };
}

/** Snapshot the leader's applied state and drop the log behind it. */
function compactLeader(net: TestNet): number {
  const a = net.node(A);
  const applied = a.core.status().applied;
  a.storage.createSnapshot(applied, a.core.status().voters, bytes(`state@${applied}`));
  a.storage.compact(applied);
  return applied;
}

// §7 log compaction, InstallSnapshot.
describe('§7 log compaction and InstallSnapshot', () => {
  test('a follower that needs compacted entries receives the snapshot, then the rest of the log', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    net.isolate(C);
    for (const v of ['a', 'b', 'c']) net.propose(A, v);
    const at = compactLeader(net);
    net.propose(A, 'd');
    net.recover();
    net.tickAll(2);
    const c = net.node(C);
    assert.equal(c.storage.snapshot().index, at);
    assert.equal(new TextDecoder().decode(c.storage.snapshot().data), `state@${at}`);
    assert.deepEqual(net.appliedData(C), ['d']);
    assert.equal(c.core.status().commit, net.core(A).status().commit);
    assert.ok(net.trace.some((m) => m.type === 'snapshot' && m.to === C));
  });

  test('a snapshot at or below the commit index is ignored (stale or duplicated)', () => {
    const s = storageWith([A, B, C], [1, 1, 1, 1, 1], { term: 1, commit: 4 });
    const b = newCore(B, s);
    b.step({ type: 'snapshot', from: A, to: B, term: 1, snapshot: snap(3, 1) });
    const out = drain(b, s);
    assert.equal(out.readies.some((r) => r.snapshot !== undefined), false);
    assert.equal(s.lastIndex(), 5);
    const resp = out.messages[0] as AppendRespMessage;
    assert.deepEqual([resp.type, resp.index, resp.reject], ['appendResp', 4, false]);
  });

  test('a snapshot whose last entry the log already holds only moves the commit index', () => {
    const s = storageWith([A, B, C], [1, 1, 1, 1, 1], { term: 1, commit: 2 });
    const b = newCore(B, s);
    b.step({ type: 'snapshot', from: A, to: B, term: 1, snapshot: snap(4, 1) });
    const out = drain(b, s);
    assert.equal(out.readies.some((r) => r.snapshot !== undefined), false);
    // Entry 5 (beyond the snapshot) survives; 3 and 4 are applied from the log.
    assert.equal(s.lastIndex(), 5);
    assert.equal(b.status().commit, 4);
    assert.deepEqual(out.committed.map((e) => e.index), [1, 2, 3, 4]);
  });

  test('a snapshot that conflicts with the log replaces it', () => {
    const s = storageWith([A, B, C], [1, 1, 2, 2], { term: 2, commit: 2 });
    const b = newCore(B, s);
    b.step({ type: 'snapshot', from: A, to: B, term: 3, snapshot: snap(4, 3) });
    const out = drain(b, s);
    assert.equal(out.readies[0]?.snapshot?.index, 4);
    assert.equal(s.firstIndex(), 5);
    assert.equal(s.lastIndex(), 4);
    assert.equal(b.status().commit, 4);
    const resp = out.messages.find((m) => m.type === 'appendResp') as AppendRespMessage;
    assert.equal(resp.index, 4);
  });

  test('a failed snapshot send is retried; a delivered one waits for the follower ack', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    net.isolate(C);
    net.propose(A, 'a');
    compactLeader(net);
    net.recover();
    net.ignore('snapshot'); // lost on the wire
    net.tickAll(1);
    const a = net.core(A);
    assert.equal(a.progress()?.get(C)?.state, 'snapshot');
    // Nothing else is sent while the snapshot is in flight.
    const appendsToC = (): number => net.trace.filter((m) => m.type === 'append' && m.to === C).length;
    const before = appendsToC();
    net.tickAll(3);
    assert.equal(appendsToC(), before);
    a.reportSnapshot(C, false);
    assert.equal(a.progress()?.get(C)?.state, 'probe');
    net.recover();
    net.tickAll(2);
    assert.deepEqual(a.progress()?.get(C)?.state, 'replicate');
    assert.equal(net.core(C).status().commit, a.status().commit);
  });
});
