import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { VoteRespMessage } from '../../src/raft/index.js';
import { A, B, C, TestNet, drain, newCore, storageWith } from './harness.js';

describe('§5.4.1 election restriction', () => {
  // The voter's log ends at index 3 with term 2: [1, 2, 2].
  const cases: Array<{ lastIndex: number; lastTerm: number; grant: boolean; why: string }> = [
    { lastIndex: 3, lastTerm: 2, grant: true, why: 'same last term and length' },
    { lastIndex: 4, lastTerm: 2, grant: true, why: 'same last term, longer' },
    { lastIndex: 2, lastTerm: 2, grant: false, why: 'same last term, shorter' },
    { lastIndex: 1, lastTerm: 3, grant: true, why: 'higher last term, even if shorter' },
    { lastIndex: 5, lastTerm: 1, grant: false, why: 'lower last term, even if longer' },
  ];
  for (const c of cases) {
    test(`a voter ${c.grant ? 'grants' : 'denies'} a candidate whose log has ${c.why}`, () => {
      const s = storageWith([A, B, C], [1, 2, 2], { term: 2 });
      const b = newCore(B, s);
      b.step({ type: 'vote', from: A, to: B, term: 3, lastIndex: c.lastIndex, lastTerm: c.lastTerm, transfer: false });
      const [resp] = drain(b, s).messages as VoteRespMessage[];
      assert.ok(resp !== undefined && resp.type === 'voteResp');
      assert.equal(resp.reject, !c.grant);
      assert.equal(s.initialState().hardState.vote, c.grant ? A : '');
      // Term moves to the candidate's either way.
      assert.equal(s.initialState().hardState.term, 3);
    });
  }

  test('a node missing a committed entry cannot become leader', () => {
    const net = new TestNet([A, B, C]);
    net.elect(A);
    net.isolate(C);
    net.propose(A, 'committed');
    assert.equal(net.core(A).status().commit, 2);
    // A goes away; C (stale) and B (has the entry) remain.
    net.recover();
    net.isolate(A);
    net.elect(C);
    assert.notEqual(net.core(C).status().role, 'leader');
    net.elect(B);
    assert.equal(net.core(B).status().role, 'leader');
    net.tickAll(1);
    assert.deepEqual(net.appliedData(C), ['committed']);
  });
});
