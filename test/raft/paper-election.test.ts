import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message, VoteMessage } from '../../src/raft/index.js';
import { A, B, C, D, E, TestNet, drain, newCore, storageWith } from './harness.js';

function vote(from: string, to: string, term: number, lastIndex = 0, lastTerm = 0): VoteMessage {
  return { type: 'vote', from, to, term, lastIndex, lastTerm, transfer: false };
}

function ofType<T extends Message['type']>(msgs: readonly Message[], type: T): Array<Message & { readonly type: T }> {
  return msgs.filter((m): m is Message & { readonly type: T } => m.type === type);
}

describe('§5.2 leader election', () => {
  test('a follower that hears nothing for an election timeout becomes candidate, votes for itself and asks every peer', () => {
    const s = storageWith([A, B, C]);
    const a = newCore(A, s);
    for (let i = 0; i < 20; i++) a.tick();
    const st = a.status();
    assert.equal(st.role, 'candidate');
    assert.equal(st.term, 1);
    assert.equal(st.vote, A);
    const out = drain(a, s);
    const votes = ofType(out.messages, 'vote');
    assert.deepEqual(votes.map((m) => m.to).sort(), [B, C]);
    for (const m of votes) assert.deepEqual([m.term, m.lastIndex, m.lastTerm], [1, 0, 0]);
    // The vote for itself was persisted with the requests.
    assert.deepEqual(s.initialState().hardState, { term: 1, vote: A, commit: 0 });
  });

  test('election timeouts are randomized within [electionTicks, 2*electionTicks)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 60; seed++) {
      const a = newCore(A, storageWith([A, B, C]), {}, seed);
      let ticks = 0;
      while (a.status().role === 'follower') {
        a.tick();
        ticks++;
        assert.ok(ticks < 20, `seed ${seed}: no campaign within 2*electionTicks`);
      }
      assert.ok(ticks >= 10, `seed ${seed}: campaigned after ${ticks} ticks`);
      seen.add(ticks);
    }
    // Spread is what makes split votes rare.
    assert.ok(seen.size >= 5, `only ${seen.size} distinct timeouts`);
  });

  test('a candidate that receives votes from a majority becomes leader and announces itself', () => {
    const s = storageWith([A, B, C]);
    const a = newCore(A, s);
    a.campaign();
    drain(a, s);
    a.step({ type: 'voteResp', from: B, to: A, term: 1, reject: false });
    assert.equal(a.status().role, 'leader');
    const out = drain(a, s);
    const appends = ofType(out.messages, 'append');
    assert.deepEqual(appends.map((m) => m.to).sort(), [B, C]);
    // The announcement carries the new leader's no-op entry of its own term.
    for (const m of appends) {
      assert.equal(m.entries.length, 1);
      assert.deepEqual([m.entries[0]?.index, m.entries[0]?.term, m.entries[0]?.data.byteLength], [1, 1, 0]);
    }
  });

  test('a candidate rejected by a majority goes back to follower', () => {
    const s = storageWith([A, B, C, D, E]);
    const a = newCore(A, s);
    a.campaign();
    drain(a, s);
    a.step({ type: 'voteResp', from: B, to: A, term: 1, reject: true });
    a.step({ type: 'voteResp', from: C, to: A, term: 1, reject: true });
    assert.equal(a.status().role, 'candidate');
    a.step({ type: 'voteResp', from: D, to: A, term: 1, reject: true });
    assert.equal(a.status().role, 'follower');
    assert.equal(a.status().term, 1);
  });

  test('each server votes for at most one candidate per term, first come first served', () => {
    const s = storageWith([A, B, C]);
    const b = newCore(B, s);
    b.step(vote(A, B, 1));
    b.step(vote(C, B, 1));
    b.step(vote(A, B, 1)); // a retransmission is answered the same way
    const resps = ofType(drain(b, s).messages, 'voteResp');
    assert.deepEqual(
      resps.map((m) => [m.to, m.reject]),
      [
        [A, false],
        [C, true],
        [A, false],
      ],
    );
    assert.equal(s.initialState().hardState.vote, A);
  });

  test('a candidate that hears from a leader of its term steps down', () => {
    const s = storageWith([A, B, C]);
    const a = newCore(A, s);
    a.campaign();
    drain(a, s);
    a.step({ type: 'append', from: B, to: A, term: 1, prevIndex: 0, prevTerm: 0, entries: [], commit: 0 });
    assert.equal(a.status().role, 'follower');
    assert.equal(a.status().leader, B);
  });

  test('the leader sends heartbeats every heartbeatTicks', () => {
    const net = new TestNet([A, B, C], { heartbeatTicks: 3 });
    net.elect(A);
    const a = net.node(A);
    for (let i = 1; i <= 6; i++) {
      a.core.tick();
      const beats = ofType(drain(a.core, a.storage).messages, 'heartbeat');
      assert.equal(beats.length, i % 3 === 0 ? 2 : 0, `tick ${i}`);
    }
  });

  test('with randomized timeouts a 5-node cluster elects exactly one leader', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const net = new TestNet([A, B, C, D, E]);
      for (const id of [A, B, C, D, E]) net.node(id).core = newCore(id, net.node(id).storage, {}, seed);
      let leaders: string[] = [];
      for (let t = 0; t < 200 && leaders.length === 0; t++) {
        net.tickAll(1);
        leaders = [A, B, C, D, E].filter((id) => net.core(id).status().role === 'leader');
      }
      assert.equal(leaders.length, 1, `seed ${seed}`);
      const term = net.core(leaders[0] as string).status().term;
      for (const id of [A, B, C, D, E]) {
        assert.equal(net.core(id).status().term, term);
        assert.equal(net.core(id).status().leader, leaders[0]);
      }
    }
  });
});

describe('§5.1 terms', () => {
  test('a server that sees a higher term adopts it and becomes follower', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    const a = net.node(A);
    a.core.step({ type: 'heartbeatResp', from: B, to: A, term: 5 });
    assert.deepEqual([a.core.status().role, a.core.status().term, a.core.status().vote], ['follower', 5, '']);
  });

  test('a candidate behind in term learns the current term from the rejection', () => {
    const sa = storageWith([A, B, C], [], { term: 5 });
    const a = newCore(A, sa);
    a.step(vote(C, A, 3));
    const [resp] = ofType(drain(a, sa).messages, 'voteResp');
    assert.deepEqual([resp?.term, resp?.reject], [5, true]);
    const sc = storageWith([A, B, C], [], { term: 2 });
    const c = newCore(C, sc);
    c.campaign();
    drain(c, sc);
    c.step(resp as Message);
    assert.deepEqual([c.status().role, c.status().term], ['follower', 5]);
  });

  test('requests from an older term are rejected without effect', () => {
    const s = storageWith([A, B, C], [1, 2], { term: 2 });
    const c = newCore(C, s);
    c.step({
      type: 'append',
      from: A,
      to: C,
      term: 1,
      prevIndex: 2,
      prevTerm: 2,
      entries: [{ term: 1, index: 3, kind: 'normal', data: new Uint8Array(1) }],
      commit: 3,
    });
    c.step(vote(B, C, 1, 9, 9));
    assert.equal(c.status().lastIndex, 2);
    assert.equal(c.status().commit, 0);
    assert.equal(c.status().vote, '');
    assert.deepEqual(
      drain(c, s).messages.map((m) => [m.type, m.term]),
      [['voteResp', 2]],
    );
  });
});
