import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage, RaftConfigError, RaftUsageError } from '../../src/raft/index.js';
import type { RaftLogger } from '../../src/raft/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { A, B, C, bytes, drain, newCore, persist, storageWith, text } from './harness.js';

describe('Ready / advance contract', () => {
  for (const [label, storedTerm] of [['with a new term', 0], ['within the current term', 1]] as const) {
    test(`a granted vote (${label}) leaves in the same Ready that records it, and that Ready must be synced`, () => {
      const s = storageWith([A, B, C], [], { term: storedTerm });
      const b = newCore(B, s);
      b.step({ type: 'vote', from: A, to: B, term: 1, lastIndex: 0, lastTerm: 0, transfer: false });
      const rd = b.ready();
      assert.deepEqual(rd.hardState, { term: 1, vote: A, commit: 0 });
      assert.equal(rd.mustSync, true);
      assert.deepEqual(rd.messages.map((m) => m.type), ['voteResp']);
      b.advance(rd);
    });
  }

  test('a commit-only change does not require fsync', () => {
    const s = storageWith([A, B, C], [1, 1], { term: 1 });
    const b = newCore(B, s);
    drain(b, s);
    b.step({ type: 'heartbeat', from: A, to: B, term: 1, commit: 2 });
    const rd = b.ready();
    assert.deepEqual(rd.hardState, { term: 1, vote: '', commit: 2 });
    assert.equal(rd.entries.length, 0);
    assert.equal(rd.mustSync, false);
    b.advance(rd);
  });

  test('a leader counts its own entries only once persisted, so nothing is applied before it is durable', () => {
    const s = storageWith([A]);
    const a = newCore(A, s);
    a.campaign();
    drain(a, s);
    a.propose(bytes('x'));
    const first = a.ready();
    assert.deepEqual(first.entries.map((e) => text(e.data)), ['x']);
    assert.deepEqual(first.committed, []);
    persist(s, first);
    a.advance(first);
    const second = a.ready();
    assert.deepEqual(second.committed.map((e) => text(e.data)), ['x']);
    assert.equal(second.hardState?.commit, 2);
    a.advance(second);
  });

  test('ready() twice without advance(), or advance() with another Ready, is a usage error', () => {
    const s = storageWith([A, B, C]);
    const a = newCore(A, s);
    a.campaign();
    const rd = a.ready();
    assert.equal(a.hasReady(), false);
    assert.throws(() => a.ready(), RaftUsageError);
    assert.throws(() => a.advance({ ...rd }), RaftUsageError);
    a.advance(rd);
  });

  test('input between ready() and advance() lands in the next Ready', () => {
    const s = storageWith([A, B, C]);
    const b = newCore(B, s);
    b.step({ type: 'append', from: A, to: B, term: 1, prevIndex: 0, prevTerm: 0, entries: [{ term: 1, index: 1, kind: 'normal', data: bytes('one') }], commit: 0 });
    const rd = b.ready();
    b.step({ type: 'append', from: A, to: B, term: 1, prevIndex: 1, prevTerm: 1, entries: [{ term: 1, index: 2, kind: 'normal', data: bytes('two') }], commit: 1 });
    persist(s, rd);
    b.advance(rd);
    const next = b.ready();
    assert.deepEqual(next.entries.map((e) => text(e.data)), ['two']);
    assert.deepEqual(next.committed.map((e) => text(e.data)), ['one']);
    assert.equal(next.messages.length, 1);
    b.advance(next);
  });

  test('soft state is reported when leader or role changes', () => {
    const s = storageWith([A, B, C]);
    const b = newCore(B, s);
    b.step({ type: 'heartbeat', from: A, to: B, term: 1, commit: 0 });
    const rd = b.ready();
    assert.deepEqual(rd.soft, { leader: A, role: 'follower' });
    b.advance(rd);
    b.step({ type: 'heartbeat', from: A, to: B, term: 1, commit: 0 });
    const again = b.ready();
    assert.equal(again.soft, undefined);
    b.advance(again);
  });

  test('after a restart, committed entries beyond the applied index are handed out again', () => {
    const s = storageWith([A, B, C], [1, 1, 1], { term: 1, commit: 3 });
    const fresh = newCore(A, s);
    assert.deepEqual(drain(fresh, s).committed.map((e) => e.index), [1, 2, 3]);
    // A state machine that kept its state up to 2 asks only for what follows.
    const resumed = newCore(A, s, { applied: 2 });
    assert.deepEqual(drain(resumed, s).committed.map((e) => e.index), [3]);
    assert.deepEqual([resumed.status().term, resumed.status().commit], [1, 3]);
  });

  test('a durable state machine ahead of a lost commit write still counts as committed', () => {
    const s = storageWith([A, B, C], [1, 1, 1], { term: 1, commit: 1 });
    const a = newCore(A, s, { applied: 3 });
    assert.equal(a.status().commit, 3);
    assert.equal(a.ready().hardState?.commit, 3);
  });

  test('configuration mistakes are rejected with CAIRN_RAFT_CONFIG', () => {
    const s = new MemoryStorage();
    for (const bad of [
      { id: 'A' },
      { id: A, heartbeatTicks: 10, electionTicks: 10 },
      { id: A, maxInflight: 0 },
      { id: A, applied: 5 },
    ]) {
      assert.throws(
        () => newCore(bad.id, s, bad),
        (err: unknown) => err instanceof RaftConfigError && err.code === 'CAIRN_RAFT_CONFIG',
        JSON.stringify(bad),
      );
    }
  });

  test('role changes are logged through the injected logger (a pino logger fits)', () => {
    const lines: string[] = [];
    const rec: RaftLogger = { debug() {}, info: (_o, msg) => lines.push(msg), warn: (_o, msg) => lines.push(msg) };
    const s = storageWith([A]);
    const a = newCore(A, s, { logger: rec });
    a.campaign();
    assert.ok(lines.includes('raft: became leader'), lines.join('\n'));
    // The shared pino logger satisfies the interface as is.
    newCore(B, storageWith([A, B, C]), { logger: silentLogger() }).campaign();
  });
});
