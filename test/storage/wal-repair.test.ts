import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, open, readFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { silentLogger } from '../../src/log/logger.js';
import type { LogEntry } from '../../src/storage/types.js';
import { Wal } from '../../src/storage/wal.js';
import { PINO_WARN, TempRoot, bytes, captureLogger, text } from './helpers.js';

const tmp = new TempRoot();
before(() => tmp.setUp('wal-repair'));
after(() => tmp.tearDown());

const N = 5;
const body = (i: number) => `entry ${i} ${'abcdefghij'.repeat(6)}`;
const entry = (i: number, data = body(i)): LogEntry => ({ index: i, term: 1, data: bytes(data) });

interface Pristine {
  readonly dir: string;
  readonly file: string;
  /** Start offset of each frame, plus the end of the file. */
  readonly offsets: readonly number[];
}

/** N entries, one frame each, in a single segment. */
async function writePristine(): Promise<Pristine> {
  const dir = tmp.dir('pristine');
  const { wal } = await Wal.open(dir, { logger: silentLogger() });
  const [name] = await readdir(dir);
  const file = join(dir, name as string);
  const offsets = [(await stat(file)).size];
  for (let i = 1; i <= N; i++) {
    await wal.append([entry(i)]);
    offsets.push((await stat(file)).size);
  }
  await wal.close();
  return { dir, file, offsets };
}

/** A copy of the pristine log to damage. */
async function copyOf(p: Pristine): Promise<{ dir: string; file: string }> {
  const dir = tmp.dir('case');
  await mkdir(dir);
  const file = join(dir, p.file.slice(p.dir.length + 1));
  await copyFile(p.file, file);
  return { dir, file };
}

