import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppendMessage, Message } from '../../src/raft/index.js';
import { Progress } from '../../src/raft/progress.js';
import { quorumIndex, voteOutcome } from '../../src/raft/quorum.js';
import { A, B, C, D, E, TestNet, bytes, drain } from './harness.js';

function appendsTo(msgs: readonly Message[], to: string): AppendMessage[] {
  return msgs.filter((m): m is AppendMessage => m.type === 'append' && m.to === to);
}

describe('replication flow control', () => {
  test('a follower in replicate state gets a pipeline of at most maxInflight unacknowledged appends', () => {
    const net = new TestNet([A, B, C], { maxInflight: 2 });
    net.elect(A);
    net.propose(A, 'warm-up'); // B and C are in replicate state now
    const a = net.node(A);
    const sent: AppendMessage[] = [];
    for (let i = 0; i < 5; i++) {
      a.core.propose(bytes(`p${i}`));
      sent.push(...appendsTo(drain(a.core, a.storage).messages, B));
    }
    assert.equal(sent.length, 2);
    assert.equal(a.core.progress()?.get(B)?.inflight, 2);
    // One ack frees the window, and the rest goes out in one batch.
    a.core.step({ type: 'appendResp', from: B, to: A, term: 1, index: sent[0]?.entries.at(-1)?.index ?? 0, reject: false, hint: 0, hintTerm: 0 });
    const more = appendsTo(drain(a.core, a.storage).messages, B);
    assert.equal(more.length, 1);
    assert.deepEqual(more[0]?.entries.map((e) => new TextDecoder().decode(e.data)), ['p2', 'p3', 'p4']);
  });

  test('appends are batched up to maxMsgBytes (at least one entry each)', () => {
    const net = new TestNet([A, B, C], { maxMsgBytes: 250 });
    net.elect(A);
    net.isolate(B);
    for (let i = 0; i < 6; i++) net.core(A).propose(new Uint8Array(100));
    net.stabilize();
    net.recover();
    net.tickAll(3);
    const toB = net.trace.filter((m): m is AppendMessage => m.type === 'append' && m.to === B && m.entries.length > 0);
    assert.ok(toB.length >= 3);
    for (const m of toB) assert.ok(m.entries.length <= 2, `${m.entries.length} entries in one append`);
    assert.equal(net.core(B).status().commit, net.core(A).status().commit);
  });

  test('a follower in probe state gets one append at a time until it answers', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    net.isolate(B);
    const a = net.node(A);
    a.core.reportUnreachable(B);
    assert.equal(a.core.progress()?.get(B)?.state, 'probe');
    let count = 0;
    for (let i = 0; i < 4; i++) {
      a.core.propose(bytes(`p${i}`));
      count += appendsTo(drain(a.core, a.storage).messages, B).length;
    }
    assert.equal(count, 1);
  });

  test('progress ignores stale rejections and acks', () => {
    const pr = new Progress(11, 4);
    pr.maybeUpdate(10);
    pr.becomeReplicate();
    pr.sentAppend(3, 13);
    assert.equal(pr.maybeDecrTo(9, 9), false); // older than match: stale
    assert.equal(pr.maybeUpdate(8), false);
    assert.equal(pr.maybeDecrTo(12, 11), true);
    assert.equal(pr.next, 11);
  });
});

describe('quorum arithmetic', () => {
  test('the commit index is the highest index a majority has', () => {
    const match = new Map([[A, 9], [B, 7], [C, 5], [D, 3], [E, 1]]);
    assert.equal(quorumIndex([A, B, C, D, E], (id) => match.get(id) ?? 0), 5);
    assert.equal(quorumIndex([A, B, C, D], (id) => match.get(id) ?? 0), 5);
    assert.equal(quorumIndex([A], (id) => match.get(id) ?? 0), 9);
  });

  test('elections are won by a majority and lost once a majority is impossible', () => {
    const votes = new Map([[A, true], [B, false]]);
    assert.equal(voteOutcome([A, B, C, D], votes), 'pending');
    votes.set(C, true);
    assert.equal(voteOutcome([A, B, C, D], votes), 'pending');
    votes.set(D, true);
    assert.equal(voteOutcome([A, B, C, D], votes), 'won');
    assert.equal(voteOutcome([A, B, C], new Map([[B, false], [C, false]])), 'lost');
  });
});
