import { open, readFile, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { StorageArgumentError, WalClosedError, WalCorruptError, WalFailedError } from './errors.js';
import { fsyncDir, fsyncFile, mkdirDurable, writeAll, writeFileAtomic } from './fsutil.js';
import type { HardState, LogEntry, SnapshotMeta, WalState } from './types.js';
import { FRAME_HEADER_BYTES, decodeFrame, encodeRecords, hasValidFrameFrom, validateRecord, type WalRecord } from './wal-record.js';
import { StateLoader, type LoadedState } from './wal-replay.js';
import { listSegments, segmentName, type Segment } from './wal-segment.js';

export interface WalOptions {
  readonly logger: Logger;
  /** A segment is closed and a new one started once it reaches this size. Default 64 MiB. */
  readonly segmentBytes?: number;
}

export interface AppendOptions {
  /**
   * Default true. With false the promise resolves once the bytes are written,
   * without an fsync of their own (a later synced write in the same or a
   * following batch covers them). Only for data a crash may lose, like a
   * Raft commit index that is not accompanied by new entries or a new term.
   */
  readonly sync?: boolean;
}

export interface WalStats {
  /** `append` calls accepted. */
  readonly appends: number;
  /** fsync/fdatasync calls issued on WAL files and the WAL directory. */
  readonly fsyncs: number;
  /** Bytes written to segment files. */
  readonly bytes: number;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 };
const NO_SNAPSHOT: SnapshotMeta = { index: 0, term: 0 };

/** What one queued write changes once it is on disk. */
interface Effect {
  readonly lastEntryIndex?: number;
  readonly hardState?: HardState;
  readonly marker?: SnapshotMeta;
  readonly metadata?: Uint8Array;
}

interface Pending {
  readonly bytes: Buffer;
  readonly effect: Effect;
  /** False for writes that may skip fsync (Raft's commit-only hard state updates). */
  readonly sync: boolean;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}


/**
 * The write-ahead log: an append-only sequence of segment files holding
 * entries, hard state, snapshot markers and metadata.
 *
 * Durability contract: a promise returned by `append`, `saveSnapshotMarker`
 * or `saveMetadata` resolves only after an fdatasync covering its bytes.
 * Calls made while a write is in flight are batched into the next single
 * write + fsync (group commit), keeping call order for bytes and resolution.
 * An `append` with `sync: false` resolves after the write alone.
 */
export class Wal {
  private readonly dir: string;
  private readonly logger: Logger;
  private readonly segmentBytes: number;
  private readonly segments: Segment[];
  private fh: FileHandle;

  private queue: Pending[] = [];
  private flushing = false;
  private idleWaiters: (() => void)[] = [];
  private releaseChain: Promise<void> = Promise.resolve();
  private closed = false;
  private failure: WalFailedError | undefined;

  // What callers have queued; used to reject appends that would leave a gap.
  private queuedLastIndex: number;
  private queuedMarkerIndex: number;

  // What is on disk; used to start new segments and decide what may be released.
  private lastIndex: number;
  private hardState: HardState | undefined;
  private marker: SnapshotMeta | undefined;
  private metadata: Uint8Array | undefined;
  private markerSegment: Segment | undefined;

  private counters = { appends: 0, fsyncs: 0, bytes: 0 };
  /** Bytes of the current segment were written without an fsync since. */
  private unsynced = false;

  private constructor(dir: string, options: WalOptions, fh: FileHandle, segments: Segment[], loaded: LoadedState) {
    this.dir = dir;
    this.logger = options.logger;
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.fh = fh;
    this.segments = segments;
    this.lastIndex = loaded.lastIndex;
    this.hardState = loaded.hardState;
    this.marker = loaded.marker;
    this.metadata = loaded.metadata;
    this.markerSegment = loaded.markerSegment;
    this.queuedLastIndex = loaded.lastIndex;
    this.queuedMarkerIndex = loaded.marker?.index ?? 0;
  }

  static async open(dir: string, options: WalOptions): Promise<{ wal: Wal; state: WalState }> {
    if (options.segmentBytes !== undefined && !(options.segmentBytes > 0)) {
      throw new StorageArgumentError(`segmentBytes must be positive, got ${options.segmentBytes}`);
    }
    await mkdirDurable(dir);

    const segments = await listSegments(dir);
    if (segments.length === 0) {
      const name = segmentName(0, 1);
      await writeFileAtomic(join(dir, name), new Uint8Array(0));
      segments.push({ seq: 0, name, size: 0, maxEntryIndex: 0 });
    }

    const loader = new StateLoader(dir);
    let repairedBytes = 0;
    const last = segments[segments.length - 1] as Segment;
    for (const seg of segments) {
      const path = join(dir, seg.name);
      const buf = await readFile(path);
      let off = 0;
      while (off < buf.length) {
        const r = decodeFrame(buf, off);
        if (r.kind === 'ok') {
          loader.apply(r.record, seg);
          off = r.next;
          continue;
        }
        if (r.kind === 'invalid') throw new WalCorruptError(path, off, r.reason);
        // Only the newest segment can end in an interrupted write: older ones
        // were fsynced in full before their successor was created.
        if (seg !== last) throw new WalCorruptError(path, off, `${r.reason} in a closed segment`);
        if (hasValidFrameFrom(buf, off + FRAME_HEADER_BYTES)) {
          throw new WalCorruptError(path, off, `${r.reason}, followed by valid frames`);
        }
        const cut = buf.length - off;
        options.logger.warn({ file: path, offset: off, bytes: cut, reason: r.reason }, 'WAL: cutting torn tail');
        await truncate(path, off);
        await fsyncFile(path);
        repairedBytes += cut;
        break;
      }
      seg.size = off;
    }

    const loaded = loader.finish();
    const fh = await open(join(dir, last.name), 'r+');
    const wal = new Wal(dir, options, fh, segments, loaded);
    const state: WalState = {
      snapshot: loaded.marker ?? NO_SNAPSHOT,
      hardState: loaded.hardState ?? EMPTY_HARD_STATE,
      entries: loaded.entries,
      repairedBytes,
      ...(loaded.metadata === undefined ? {} : { metadata: loaded.metadata }),
    };
    return { wal, state };
  }

  /**
   * Appends `entries` (contiguous indexes) and then `hardState`. An entry at
   * index i supersedes every earlier entry at i or above (Raft truncation),
   * so entries[0].index may be at most one past the current last index, and
   * must lie above the newest snapshot marker.
   */
  append(entries: readonly LogEntry[], hardState?: HardState, options: AppendOptions = {}): Promise<void> {
    try {
      this.checkWritable();
      const records: WalRecord[] = [];
      const first = entries[0];
      if (first !== undefined) {
        const top = Math.max(this.queuedLastIndex, this.queuedMarkerIndex);
        if (first.index > top + 1) {
          throw new StorageArgumentError(`entry ${first.index} would leave a gap after ${top}`);
        }
        if (first.index <= this.queuedMarkerIndex) {
          throw new StorageArgumentError(`entry ${first.index} is covered by the snapshot at ${this.queuedMarkerIndex}`);
        }
        for (let k = 0; k < entries.length; k++) {
          const entry = entries[k] as LogEntry;
          if (entry.index !== first.index + k) throw new StorageArgumentError('entries must have contiguous indexes');
          const record: WalRecord = { type: 'entry', entry };
          validateRecord(record);
          records.push(record);
        }
      }
      if (hardState !== undefined) {
        const record: WalRecord = { type: 'hardState', hardState };
        validateRecord(record);
        records.push(record);
      }
      const bytes = encodeRecords(records);
      const lastEntry = entries[entries.length - 1];
      if (lastEntry !== undefined) this.queuedLastIndex = lastEntry.index;
      this.counters.appends++;
      return this.enqueue(
        bytes,
        {
          ...(lastEntry === undefined ? {} : { lastEntryIndex: lastEntry.index }),
          ...(hardState === undefined ? {} : { hardState: { ...hardState } }),
        },
        options.sync ?? true,
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Records that a snapshot at `meta` exists. Write the snapshot file first:
   * once this resolves, a restart loads only entries above `meta.index`.
   */
  saveSnapshotMarker(meta: SnapshotMeta): Promise<void> {
    try {
      this.checkWritable();
      const record: WalRecord = { type: 'snapshot', snapshot: meta };
      validateRecord(record);
      if (meta.index < this.queuedMarkerIndex) {
        throw new StorageArgumentError(`snapshot marker ${meta.index} is older than ${this.queuedMarkerIndex}`);
      }
      this.queuedMarkerIndex = meta.index;
      const marker: SnapshotMeta =
        meta.voters === undefined ? { index: meta.index, term: meta.term } : { index: meta.index, term: meta.term, voters: [...meta.voters] };
      return this.enqueue(encodeRecords([record]), { marker });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Stores opaque bytes (e.g. member and cluster id); the newest copy is returned by `open`. */
  saveMetadata(data: Uint8Array): Promise<void> {
    try {
      this.checkWritable();
      const record: WalRecord = { type: 'metadata', data };
      validateRecord(record);
      const bytes = encodeRecords([record]);
      return this.enqueue(bytes, { metadata: new Uint8Array(data) });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Deletes whole segments that are no longer needed: a prefix of segments
   * that come before the one holding the newest durable snapshot marker and
   * whose entries all lie below `index`. Entries above the marker are kept
   * whatever `index` says, since nothing else could restore them.
   */
  releaseBefore(index: number): Promise<void> {
    if (!Number.isSafeInteger(index) || index < 0) {
      return Promise.reject(new StorageArgumentError(`release index must be a non-negative integer, got ${index}`));
    }
    if (this.closed) return Promise.reject(new WalClosedError());
    // Serialized, so files disappear strictly oldest first even across calls.
    const run = this.releaseChain.then(() => this.release(index));
    this.releaseChain = run.catch(() => undefined);
    return run;
  }

  stats(): WalStats {
    return { ...this.counters };
  }

  /** Waits for queued writes, then closes the file. Later calls reject with CAIRN_WAL_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.releaseChain;
    if (this.unsynced && this.failure === undefined) await this.fh.datasync();
    await this.fh.close();
  }

  private checkWritable(): void {
    if (this.closed) throw new WalClosedError();
    if (this.failure !== undefined) throw this.failure;
  }

  private enqueue(bytes: Buffer, effect: Effect, sync = true): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bytes, effect, sync, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        void this.flushLoop();
      }
    });
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          await this.writeBatch(batch);
        } catch (err) {
          this.fail(err, batch);
          return;
        }
        for (const p of batch) p.resolve();
        if ((this.segments[this.segments.length - 1] as Segment).size >= this.segmentBytes) {
          try {
            await this.rotate();
          } catch (err) {
            this.fail(err, []);
            return;
          }
        }
      }
    } finally {
      this.flushing = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private fail(err: unknown, batch: readonly Pending[]): void {
    this.failure = new WalFailedError(err);
    this.logger.error({ err, dir: this.dir }, 'WAL: write failed; refusing further writes');
    const rest = this.queue;
    this.queue = [];
    for (const p of batch) p.reject(this.failure);
    for (const p of rest) p.reject(this.failure);
  }

  private async writeBatch(batch: readonly Pending[]): Promise<void> {
    const seg = this.segments[this.segments.length - 1] as Segment;
    const buffers: Buffer[] = [];
    for (const p of batch) if (p.bytes.length > 0) buffers.push(p.bytes);
    if (buffers.length > 0) {
      const written = await writeAll(this.fh, buffers, seg.size);
      seg.size += written;
      this.counters.bytes += written;
      if (batch.some((p) => p.sync)) {
        await this.fh.datasync();
        this.counters.fsyncs++;
        this.unsynced = false;
      } else {
        this.unsynced = true;
      }
    }
    for (const { effect } of batch) {
      if (effect.lastEntryIndex !== undefined) {
        this.lastIndex = effect.lastEntryIndex;
        seg.maxEntryIndex = Math.max(seg.maxEntryIndex, effect.lastEntryIndex);
      }
      if (effect.hardState !== undefined) this.hardState = effect.hardState;
      if (effect.metadata !== undefined) this.metadata = effect.metadata;
      if (effect.marker !== undefined) {
        this.marker = effect.marker;
        this.markerSegment = seg;
      }
    }
  }

  /**
   * Starts the next segment. It opens with the current metadata, hard state
   * and snapshot marker, so that releasing older segments never loses them,
   * and it appears atomically (temp file + rename) with that header complete.
   */
  private async rotate(): Promise<void> {
    const current = this.segments[this.segments.length - 1] as Segment;
    // Opening trusts every segment but the newest to be complete.
    if (this.unsynced) {
      await this.fh.datasync();
      this.counters.fsyncs++;
      this.unsynced = false;
    }
    const header: WalRecord[] = [];
    if (this.metadata !== undefined) header.push({ type: 'metadata', data: this.metadata });
    if (this.hardState !== undefined) header.push({ type: 'hardState', hardState: this.hardState });
    if (this.marker !== undefined) header.push({ type: 'snapshot', snapshot: this.marker });
    const bytes = encodeRecords(header);
    const seq = current.seq + 1;
    const name = segmentName(seq, Math.max(this.lastIndex, this.marker?.index ?? 0) + 1);
    const path = join(this.dir, name);
    await writeFileAtomic(path, bytes);
    this.counters.fsyncs += 2;
    this.counters.bytes += bytes.length;
    const fh = await open(path, 'r+');
    const old = this.fh;
    this.fh = fh;
    const seg: Segment = { seq, name, size: bytes.length, maxEntryIndex: 0 };
    this.segments.push(seg);
    if (this.marker !== undefined) this.markerSegment = seg;
    await old.close();
    this.logger.debug({ file: path }, 'WAL: started segment');
  }

  private async release(index: number): Promise<void> {
    const markerAt = this.markerSegment === undefined ? -1 : this.segments.indexOf(this.markerSegment);
    const bound = Math.min(index, (this.marker?.index ?? 0) + 1);
    let count = 0;
    while (count < markerAt && (this.segments[count] as Segment).maxEntryIndex < bound) count++;
    const victims = this.segments.splice(0, count);
    for (const seg of victims) {
      await unlink(join(this.dir, seg.name));
      // Durable one at a time: a crash must never leave a hole in the sequence.
      await fsyncDir(this.dir);
      this.counters.fsyncs++;
      this.logger.debug({ file: seg.name }, 'WAL: released segment');
    }
  }
}
