import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, open, readdir, rename, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../src/log/logger.js';
import { Snapshotter, snapshotFileName } from '../../src/storage/snapshotter.js';
import type { Snapshot } from '../../src/storage/types.js';
import { PINO_WARN, TempRoot, bytes, captureLogger, text } from './helpers.js';

const tmp = new TempRoot();
before(() => tmp.setUp('snap'));
after(() => tmp.tearDown());

const snap = (index: number, term: number, body = `state at ${index}`): Snapshot => ({ index, term, data: bytes(body) });

async function flipByte(file: string, offset: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = (b[0] as number) ^ 0xff;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

describe('Snapshotter', () => {
  test('a missing or empty directory has no snapshot', async () => {
    const dir = tmp.dir();
    assert.equal(await new Snapshotter(dir, silentLogger()).loadNewest(), undefined);
  });

  test('save then loadNewest returns the same bytes, index and term', async () => {
    const dir = tmp.dir();
    const data = randomBytes(3 * 1024 * 1024);
    await new Snapshotter(dir, silentLogger()).save({ index: 1234, term: 7, data });
    // A fresh instance, as after a restart.
    const loaded = await new Snapshotter(dir, silentLogger()).loadNewest();
    assert.ok(loaded);
    assert.equal(loaded.index, 1234);
    assert.equal(loaded.term, 7);
    assert.ok(Buffer.from(loaded.data).equals(data));
    assert.deepEqual(await readdir(dir), ['0000000000000007-00000000000004d2.snap']);
  });

  test('the newest is chosen by index, whatever the terms', async () => {
    const dir = tmp.dir();
    const s = new Snapshotter(dir, silentLogger());
    await s.save(snap(50, 3));
    await s.save(snap(90, 2)); // term order alone would pick index 50
    await s.save(snap(70, 2));
    const loaded = await s.loadNewest();
    assert.equal(loaded?.index, 90);
    assert.equal(text(loaded.data), 'state at 90');
  });

  test('a damaged newest file is set aside as .broken with a warning and the previous one loads', async () => {
    const dir = tmp.dir();
    const { logger, records } = captureLogger();
    const s = new Snapshotter(dir, logger);
    await s.save(snap(10, 1));
    await s.save(snap(20, 1, 'x'.repeat(1000)));
    const newest = join(dir, snapshotFileName({ index: 20, term: 1 }));
    await flipByte(newest, 40 + 500);

    const loaded = await s.loadNewest();
    assert.equal(loaded?.index, 10);
    assert.equal(text(loaded.data), 'state at 10');
    assert.deepEqual((await readdir(dir)).sort(), [snapshotFileName({ index: 10, term: 1 }), `${snapshotFileName({ index: 20, term: 1 })}.broken`]);
    const warning = records.find((r) => r.level === PINO_WARN);
    assert.equal(warning?.['file'], newest);
  });

  test('truncated, header-damaged and renamed files are all rejected', async () => {
    const dir = tmp.dir();
    const s = new Snapshotter(dir, silentLogger());
    await s.save(snap(1, 1));
    await s.save(snap(2, 1));
    await s.save(snap(3, 1));
    await truncate(join(dir, snapshotFileName({ index: 3, term: 1 })), 45);
    await flipByte(join(dir, snapshotFileName({ index: 2, term: 1 })), 20); // index field in the header
    // A valid file under a name that claims a newer snapshot.
    await copyFile(join(dir, snapshotFileName({ index: 1, term: 1 })), join(dir, snapshotFileName({ index: 9, term: 1 })));
    const loaded = await s.loadNewest();
    assert.equal(loaded?.index, 1);
    assert.equal((await readdir(dir)).filter((n) => n.endsWith('.broken')).length, 3);
    // Once every file is bad there is no snapshot, rather than a wrong one.
    await rename(join(dir, snapshotFileName({ index: 1, term: 1 })), join(dir, 'elsewhere'));
    await writeFile(join(dir, snapshotFileName({ index: 4, term: 1 })), 'not a snapshot');
    assert.equal(await s.loadNewest(), undefined);
  });

  test('only the newest three snapshots are kept', async () => {
    const dir = tmp.dir();
    const s = new Snapshotter(dir, silentLogger());
    for (const index of [5, 10, 15, 20, 25]) await s.save(snap(index, 1));
    assert.deepEqual((await readdir(dir)).sort(), [15, 20, 25].map((index) => snapshotFileName({ index, term: 1 })));
    for (const index of [15, 20, 25]) {
      assert.ok((await stat(join(dir, snapshotFileName({ index, term: 1 })))).size > 40);
    }
  });

  test('an interrupted save leaves no file that could be loaded, and is cleaned up', async () => {
    const dir = tmp.dir();
    const s = new Snapshotter(dir, silentLogger());
    await s.save(snap(1, 1));
    await writeFile(join(dir, `.${snapshotFileName({ index: 2, term: 1 })}.123-abcd.tmp`), 'half written');
    assert.equal((await s.loadNewest())?.index, 1);
    assert.deepEqual(await readdir(dir), [snapshotFileName({ index: 1, term: 1 })]);
  });
});
