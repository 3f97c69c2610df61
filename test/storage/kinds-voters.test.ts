/**
 * The replicated store's additions to the storage formats: conf entries,
 * Raft voters in snapshot markers and snapshot files, and appends that may
 * skip fsync. Single-node data written before them must read as before.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../src/log/logger.js';
import { Snapshotter } from '../../src/storage/snapshotter.js';
import { Wal } from '../../src/storage/wal.js';
import { decodeFrame, encodeRecords } from '../../src/storage/wal-record.js';
import { TempRoot, bytes, text } from './helpers.js';

const tmp = new TempRoot();
before(() => tmp.setUp('kinds'));
after(() => tmp.tearDown());
const logger = silentLogger();

describe('WAL entry kinds and marker voters', () => {
  test('conf entries and voters survive a reopen; plain entries and markers stay as they were', async () => {
    const dir = tmp.dir();
    const first = await Wal.open(dir, { logger });
    await first.wal.append([
      { index: 1, term: 1, data: bytes('plain') },
      { index: 2, term: 1, kind: 'conf', data: bytes('add:00000000000000a1') },
      { index: 3, term: 1, kind: 'normal', data: bytes('normal') },
    ]);
    await first.wal.saveSnapshotMarker({ index: 1, term: 1, voters: ['00000000000000a1', '00000000000000b2'] });
    await first.wal.close();

    const { wal, state } = await Wal.open(dir, { logger });
    assert.deepEqual(state.snapshot, { index: 1, term: 1, voters: ['00000000000000a1', '00000000000000b2'] });
    assert.deepEqual(
      state.entries.map((e) => [e.index, e.kind ?? '(none)', text(e.data)]),
      [
        [2, 'conf', 'add:00000000000000a1'],
        // A normal entry is written as before kinds existed, and reads back without a kind.
        [3, '(none)', 'normal'],
      ],
    );
    await wal.close();
  });

  test('an entry record and a 16-byte marker, as single-node WALs hold them, decode without kind or voters', () => {
    const buf = encodeRecords([
      { type: 'entry', entry: { index: 7, term: 1, data: bytes('{"op":"set"}') } },
      { type: 'snapshot', snapshot: { index: 5, term: 1 } },
    ]);
    // Type byte 1 (entry) and a 16-byte marker payload: the pre-cluster layout.
    assert.equal(buf[8], 1);
    const entry = decodeFrame(buf, 0);
    assert.equal(entry.kind, 'ok');
    if (entry.kind !== 'ok') return;
    assert.deepEqual(Object.keys(entry.record.type === 'entry' ? entry.record.entry : {}).sort(), ['data', 'index', 'term']);
    const marker = decodeFrame(buf, entry.next);
    assert.equal(buf.readUInt32LE(entry.next), 16);
    assert.deepEqual(marker.kind === 'ok' ? marker.record : undefined, { type: 'snapshot', snapshot: { index: 5, term: 1 } });
  });

  test('an empty voter list is kept apart from "no voters"', async () => {
    const dir = tmp.dir();
    const first = await Wal.open(dir, { logger });
    await first.wal.saveSnapshotMarker({ index: 3, term: 2, voters: [] });
    await first.wal.close();
    const { wal, state } = await Wal.open(dir, { logger });
    assert.deepEqual(state.snapshot, { index: 3, term: 2, voters: [] });
    await wal.close();
  });

  test('appends with sync: false skip the fsync but are read back after a clean close', async () => {
    const dir = tmp.dir();
    const { wal } = await Wal.open(dir, { logger });
    await wal.append([{ index: 1, term: 1, data: bytes('a') }]);
    const synced = wal.stats().fsyncs;
    await wal.append([], { term: 1, vote: '', commit: 1 }, { sync: false });
    assert.equal(wal.stats().fsyncs, synced, 'no fsync for a commit-only hard state');
    await wal.close();
    const reopened = await Wal.open(dir, { logger });
    assert.deepEqual(reopened.state.hardState, { term: 1, vote: '', commit: 1 });
    await reopened.wal.close();
  });

  test('an unsynced tail is synced before the segment is closed for a new one', async () => {
    const dir = tmp.dir();
    const { wal } = await Wal.open(dir, { logger, segmentBytes: 64 });
    await wal.append([{ index: 1, term: 1, data: bytes('x'.repeat(80)) }], undefined, { sync: false });
    await wal.close();
    // The batch filled the segment: rotation fsynced the unsynced bytes before starting the next one.
    assert.ok(wal.stats().fsyncs >= 1);
    assert.ok((await readdir(dir)).filter((n) => n.endsWith('.wal')).length >= 2);
  });
});

describe('snapshot files with voters', () => {
  test('voters make a version 2 file; without them the file stays version 1', async () => {
    const dir = tmp.dir();
    const snapshotter = new Snapshotter(dir, logger);
    await snapshotter.save({ index: 5, term: 1, data: bytes('single') });
    await snapshotter.save({ index: 9, term: 3, voters: ['00000000000000a1', '00000000000000b2'], data: bytes('cluster') });
    const files = (await readdir(dir)).sort();
    const versions = await Promise.all(files.map(async (f) => (await readFile(join(dir, f))).readUInt32LE(8)));
    assert.deepEqual(versions, [1, 2]);
    const newest = await snapshotter.loadNewest();
    assert.deepEqual(
      newest && { index: newest.index, term: newest.term, voters: newest.voters, data: text(newest.data) },
      { index: 9, term: 3, voters: ['00000000000000a1', '00000000000000b2'], data: 'cluster' },
    );
  });

  test('a damaged version 2 file is set aside and the older version 1 file loads', async () => {
    const dir = tmp.dir();
    const snapshotter = new Snapshotter(dir, logger);
    await snapshotter.save({ index: 5, term: 1, data: bytes('single') });
    await snapshotter.save({ index: 9, term: 3, voters: ['a'], data: bytes('cluster') });
    const name = (await readdir(dir)).sort()[1] as string;
    const { writeFile } = await import('node:fs/promises');
    const buf = await readFile(join(dir, name));
    buf[44] = (buf[44] as number) ^ 0xff;
    await writeFile(join(dir, name), buf);
    const loaded = await snapshotter.loadNewest();
    assert.equal(loaded?.index, 5);
    assert.equal(loaded?.voters, undefined);
  });
});
