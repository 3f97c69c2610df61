import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../../src/raft/index.js';
import { A, B, C, TestNet, drain, newCore, storageWith } from './harness.js';

// Dissertation §9.6 (pre-vote) and §6.2 / §4.2.3 (check-quorum, disruptive servers).
describe('pre-vote and check-quorum (Raft dissertation §9.6, §4.2.3)', () => {
  test('without pre-vote, a node rejoining after a partition forces the leader out', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    net.isolate(C);
    for (let i = 0; i < 50; i++) net.tick(C);
    net.stabilize();
    assert.ok(net.core(C).status().term > 1);
    net.recover();
    // C's next vote request carries its inflated term: everyone moves to it.
    net.tickAll(20);
    assert.notEqual(net.core(A).status().term, 1);
  });

  test('with pre-vote, a partitioned node does not bump its term and rejoins without disruption', () => {
    const net = new TestNet([A, B, C], { preVote: true });
    net.elect(A);
    assert.equal(net.core(A).status().role, 'leader');
    net.isolate(C);
    for (let i = 0; i < 50; i++) net.tick(C);
    net.stabilize();
    assert.equal(net.core(C).status().term, 1);
    assert.equal(net.core(C).status().role, 'preCandidate');
    net.recover();
    net.tickAll(3);
    assert.equal(net.core(A).status().role, 'leader');
    assert.equal(net.core(A).status().term, 1);
    assert.equal(net.core(C).status().leader, A);
  });

  test('a pre-vote is granted without changing the voter term or vote', () => {
    const s = storageWith([A, B, C], [1], { term: 1 });
    const b = newCore(B, s, { preVote: true });
    b.step({ type: 'preVote', from: A, to: B, term: 2, lastIndex: 1, lastTerm: 1, transfer: false });
    const [resp] = drain(b, s).messages;
    assert.deepEqual(pick(resp), { type: 'preVoteResp', term: 2, reject: false });
    assert.deepEqual([b.status().term, b.status().vote], [1, '']);
  });

  test('a pre-vote from a node with a stale log is refused, so it never starts a real election', () => {
    const net = new TestNet([A, B, C], { preVote: true });
    net.elect(A);
    net.isolate(C);
    net.propose(A, 'x');
    net.recover();
    net.isolate(A);
    net.elect(C);
    assert.equal(net.core(C).status().term, 1);
    assert.notEqual(net.core(C).status().role, 'leader');
  });

  test('with check-quorum, a leader that cannot reach a majority steps down after an election timeout', () => {
    const net = new TestNet([A, B, C], { checkQuorum: true });
    net.elect(A);
    net.isolate(A);
    for (let i = 0; i < 9; i++) net.tick(A);
    assert.equal(net.core(A).status().role, 'leader');
    for (let i = 0; i < 11; i++) net.tick(A);
    assert.equal(net.core(A).status().role, 'follower');
  });

  test('with check-quorum, a follower that recently heard from its leader ignores vote requests', () => {
    const net = new TestNet([A, B, C], { checkQuorum: true });
    net.elect(A);
    const b = net.node(B);
    b.core.step({ type: 'vote', from: C, to: B, term: 5, lastIndex: 9, lastTerm: 9, transfer: false });
    assert.equal(b.core.status().term, 1);
    assert.deepEqual(drain(b.core, b.storage).messages, []);
    // A transfer-initiated campaign is honoured even within the lease.
    b.core.step({ type: 'vote', from: C, to: B, term: 5, lastIndex: 9, lastTerm: 9, transfer: true });
    assert.equal(b.core.status().term, 5);
    assert.equal(b.core.status().vote, C);
  });

  test('a stale leader learns the newer term from a follower that refuses its append', () => {
    const net = new TestNet([A, B, C], { checkQuorum: true, preVote: true });
    net.elect(A);
    net.isolate(A);
    // Only B and C's clocks run: their leases expire and one of them takes over.
    for (let i = 0; i < 40 && ![B, C].some((id) => net.core(id).status().role === 'leader'); i++) {
      net.tick(B);
      net.tick(C);
      net.stabilize();
    }
    const leader = [B, C].find((id) => net.core(id).status().role === 'leader');
    assert.ok(leader !== undefined);
    assert.equal(net.core(A).status().role, 'leader');
    // A still believes it leads term 1 until someone tells it otherwise.
    net.recover();
    net.tick(A);
    net.stabilize();
    assert.equal(net.core(A).status().role, 'follower');
    assert.equal(net.core(A).status().term, net.core(leader).status().term);
  });
});

function pick(m: Message | undefined): Record<string, unknown> {
  if (m === undefined) return {};
  const r = m as unknown as Record<string, unknown>;
  return { type: r['type'], term: r['term'], reject: r['reject'] };
}