async function xorByte(file: string, offset: number, mask: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = (b[0] as number) ^ mask;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

const indexes = (entries: readonly LogEntry[]) => entries.map((e) => e.index);
const upTo = (n: number) => Array.from({ length: n }, (_, k) => k + 1);

/** Opens a damaged log, expects the first N-1 entries and a repair, then checks the log still works. */
async function expectRepaired(dir: string, file: string, cutAt: number, what: string): Promise<void> {
  const { logger, records } = captureLogger();
  const { wal, state } = await Wal.open(dir, { logger });
  assert.deepEqual(indexes(state.entries), upTo(N - 1), what);
  assert.equal(text((state.entries[N - 2] as LogEntry).data), body(N - 1), what);
  assert.ok(state.repairedBytes > 0, what);
  const warning = records.find((r) => r.level === PINO_WARN);
  assert.ok(warning, `no warning logged (${what})`);
  assert.equal(warning['file'], file, what);
  assert.equal(warning['offset'], cutAt, what);
  assert.equal(warning['bytes'], state.repairedBytes, what);
  assert.equal((await stat(file)).size, cutAt, what);

  await wal.append([entry(N, 'written after repair')]);
  await wal.close();
  const again = await Wal.open(dir, { logger: silentLogger() });
  assert.deepEqual(indexes(again.state.entries), upTo(N), what);
  assert.equal(text((again.state.entries[N - 1] as LogEntry).data), 'written after repair', what);
  assert.equal(again.state.repairedBytes, 0, what);
  await again.wal.close();
}

describe('Wal torn tail repair', () => {
  let pristine: Pristine;
  before(async () => {
    pristine = await writePristine();
  });

  test('a cut at every byte inside the last frame is repaired to the first N-1 entries', async () => {
    const start = pristine.offsets[N - 1] as number;
    const end = pristine.offsets[N] as number;
    assert.ok(end - start >= 64, 'the last frame should be a few words long');
    for (let cut = start + 1; cut < end; cut++) {
      const { dir, file } = await copyOf(pristine);
      await truncate(file, cut);
      await expectRepaired(dir, file, start, `cut at ${cut}`);
    }
  });

  test('a last frame overwritten with zeros is repaired', async () => {
    const start = pristine.offsets[N - 1] as number;
    const end = pristine.offsets[N] as number;
    const { dir, file } = await copyOf(pristine);
    const fh = await open(file, 'r+');
    await fh.write(Buffer.alloc(end - start), 0, end - start, start);
    await fh.close();
    await expectRepaired(dir, file, start, 'zeroed last frame');
  });

  test('zero-filled space after the last frame is cut and nothing is lost', async () => {
    const end = pristine.offsets[N] as number;
    const { dir, file } = await copyOf(pristine);
    await writeFile(file, Buffer.alloc(4096), { flag: 'a' });
    const { wal, state } = await Wal.open(dir, { logger: silentLogger() });
    assert.deepEqual(indexes(state.entries), upTo(N));
    assert.equal(state.repairedBytes, 4096);
    assert.equal((await stat(file)).size, end);
    await wal.close();
  });

  test('a changed byte anywhere in the last frame is repaired, never loaded', async () => {
    const start = pristine.offsets[N - 1] as number;
    const end = pristine.offsets[N] as number;
    for (let at = start; at < end; at++) {
      const { dir, file } = await copyOf(pristine);
      await xorByte(file, at, 0x5a);
      await expectRepaired(dir, file, start, `flipped byte ${at}`);
    }
  });
});

describe('Wal corruption', () => {
  let pristine: Pristine;
  before(async () => {
    pristine = await writePristine();
  });

  test('a changed byte anywhere in frame 2 of 5 fails open with CAIRN_WAL_CORRUPT and leaves the file alone', async () => {
    const start = pristine.offsets[1] as number;
    const end = pristine.offsets[2] as number;
    for (let at = start; at < end; at++) {
      const { dir, file } = await copyOf(pristine);
      await xorByte(file, at, 0x01);
      const damaged = await readFile(file);
      await assert.rejects(Wal.open(dir, { logger: silentLogger() }), (err: unknown) => {
        const e = err as { code?: string; file?: string; offset?: number; message: string };
        assert.equal(e.code, 'CAIRN_WAL_CORRUPT', `byte ${at}`);
        assert.equal(e.file, file);
        assert.equal(e.offset, start, `byte ${at}: ${e.message}`);
        assert.match(e.message, new RegExp(`offset ${start}`));
        return true;
      });
      assert.deepEqual(await readFile(file), damaged, `byte ${at}: the damaged file must not be modified`);
    }
  });

  test('a zeroed frame followed by valid frames is corruption, not a torn tail', async () => {
    const start = pristine.offsets[2] as number;
    const end = pristine.offsets[3] as number;
    const { dir, file } = await copyOf(pristine);
    const fh = await open(file, 'r+');
    await fh.write(Buffer.alloc(end - start), 0, end - start, start);
    await fh.close();
    await assert.rejects(Wal.open(dir, { logger: silentLogger() }), { code: 'CAIRN_WAL_CORRUPT', offset: start });
  });

  test('a CRC-valid frame of an unknown type at the tail is refused, not cut', async () => {
    const { dir, file } = await copyOf(pristine);
    const frame = Buffer.alloc(16);
    frame.writeUInt32LE(0, 0);
    frame[8] = 99;
    frame.writeUInt32LE(crc32(frame.subarray(8, 9)), 4);
    await writeFile(file, frame, { flag: 'a' });
    await assert.rejects(Wal.open(dir, { logger: silentLogger() }), { code: 'CAIRN_WAL_CORRUPT', offset: pristine.offsets[N] });
  });

  test('a torn end of an older segment is corruption: only the newest segment may be torn', async () => {
    const dir = tmp.dir();
    const { wal } = await Wal.open(dir, { logger: silentLogger(), segmentBytes: 256 });
    for (let i = 1; i <= 12; i++) await wal.append([entry(i)]);
    await wal.close();
    const names = (await readdir(dir)).sort();
    assert.ok(names.length >= 3);
    const first = join(dir, names[0] as string);
    await truncate(first, (await stat(first)).size - 3);
    await assert.rejects(Wal.open(dir, { logger: silentLogger() }), { code: 'CAIRN_WAL_CORRUPT', file: first });
  });
});
