import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProposalDroppedError, RaftConfigError } from '../../src/raft/index.js';
import type { HeartbeatMessage } from '../../src/raft/index.js';
import { A, B, C, D, E, TestNet, bytes, drain, newCore, storageWith, text } from './harness.js';

describe('§8 client interaction: read-only queries (ReadIndex)', () => {
  test('the leader hands out its commit index only after a heartbeat round confirms it still leads', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    net.propose(A, 'x');
    const a = net.node(A);
    a.core.readIndex(bytes('r1'));
    const out = drain(a.core, a.storage);
    assert.deepEqual(out.readStates, []);
    const beats = out.messages.filter((m): m is HeartbeatMessage => m.type === 'heartbeat');
    assert.equal(beats.length, 2);
    for (const m of beats) assert.equal(text(m.ctx ?? new Uint8Array()), 'r1');
    // One follower's answer makes a majority with the leader.
    a.core.step({ type: 'heartbeatResp', from: B, to: A, term: 1, ctx: bytes('r1') });
    const rs = drain(a.core, a.storage).readStates;
    assert.deepEqual(rs.map((r) => [r.index, text(r.ctx)]), [[2, 'r1']]);
  });

  test('a quorum answering a later round also confirms the earlier pending reads', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    const a = net.node(A);
    a.core.readIndex(bytes('r1'));
    a.core.readIndex(bytes('r2'));
    drain(a.core, a.storage);
    a.core.step({ type: 'heartbeatResp', from: C, to: A, term: 1, ctx: bytes('r2') });
    assert.deepEqual(drain(a.core, a.storage).readStates.map((r) => text(r.ctx)), ['r1', 'r2']);
  });

  test('a new leader holds reads back until it has committed an entry of its own term', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    net.propose(A, 'x');
    net.isolate(A);
    net.ignore('appendResp'); // B wins but cannot commit its no-op yet
    net.elect(B);
    const b = net.node(B);
    assert.equal(b.core.status().role, 'leader');
    const commitBefore = b.core.status().commit;
    b.core.readIndex(bytes('r'));
    net.stabilize();
    assert.equal(b.readStates.length, 0);
    net.recover();
    net.isolate(A);
    net.tickAll(2);
    assert.equal(b.readStates.length, 1);
    // The read point covers the no-op of term 2, and so everything committed before B led.
    assert.ok((b.readStates[0]?.index ?? 0) > commitBefore);
    assert.equal(b.readStates[0]?.index, b.core.status().commit);
  });

  test('a follower forwards the request and receives the leader index', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    net.propose(A, 'x');
    net.core(C).readIndex(bytes('from-c'));
    net.stabilize();
    assert.deepEqual(net.node(C).readStates.map((r) => [r.index, text(r.ctx)]), [[2, 'from-c']]);
  });

  test('a leader cut off from the majority never answers, so it cannot serve a stale read', () => {
    const net = new TestNet([A, B, C, D, E]);
    net.elect(A);
    // A keeps one follower; the other three elect a new leader and write.
    for (const x of [A, B]) for (const y of [C, D, E]) net.cut(x, y);
    net.elect(C);
    net.propose(C, 'newer');
    assert.equal(net.core(A).status().role, 'leader');
    net.core(A).readIndex(bytes('stale?'));
    net.core(B).readIndex(bytes('stale via B?'));
    net.tickAll(5);
    assert.deepEqual(net.node(A).readStates, []);
    assert.deepEqual(net.node(B).readStates, []);
  });

  test('a single-node cluster answers at once', () => {
    const net = new TestNet([A]);
    net.elect(A);
    net.core(A).readIndex(bytes('solo'));
    net.stabilize();
    assert.deepEqual(net.node(A).readStates.map((r) => [r.index, text(r.ctx)]), [[1, 'solo']]);
  });

  test("'lease' mode answers without a heartbeat round, and requires check-quorum", () => {
    const net = new TestNet([A, B, C], { readOnly: 'lease', checkQuorum: true });
    net.elect(A);
    const a = net.node(A);
    a.core.readIndex(bytes('lease'));
    const out = drain(a.core, a.storage);
    assert.deepEqual(out.readStates.map((r) => text(r.ctx)), ['lease']);
    assert.equal(out.messages.length, 0);
    assert.throws(() => newCore(A, storageWith([A, B, C]), { readOnly: 'lease', checkQuorum: false }), RaftConfigError);
  });

  test('without a known leader a read is refused rather than silently lost', () => {
    const s = storageWith([A, B, C]);
    const a = newCore(A, s);
    assert.throws(
      () => a.readIndex(bytes('r')),
      (err: unknown) => err instanceof ProposalDroppedError && err.reason === 'noLeader',
    );
  });
});
