import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProposalDroppedError } from '../../src/raft/index.js';
import { A, B, C, TestNet, bytes } from './harness.js';

// Dissertation §3.10: leadership transfer.
describe('leadership transfer (Raft dissertation §3.10)', () => {
  test('an up-to-date follower takes over at once, even with pre-vote on', () => {
    const net = new TestNet([A, B, C], { preVote: true, checkQuorum: true });
    net.elect(A);
    net.core(A).transferLeader(B);
    net.stabilize();
    assert.equal(net.core(B).status().role, 'leader');
    assert.equal(net.core(B).status().term, 2);
    assert.equal(net.core(A).status().leader, B);
    assert.ok(net.trace.some((m) => m.type === 'timeoutNow' && m.to === B));
  });

  test('a lagging follower is caught up first, then told to campaign', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    net.isolate(B);
    net.propose(A, 'x');
    net.propose(A, 'y');
    net.recover();
    net.core(A).transferLeader(B);
    net.stabilize();
    assert.equal(net.core(B).status().role, 'leader');
    net.tickAll(1);
    assert.deepEqual(net.appliedData(B), ['x', 'y']);
  });

  test('proposals are refused while a transfer is in progress', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    net.isolate(B);
    net.core(A).transferLeader(B);
    assert.throws(
      () => net.core(A).propose(bytes('during')),
      (err: unknown) => err instanceof ProposalDroppedError && err.reason === 'transferring',
    );
  });

  test('a transfer that does not finish within an election timeout is abandoned', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    net.isolate(B);
    net.core(A).transferLeader(B);
    assert.equal(net.core(A).status().leadTransferee, B);
    for (let i = 0; i < 10; i++) net.tick(A);
    net.stabilize();
    assert.equal(net.core(A).status().leadTransferee, '');
    assert.equal(net.core(A).status().role, 'leader');
    net.core(A).propose(bytes('after'));
  });

  test('a follower forwards the request to the leader', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    net.core(C).transferLeader(C);
    net.stabilize();
    assert.equal(net.core(C).status().role, 'leader');
  });
});
