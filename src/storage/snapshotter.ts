import { readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from '../log/logger.js';
import { SnapshotCorruptError, StorageArgumentError } from './errors.js';
import { TEMP_SUFFIX, fsyncDir, mkdirDurable, writeFileAtomic } from './fsutil.js';
import { checkU53, hex16, readU53, writeU53 } from './numbers.js';
import type { Snapshot, SnapshotMeta } from './types.js';

/*
 * File layout (little-endian), header then data:
 *
 *   version 1: "CAIRNSNP" | u32 1 | u32 crc | u64 index | u64 term | u64 data length | data
 *   version 2: "CAIRNSNP" | u32 2 | u32 crc | u64 index | u64 term | u64 data length |
 *              u32 voters length | voters (UTF-8, comma-separated) | data
 *
 * The crc covers everything after itself, so a file renamed by hand or cut
 * short is caught as surely as flipped bits. Version 2 carries the Raft
 * voters of a replicated store; snapshots without voters stay version 1, so
 * single-node data dirs are written exactly as before.
 */

const MAGIC = Buffer.from('CAIRNSNP', 'latin1');
const VERSION_PLAIN = 1;
const VERSION_VOTERS = 2;
const HEADER_BYTES = 40;
const CRC_FROM = 16;
const KEEP = 3;
const SNAP_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;
const BROKEN_SUFFIX = '.broken';

interface SnapFile extends SnapshotMeta {
  readonly name: string;
}

export function snapshotFileName(meta: SnapshotMeta): string {
  return `${hex16(meta.term)}-${hex16(meta.index)}.snap`;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * Stores state-machine snapshots as one file each, written atomically.
 * The caller writes the snapshot here before the WAL's snapshot marker, so
 * the marker never points at a snapshot that a crash could have lost.
 */
export class Snapshotter {
  private readonly dir: string;
  private readonly logger: Logger;

  constructor(dir: string, logger: Logger) {
    this.dir = dir;
    this.logger = logger;
  }

  /** Durably writes `snapshot`, then drops all but the newest few files. */
  async save(snapshot: Snapshot): Promise<void> {
    checkU53('snapshot index', snapshot.index);
    checkU53('snapshot term', snapshot.term);
    await mkdirDurable(this.dir);
    const voters = snapshot.voters === undefined ? undefined : Buffer.from(snapshot.voters.join(','), 'utf8');
    if (snapshot.voters?.some((v) => v === '' || v.includes(','))) {
      throw new StorageArgumentError('snapshot voters must be non-empty and free of commas');
    }
    const headerBytes = voters === undefined ? HEADER_BYTES : HEADER_BYTES + 4 + voters.length;
    const header = Buffer.alloc(headerBytes);
    MAGIC.copy(header, 0);
    header.writeUInt32LE(voters === undefined ? VERSION_PLAIN : VERSION_VOTERS, 8);
    writeU53(header, 16, snapshot.index);
    writeU53(header, 24, snapshot.term);
    writeU53(header, 32, snapshot.data.byteLength);
    if (voters !== undefined) {
      header.writeUInt32LE(voters.length, HEADER_BYTES);
      voters.copy(header, HEADER_BYTES + 4);
    }
    header.writeUInt32LE(crc32(snapshot.data, crc32(header.subarray(CRC_FROM))), 12);
    // Header and data go out as two buffers: a 10 MB snapshot is never concatenated.
    await writeFileAtomic(join(this.dir, snapshotFileName(snapshot)), [header, snapshot.data]);
    await this.prune();
  }

  /**
   * The newest snapshot that passes its checks. Damaged files are renamed to
   * `*.broken` (kept for inspection, never read again) and older ones tried.
   */
  async loadNewest(): Promise<Snapshot | undefined> {
    for (const file of await this.list()) {
      const path = join(this.dir, file.name);
      let buf: Buffer;
      try {
        buf = await readFile(path);
      } catch (err) {
        if (isMissing(err)) continue;
        throw err;
      }
      try {
        return this.decode(file, buf);
      } catch (err) {
        if (!(err instanceof SnapshotCorruptError)) throw err;
        this.logger.warn({ file: path, reason: err.message }, 'snapshot: damaged file set aside, trying an older one');
        await rename(path, path + BROKEN_SUFFIX);
        await fsyncDir(this.dir);
      }
    }
    return undefined;
  }

  /** Snapshot files by name, newest first (by index, then term). */
  private async list(): Promise<SnapFile[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const files: SnapFile[] = [];
    for (const name of names) {
      if (name.startsWith('.') && name.endsWith(TEMP_SUFFIX)) {
        // A save interrupted before its rename; it never counted as written.
        await unlink(join(this.dir, name)).catch(() => undefined);
        continue;
      }
      const m = SNAP_NAME.exec(name);
      if (m?.[1] === undefined || m[2] === undefined) continue;
      const term = parseInt(m[1], 16);
      const index = parseInt(m[2], 16);
      if (Number.isSafeInteger(term) && Number.isSafeInteger(index)) files.push({ name, term, index });
    }
    return files.sort((a, b) => b.index - a.index || b.term - a.term);
  }

  private decode(file: SnapFile, buf: Buffer): Snapshot {
    const fail = (reason: string): never => {
      throw new SnapshotCorruptError(join(this.dir, file.name), reason);
    };
    if (buf.length < HEADER_BYTES) fail(`only ${buf.length} bytes`);
    if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) fail('bad magic');
    const version = buf.readUInt32LE(8);
    if (version !== VERSION_PLAIN && version !== VERSION_VOTERS) fail(`unknown version ${version}`);
    const crc = crc32(buf.subarray(HEADER_BYTES), crc32(buf.subarray(CRC_FROM, HEADER_BYTES)));
    if (crc !== buf.readUInt32LE(12)) fail('crc mismatch');
    const index = readU53(buf, 16);
    const term = readU53(buf, 24);
    const length = readU53(buf, 32);
    let dataAt = HEADER_BYTES;
    let voters: string[] | undefined;
    if (version === VERSION_VOTERS) {
      if (buf.length < HEADER_BYTES + 4) fail('voters length missing');
      const votersLength = buf.readUInt32LE(HEADER_BYTES);
      dataAt = HEADER_BYTES + 4 + votersLength;
      if (dataAt > buf.length) fail(`voters of ${votersLength} bytes run past the end`);
      const text = buf.toString('utf8', HEADER_BYTES + 4, dataAt);
      voters = text === '' ? [] : text.split(',');
    }
    if (length !== buf.length - dataAt) fail(`header says ${length} data bytes, file has ${buf.length - dataAt}`);
    if (index !== file.index || term !== file.term) fail(`header says term ${term} index ${index}`);
    const data = buf.subarray(dataAt);
    return voters === undefined ? { index, term, data } : { index, term, voters, data };
  }

  private async prune(): Promise<void> {
    const stale = (await this.list()).slice(KEEP);
    if (stale.length === 0) return;
    for (const file of stale) {
      await unlink(join(this.dir, file.name)).catch((err: unknown) => {
        if (!isMissing(err)) throw err;
      });
    }
    await fsyncDir(this.dir);
  }
}
