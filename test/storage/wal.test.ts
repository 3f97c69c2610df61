import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, unlink } from 'node:fs/promises';
import { silentLogger } from '../../src/log/logger.js';
import type { LogEntry } from '../../src/storage/types.js';
import { Wal } from '../../src/storage/wal.js';
import { TempRoot, bytes, text } from './helpers.js';

const tmp = new TempRoot();
before(() => tmp.setUp('wal'));
after(() => tmp.tearDown());

const logger = silentLogger();

function entry(index: number, term = 1, body = `value-${index}`): LogEntry {
  return { index, term, data: bytes(body) };
}

function summary(entries: readonly LogEntry[]): string[] {
  return entries.map((e) => `${e.index}/${e.term}/${text(e.data)}`);
}

async function reopen(dir: string, segmentBytes?: number) {
  return Wal.open(dir, { logger, ...(segmentBytes === undefined ? {} : { segmentBytes }) });
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
}

describe('Wal round trip', () => {
  test('a new directory opens empty and is created', async () => {
    const dir = tmp.dir();
    const { wal, state } = await reopen(dir);
    assert.deepEqual(state.entries, []);
    assert.deepEqual(state.hardState, { term: 0, vote: '', commit: 0 });
    assert.deepEqual(state.snapshot, { index: 0, term: 0 });
    assert.equal(state.repairedBytes, 0);
    assert.equal(state.metadata, undefined);
    await wal.close();
    assert.deepEqual(await segmentFiles(dir), ['0000000000000000-0000000000000001.wal']);
  });

  test('entries, hard state, metadata and marker survive close and reopen', async () => {
    const dir = tmp.dir();
    const first = await reopen(dir);
    await first.wal.saveMetadata(bytes('{"member":"a1"}'));
    await first.wal.append([entry(1), entry(2), entry(3)], { term: 1, vote: 'a1', commit: 2 });
    await first.wal.append([entry(4, 2, 'ünïcode ✓')], { term: 2, vote: '', commit: 3 });
    await first.wal.close();

    const { wal, state } = await reopen(dir);
    assert.deepEqual(summary(state.entries), ['1/1/value-1', '2/1/value-2', '3/1/value-3', '4/2/ünïcode ✓']);
    assert.deepEqual(state.hardState, { term: 2, vote: '', commit: 3 });
    assert.equal(text(state.metadata ?? new Uint8Array()), '{"member":"a1"}');
    assert.equal(state.repairedBytes, 0);

    await wal.saveSnapshotMarker({ index: 2, term: 1 });
    await wal.append([entry(5, 2)]);
    await wal.close();
    const again = await reopen(dir);
    assert.deepEqual(again.state.snapshot, { index: 2, term: 1 });
    assert.deepEqual(summary(again.state.entries), ['3/1/value-3', '4/2/ünïcode ✓', '5/2/value-5']);
    assert.deepEqual(again.state.hardState, { term: 2, vote: '', commit: 3 });
    await again.wal.close();
  });

  test('writing at index i drops every earlier entry at i or above, across reopens', async () => {
    const dir = tmp.dir();
    const a = await reopen(dir);
    await a.wal.append([1, 2, 3, 4, 5].map((i) => entry(i, 1)));
    await a.wal.append([entry(3, 2, 'rewritten-3')]);
    await a.wal.close();
    const b = await reopen(dir);
    assert.deepEqual(summary(b.state.entries), ['1/1/value-1', '2/1/value-2', '3/2/rewritten-3']);
    // A later rewrite lower down again wins, and appending continues from there.
    await b.wal.append([entry(2, 3, 'rewritten-2'), entry(3, 3, 'again-3')]);
    await b.wal.append([entry(4, 3)]);
    await b.wal.close();
    const c = await reopen(dir);
    assert.deepEqual(summary(c.state.entries), ['1/1/value-1', '2/3/rewritten-2', '3/3/again-3', '4/3/value-4']);
    await c.wal.close();
  });

  test('a snapshot marker beyond the log (installed snapshot) starts the log after it', async () => {
    const dir = tmp.dir();
    const a = await reopen(dir);
    await a.wal.append([entry(1), entry(2)]);
    await a.wal.saveSnapshotMarker({ index: 10, term: 3 });
    await a.wal.append([entry(11, 3)]);
    await a.wal.close();
    const b = await reopen(dir);
    assert.deepEqual(b.state.snapshot, { index: 10, term: 3 });
    assert.deepEqual(summary(b.state.entries), ['11/3/value-11']);
    await b.wal.close();
  });

  test('appends that would leave a hole, or rewrite snapshotted entries, are refused', async () => {
    const { wal } = await reopen(tmp.dir());
    await wal.append([entry(1), entry(2)]);
    await assert.rejects(wal.append([entry(4)]), { code: 'CAIRN_STORAGE_INVALID_ARGUMENT' });
    await assert.rejects(wal.append([entry(3), entry(5)]), { code: 'CAIRN_STORAGE_INVALID_ARGUMENT' });
    await wal.saveSnapshotMarker({ index: 2, term: 1 });
    await assert.rejects(wal.append([entry(2)]), { code: 'CAIRN_STORAGE_INVALID_ARGUMENT' });
    await assert.rejects(wal.saveSnapshotMarker({ index: 1, term: 1 }), { code: 'CAIRN_STORAGE_INVALID_ARGUMENT' });
    await assert.rejects(wal.append([entry(3, -1)]), { code: 'CAIRN_STORAGE_INVALID_ARGUMENT' });
    // Refused calls leave the log usable.
    await wal.append([entry(3)]);
    await wal.close();
  });

  test('after close, writes reject with CAIRN_WAL_CLOSED and queued ones still land', async () => {
    const dir = tmp.dir();
    const { wal } = await reopen(dir);
    const queued = wal.append([entry(1)]);
    const closing = wal.close();
    await assert.rejects(wal.append([entry(2)]), { code: 'CAIRN_WAL_CLOSED' });
    await queued;
    await closing;
    const b = await reopen(dir);
    assert.deepEqual(summary(b.state.entries), ['1/1/value-1']);
    await b.wal.close();
  });
});

