import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CompactedError,
  MemoryStorage,
  RaftInvariantError,
  SnapshotOutOfDateError,
  UnavailableError,
  decodeConfChange,
  encodeConfChange,
} from '../../src/raft/index.js';
import type { Entry } from '../../src/raft/index.js';
import { RaftLog } from '../../src/raft/log.js';
import { A, B, C, bytes, storageWith } from './harness.js';

function ent(index: number, term: number, size = 0): Entry {
  return { index, term, kind: 'normal', data: new Uint8Array(size) };
}

describe('MemoryStorage', () => {
  test('reads entries, terms and bounds, and refuses out-of-range reads with stable codes', () => {
    const s = storageWith([A], [1, 1, 2, 3]);
    assert.deepEqual([s.firstIndex(), s.lastIndex(), s.term(0), s.term(4)], [1, 4, 0, 3]);
    assert.deepEqual(s.entries(2, 4, Infinity).map((e) => e.index), [2, 3]);
    assert.throws(() => s.entries(2, 6, Infinity), (e: unknown) => e instanceof UnavailableError && e.code === 'CAIRN_RAFT_UNAVAILABLE');
    s.createSnapshot(2, [A], bytes('s2'));
    s.compact(2);
    assert.deepEqual([s.firstIndex(), s.term(2)], [3, 1]);
    assert.throws(() => s.term(1), (e: unknown) => e instanceof CompactedError && e.code === 'CAIRN_RAFT_COMPACTED');
    assert.throws(() => s.entries(2, 3, Infinity), CompactedError);
  });

  test('size-limited reads return at least one entry and stop before the limit', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1, 100), ent(2, 1, 100), ent(3, 1, 100)]);
    assert.equal(s.entries(1, 4, 1).length, 1);
    assert.equal(s.entries(1, 4, 240).length, 2);
    assert.equal(s.entries(1, 4, 10_000).length, 3);
  });

  test('appending at an index replaces that entry and everything after it', () => {
    const s = storageWith([A], [1, 1, 1, 1]);
    s.append([ent(3, 2)]);
    assert.deepEqual([s.lastIndex(), s.term(3)], [3, 2]);
    // Entries at or before the compaction point are skipped, not an error.
    s.createSnapshot(2, [A], bytes(''));
    s.compact(2);
    s.append([ent(2, 1), ent(3, 2), ent(4, 2)]);
    assert.deepEqual([s.firstIndex(), s.lastIndex(), s.term(4)], [3, 4, 2]);
    assert.throws(() => s.append([ent(9, 2)]), RaftInvariantError);
  });

  test('snapshots only move forward, and compaction cannot pass the snapshot', () => {
    const s = storageWith([A], [1, 1, 1]);
    assert.throws(() => s.compact(2), RaftInvariantError);
    s.createSnapshot(2, [A, B], bytes('x'));
    assert.throws(() => s.createSnapshot(1, [A], bytes('')), SnapshotOutOfDateError);
    assert.throws(() => s.applySnapshot({ index: 2, term: 1, voters: [A], data: bytes('') }), SnapshotOutOfDateError);
    s.applySnapshot({ index: 7, term: 3, voters: [A, C], data: bytes('y') });
    assert.deepEqual([s.firstIndex(), s.lastIndex(), s.term(7)], [8, 7, 3]);
    assert.deepEqual(s.initialState().voters, [A, C]);
  });

  test('bootstrap stores the genesis membership as a snapshot at index 1', () => {
    const s = MemoryStorage.bootstrap([C, A, B]);
    assert.deepEqual(s.initialState(), { hardState: { term: 1, vote: '', commit: 1 }, voters: [A, B, C] });
    assert.deepEqual([s.firstIndex(), s.lastIndex(), s.term(1)], [2, 1, 1]);
  });
});

describe('RaftLog', () => {
  test('reads through storage and unstable entries as one log', () => {
    const s = storageWith([A], [1, 1]);
    const log = new RaftLog(s);
    log.append([ent(3, 2), ent(4, 2)]);
    assert.deepEqual([log.lastIndex(), log.term(2), log.term(4), log.term(5)], [4, 1, 2, undefined]);
    assert.deepEqual(log.slice(1, 5, Infinity).map((e) => e.index), [1, 2, 3, 4]);
    assert.deepEqual(log.slice(2, 5, 1).map((e) => e.index), [2]);
  });

  test('maybeAppend truncates only at a real conflict and commits no further than what it verified', () => {
    const log = new RaftLog(storageWith([A], [1, 1, 1]));
    assert.equal(log.maybeAppend(3, 2, 10, []), undefined); // prev does not match
    assert.equal(log.maybeAppend(1, 1, 10, [ent(2, 1)]), 2); // already held: no truncation
    assert.equal(log.lastIndex(), 3);
    assert.equal(log.committed, 2);
    assert.equal(log.maybeAppend(2, 1, 2, [ent(3, 4), ent(4, 4)]), 4);
    assert.deepEqual([log.term(3), log.term(4)], [4, 4]);
  });

  test('a conflict below the commit index is a safety violation, never silently applied', () => {
    const log = new RaftLog(storageWith([A], [1, 1, 1]));
    log.commitTo(3);
    assert.throws(() => log.maybeAppend(1, 1, 3, [ent(2, 9)]), RaftInvariantError);
    assert.throws(() => log.commitTo(7), RaftInvariantError);
  });

  test('findConflictByTerm skips a whole term', () => {
    const log = new RaftLog(storageWith([A], [1, 1, 3, 3, 3, 5, 5]));
    assert.deepEqual(log.findConflictByTerm(7, 4), { index: 5, term: 3 });
    assert.deepEqual(log.findConflictByTerm(7, 0), { index: 0, term: 0 });
    assert.deepEqual(log.findConflictByTerm(4, 3), { index: 4, term: 3 });
  });

  test('maybeCommit only moves onto an entry of the given term', () => {
    const log = new RaftLog(storageWith([A], [1, 2, 2]));
    assert.equal(log.maybeCommit(3, 3), false);
    assert.equal(log.maybeCommit(3, 2), true);
    assert.equal(log.committed, 3);
  });
});

describe('conf change payloads', () => {
  test('round-trip and reject malformed data', () => {
    const cc = { type: 'remove' as const, id: B };
    assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
    assert.throws(() => decodeConfChange(bytes('add:nope')), RaftInvariantError);
    assert.throws(() => decodeConfChange(bytes('swap:0000000000000001')), RaftInvariantError);
  });
});
