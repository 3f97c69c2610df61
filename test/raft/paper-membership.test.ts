import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage, ProposalDroppedError, encodeConfChange } from '../../src/raft/index.js';
import { A, B, C, D, E, TestNet, drain, newCore } from './harness.js';

/** A cluster founded the way a real one is: every founder holds the genesis snapshot. */
function founded(ids: readonly string[]): TestNet {
  const net = new TestNet([]);
  for (const id of ids) net.add(id, MemoryStorage.bootstrap(ids));
  return net;
}

function dropped(reason: ProposalDroppedError['reason']): (err: unknown) => boolean {
  return (err) => err instanceof ProposalDroppedError && err.reason === reason && err.code === 'CAIRN_RAFT_PROPOSAL_DROPPED';
}

describe('§6 cluster membership changes (single-server)', () => {
  test('an added server starts empty, learns log and membership from the leader, then counts in the quorum', () => {
    const net = founded([A, B, C]);
    net.elect(A);
    net.propose(A, 'before');
    net.add(D, new MemoryStorage());
    net.core(A).proposeConfChange({ type: 'add', id: D });
    net.stabilize();
    net.tickAll(1);
    for (const id of [A, B, C, D]) assert.deepEqual(net.core(id).status().voters, [A, B, C, D]);
    assert.deepEqual(net.appliedData(D), ['before']);
    // Four voters: A and B alone are no longer a majority...
    net.isolate(C);
    net.isolate(D);
    net.propose(A, 'z');
    assert.deepEqual(net.appliedData(A), ['before']);
    // ...and D's acknowledgement is what completes one.
    net.recover();
    net.isolate(C);
    net.tickAll(1);
    assert.deepEqual(net.appliedData(A), ['before', 'z']);
  });

  test('a removed server no longer counts: the rest commit without it', () => {
    const net = founded([A, B, C]);
    net.elect(A);
    net.core(A).proposeConfChange({ type: 'remove', id: C });
    net.stabilize();
    net.tickAll(1);
    for (const id of [A, B]) assert.deepEqual(net.core(id).status().voters, [A, B]);
    net.isolate(C);
    net.propose(A, 'x');
    assert.deepEqual(net.appliedData(B), ['x']);
  });

  test('only one membership change may be pending at a time', () => {
    const net = founded([A, B, C]);
    net.elect(A);
    net.tickAll(1);
    net.isolate(B);
    net.isolate(C);
    const a = net.core(A);
    a.proposeConfChange({ type: 'add', id: D });
    assert.throws(() => a.proposeConfChange({ type: 'add', id: E }), dropped('confChangePending'));
    net.recover();
    net.tickAll(1);
    // Applied: the next one is accepted.
    a.proposeConfChange({ type: 'add', id: E });
  });

  test('a new leader changes membership only after applying an entry of its own term', () => {
    const net = founded([A, B, C]);
    net.isolate(B);
    net.isolate(C);
    net.elect(A);
    const a = net.core(A);
    assert.equal(a.status().role, 'candidate');
    a.step({ type: 'voteResp', from: B, to: A, term: a.status().term, reject: false });
    assert.equal(a.status().role, 'leader');
    // Its no-op is not committed yet, so the committed membership may still change under it.
    assert.throws(() => a.proposeConfChange({ type: 'remove', id: C }), dropped('confChangePending'));
    net.recover();
    net.tickAll(1);
    a.proposeConfChange({ type: 'remove', id: C });
  });

  test('nonsensical changes are refused up front', () => {
    const net = founded([A, B, C]);
    net.elect(A);
    net.tickAll(1);
    const a = net.core(A);
    assert.throws(() => a.proposeConfChange({ type: 'add', id: B }), dropped('invalidConfChange'));
    assert.throws(() => a.proposeConfChange({ type: 'remove', id: E }), dropped('invalidConfChange'));
    assert.throws(() => a.proposeConfChange({ type: 'add', id: 'not-an-id' }), dropped('invalidConfChange'));
  });

  test('a leader that removes itself steps down once the change is applied, and the rest elect a new leader', () => {
    const net = founded([A, B, C]);
    net.elect(A);
    net.core(A).proposeConfChange({ type: 'remove', id: A });
    net.stabilize();
    assert.notEqual(net.core(A).status().role, 'leader');
    net.isolate(A);
    for (let i = 0; i < 40 && ![B, C].some((id) => net.core(id).status().role === 'leader'); i++) net.tickAll(1);
    const leader = [B, C].find((id) => net.core(id).status().role === 'leader');
    assert.ok(leader !== undefined);
    assert.deepEqual(net.core(leader).status().voters, [B, C]);
    net.propose(leader, 'after');
    assert.deepEqual(net.appliedData(B), ['after']);
  });

  test('a node does not campaign while a committed membership change is not applied yet', () => {
    const s = MemoryStorage.bootstrap([A, B, C]);
    s.append([{ term: 1, index: 2, kind: 'conf', data: encodeConfChange({ type: 'add', id: D }) }]);
    s.setHardState({ term: 1, vote: '', commit: 2 });
    const a = newCore(A, s);
    for (let i = 0; i < 30; i++) a.tick();
    assert.equal(a.status().role, 'follower');
    // Applying it (the Ready hands it out) lifts the restriction.
    const out = drain(a, s);
    assert.deepEqual(out.committed.map((e) => e.index), [2]);
    assert.deepEqual(a.status().voters, [A, B, C, D]);
    for (let i = 0; i < 30; i++) a.tick();
    assert.equal(a.status().role, 'candidate');
  });

  test('a follower forwards a membership change to the leader', () => {
    const net = founded([A, B, C]);
    net.elect(A);
    net.tickAll(1);
    net.add(D, new MemoryStorage());
    net.core(B).proposeConfChange({ type: 'add', id: D });
    net.stabilize();
    net.tickAll(1);
    assert.deepEqual(net.core(A).status().voters, [A, B, C, D]);
    net.propose(C, 'via C');
    assert.deepEqual(net.appliedData(D), ['via C']);
  });
});