describe('Wal group commit', () => {
  test('200 concurrent appends share a few fsyncs, resolve in call order and all survive reopen', async () => {
    const dir = tmp.dir();
    const { wal } = await reopen(dir);
    const resolved: number[] = [];
    const calls: Promise<void>[] = [];
    for (let i = 1; i <= 200; i++) {
      calls.push(wal.append([entry(i)], { term: 1, vote: '', commit: i }).then(() => void resolved.push(i)));
    }
    await Promise.all(calls);
    const stats = wal.stats();
    assert.equal(stats.appends, 200);
    assert.ok(stats.fsyncs * 10 < stats.appends, `${stats.fsyncs} fsyncs for ${stats.appends} appends`);
    assert.deepEqual(resolved, Array.from({ length: 200 }, (_, k) => k + 1));
    await wal.close();

    const b = await reopen(dir);
    assert.deepEqual(b.state.entries.map((e) => e.index), Array.from({ length: 200 }, (_, k) => k + 1));
    assert.deepEqual(summary(b.state.entries).slice(-1), ['200/1/value-200']);
    assert.equal(b.state.hardState.commit, 200);
    await b.wal.close();
  });

  test('markers and metadata queued between appends keep their place in the order', async () => {
    const dir = tmp.dir();
    const { wal } = await reopen(dir);
    const order: string[] = [];
    const track = (name: string, p: Promise<void>) => p.then(() => void order.push(name));
    await Promise.all([
      track('e1-3', wal.append([entry(1), entry(2), entry(3)])),
      track('m2', wal.saveSnapshotMarker({ index: 2, term: 1 })),
      track('meta', wal.saveMetadata(bytes('x'))),
      track('e4', wal.append([entry(4)])),
      track('m3', wal.saveSnapshotMarker({ index: 3, term: 1 })),
      track('empty', wal.append([])),
    ]);
    assert.deepEqual(order, ['e1-3', 'm2', 'meta', 'e4', 'm3', 'empty']);
    await wal.close();
    const b = await reopen(dir);
    assert.deepEqual(b.state.snapshot, { index: 3, term: 1 });
    assert.deepEqual(summary(b.state.entries), ['4/1/value-4']);
    await b.wal.close();
  });
});

describe('Wal segments', () => {
  const segmentBytes = 1024;
  const big = (i: number): LogEntry => entry(i, 1, `v${i}-${'x'.repeat(150)}`);

  async function fill(dir: string, count: number): Promise<Wal> {
    const { wal } = await reopen(dir, segmentBytes);
    await wal.saveMetadata(bytes('member-7'));
    for (let i = 1; i <= count; i++) await wal.append([big(i)], { term: 1, vote: 'm7', commit: i - 1 });
    return wal;
  }

  /** First entry index of each segment, from the file names. */
  function firstIndexes(names: readonly string[]): number[] {
    return names.map((n) => parseInt(n.slice(17, 33), 16));
  }

  test('small segments rotate and are read back across files in order', async () => {
    const dir = tmp.dir();
    const wal = await fill(dir, 60);
    await wal.close();
    const names = await segmentFiles(dir);
    assert.ok(names.length >= 5, `only ${names.length} segments`);
    names.forEach((n, k) => assert.match(n, new RegExp(`^${k.toString(16).padStart(16, '0')}-[0-9a-f]{16}\\.wal$`)));
    const firsts = firstIndexes(names);
    assert.deepEqual([...firsts].sort((a, b) => a - b), firsts);

    const b = await reopen(dir, segmentBytes);
    assert.deepEqual(b.state.entries.map((e) => e.index), Array.from({ length: 60 }, (_, k) => k + 1));
    assert.equal(text((b.state.entries[42] as LogEntry).data), text(big(43).data));
    assert.deepEqual(b.state.hardState, { term: 1, vote: 'm7', commit: 59 });
    await b.wal.close();
  });

  test('releaseBefore keeps everything while there is no snapshot marker', async () => {
    const dir = tmp.dir();
    const wal = await fill(dir, 40);
    const before = await segmentFiles(dir);
    await wal.releaseBefore(1000);
    assert.deepEqual(await segmentFiles(dir), before);
    await wal.close();
  });

  test('releaseBefore deletes exactly the segments whose entries are all below the index and the marker', async () => {
    const dir = tmp.dir();
    const wal = await fill(dir, 60);
    await wal.saveSnapshotMarker({ index: 30, term: 1 });
    const before = await segmentFiles(dir);
    const firsts = firstIndexes(before);

    await wal.releaseBefore(20);
    // Segment k holds entries firsts[k]..firsts[k+1]-1: it may go when firsts[k+1] <= 20.
    const expected20 = before.filter((_, k) => k === before.length - 1 || (firsts[k + 1] as number) > 20);
    assert.deepEqual(await segmentFiles(dir), expected20);
    assert.ok(expected20.length < before.length, 'the test should delete something');

    // An index above the marker releases only what the marker covers (entries <= 30).
    await wal.releaseBefore(1000);
    const expected = before.filter((_, k) => k === before.length - 1 || (firsts[k + 1] as number) > 31);
    assert.deepEqual(await segmentFiles(dir), expected);
    await wal.append([big(61)]);
    await wal.close();

    const b = await reopen(dir, segmentBytes);
    assert.deepEqual(b.state.snapshot, { index: 30, term: 1 });
    assert.deepEqual(b.state.entries.map((e) => e.index), Array.from({ length: 31 }, (_, k) => k + 31));
    // Hard state and metadata lived in deleted segments too; new segments carry them forward.
    assert.deepEqual(b.state.hardState, { term: 1, vote: 'm7', commit: 59 });
    assert.equal(text(b.state.metadata ?? new Uint8Array()), 'member-7');
    await b.wal.close();
  });

  test('the segment holding the newest marker is kept even when all its entries are released', async () => {
    const dir = tmp.dir();
    const { wal } = await reopen(dir, 1 << 20);
    await wal.append([1, 2, 3].map((i) => big(i)));
    await wal.saveSnapshotMarker({ index: 3, term: 1 });
    await wal.releaseBefore(4);
    assert.equal((await segmentFiles(dir)).length, 1);
    await wal.close();
    const b = await reopen(dir);
    assert.deepEqual(b.state.snapshot, { index: 3, term: 1 });
    assert.deepEqual(b.state.entries, []);
    await b.wal.close();
  });

  test('a missing segment in the middle is reported, not skipped', async () => {
    const dir = tmp.dir();
    const wal = await fill(dir, 30);
    await wal.close();
    const names = await segmentFiles(dir);
    await unlink(`${dir}/${names[1] as string}`);
    await assert.rejects(reopen(dir, segmentBytes), { code: 'CAIRN_WAL_CORRUPT' });
  });
});
