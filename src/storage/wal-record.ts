import { crc32 } from 'node:zlib';
import { StorageArgumentError } from './errors.js';
import { checkU53, readU53, writeU53 } from './numbers.js';
import type { HardState, LogEntry, SnapshotMeta } from './types.js';

/*
 * Frame layout (all integers little-endian):
 *
 *   u32 payload length | u32 crc32(type byte + payload) | u8 type | payload | zero padding
 *
 * Frames start and end on 8-byte boundaries, so the length field sits in the
 * first half of an aligned 8-byte word and a sector-sized tear can never
 * split it. Padding is checked to be zero: the CRC does not cover it, and a
 * stray byte there is as much a sign of a bad tail as a CRC mismatch.
 */

export const FRAME_HEADER_BYTES = 8;
const ALIGN = 8;

export const RecordType = {
  entry: 1,
  hardState: 2,
  snapshot: 3,
  metadata: 4,
  /** An entry of kind 'conf': its own type so that WALs from before kinds existed read unchanged. */
  confEntry: 5,
} as const;

/*
 * Snapshot marker payload: u64 index | u64 term, then, when the marker names
 * Raft voters, u32 count and per voter u8 length + UTF-8 bytes. A 16-byte
 * payload is a marker without voters (single node, or written before voters
 * existed).
 */
const MAX_VOTER_BYTES = 255;

export type WalRecord =
  | { readonly type: 'entry'; readonly entry: LogEntry }
  | { readonly type: 'hardState'; readonly hardState: HardState }
  | { readonly type: 'snapshot'; readonly snapshot: SnapshotMeta }
  | { readonly type: 'metadata'; readonly data: Uint8Array };

export type DecodeResult =
  /** A complete, CRC-valid frame. */
  | { readonly kind: 'ok'; readonly record: WalRecord; readonly next: number }
  /** Not a complete valid frame: incomplete, CRC mismatch or dirty padding. May be a torn write. */
  | { readonly kind: 'bad'; readonly reason: string }
  /** CRC-valid but unreadable content: never a torn write (e.g. a record type this build does not know). */
  | { readonly kind: 'invalid'; readonly reason: string };

export function frameSize(payloadLength: number): number {
  const body = 1 + payloadLength;
  return FRAME_HEADER_BYTES + Math.ceil(body / ALIGN) * ALIGN;
}

/** Checks a record before it is encoded, so bad input fails the caller, not the writer. */
export function validateRecord(record: WalRecord): void {
  switch (record.type) {
    case 'entry':
      checkU53('entry index', record.entry.index);
      checkU53('entry term', record.entry.term);
      if (!(record.entry.data instanceof Uint8Array)) throw new StorageArgumentError('entry data must be a Uint8Array');
      break;
    case 'hardState':
      checkU53('hardState term', record.hardState.term);
      checkU53('hardState commit', record.hardState.commit);
      if (typeof record.hardState.vote !== 'string') throw new StorageArgumentError('hardState vote must be a string');
      break;
    case 'snapshot':
      checkU53('snapshot index', record.snapshot.index);
      checkU53('snapshot term', record.snapshot.term);
      for (const voter of record.snapshot.voters ?? []) {
        if (typeof voter !== 'string' || Buffer.byteLength(voter, 'utf8') > MAX_VOTER_BYTES) {
          throw new StorageArgumentError(`snapshot voter must be a string of at most ${MAX_VOTER_BYTES} bytes`);
        }
      }
      break;
    case 'metadata':
      if (!(record.data instanceof Uint8Array)) throw new StorageArgumentError('metadata must be a Uint8Array');
      break;
  }
}

function payloadLength(record: WalRecord): number {
  switch (record.type) {
    case 'entry':
      return 16 + record.entry.data.byteLength;
    case 'hardState':
      return 16 + Buffer.byteLength(record.hardState.vote, 'utf8');
    case 'snapshot':
      return 16 + votersLength(record.snapshot.voters);
    case 'metadata':
      return record.data.byteLength;
  }
}

function votersLength(voters: readonly string[] | undefined): number {
  if (voters === undefined) return 0;
  let n = 4;
  for (const v of voters) n += 1 + Buffer.byteLength(v, 'utf8');
  return n;
}

export function encodedSize(record: WalRecord): number {
  return frameSize(payloadLength(record));
}

/** Encodes `record` into `target` at `offset` (8-aligned); returns the offset after its padding. */
export function encodeRecordInto(record: WalRecord, target: Buffer, offset: number): number {
  const length = payloadLength(record);
  const end = offset + frameSize(length);
  const typeAt = offset + FRAME_HEADER_BYTES;
  const p = typeAt + 1;
  target.writeUInt32LE(length, offset);
  target[typeAt] = record.type === 'entry' && record.entry.kind === 'conf' ? RecordType.confEntry : RecordType[record.type];
  switch (record.type) {
    case 'entry':
      writeU53(target, p, record.entry.index);
      writeU53(target, p + 8, record.entry.term);
      target.set(record.entry.data, p + 16);
      break;
    case 'hardState':
      writeU53(target, p, record.hardState.term);
      writeU53(target, p + 8, record.hardState.commit);
      target.write(record.hardState.vote, p + 16, 'utf8');
      break;
    case 'snapshot': {
      writeU53(target, p, record.snapshot.index);
      writeU53(target, p + 8, record.snapshot.term);
      const voters = record.snapshot.voters;
      if (voters !== undefined) {
        let at = p + 16;
        target.writeUInt32LE(voters.length, at);
        at += 4;
        for (const v of voters) {
          const written = target.write(v, at + 1, 'utf8');
          target[at] = written;
          at += 1 + written;
        }
      }
      break;
    }
    case 'metadata':
      target.set(record.data, p);
      break;
  }
  target.fill(0, p + length, end);
  target.writeUInt32LE(crc32(target.subarray(typeAt, p + length)), offset + 4);
  return end;
}

/** One buffer holding all frames: one allocation per call, not per record. */
export function encodeRecords(records: readonly WalRecord[]): Buffer {
  let size = 0;
  for (const r of records) size += encodedSize(r);
  const buf = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const r of records) offset = encodeRecordInto(r, buf, offset);
  return buf;
}

/**
 * Decodes the frame at `offset`. Entry data and metadata are views into
 * `buf`, not copies: a segment is read once at start-up and its entries
 * handed on as they are.
 */
export function decodeFrame(buf: Buffer, offset: number): DecodeResult {
  if (offset + FRAME_HEADER_BYTES > buf.length) return { kind: 'bad', reason: 'incomplete frame header' };
  const length = buf.readUInt32LE(offset);
  const end = offset + frameSize(length);
  if (end > buf.length) return { kind: 'bad', reason: `frame of ${length} payload bytes runs past end of file` };
  const typeAt = offset + FRAME_HEADER_BYTES;
  const p = typeAt + 1;
  if (crc32(buf.subarray(typeAt, p + length)) !== buf.readUInt32LE(offset + 4)) {
    return { kind: 'bad', reason: 'crc mismatch' };
  }
  for (let i = p + length; i < end; i++) {
    if (buf[i] !== 0) return { kind: 'bad', reason: 'non-zero padding' };
  }
  const type = buf[typeAt];
  switch (type) {
    case RecordType.entry:
    case RecordType.confEntry: {
      if (length < 16) return { kind: 'invalid', reason: `entry payload of ${length} bytes` };
      const index = readU53(buf, p);
      const term = readU53(buf, p + 8);
      if (index < 0 || term < 0) return { kind: 'invalid', reason: 'entry number out of range' };
      const data = buf.subarray(p + 16, p + length);
      const entry = type === RecordType.confEntry ? { index, term, kind: 'conf' as const, data } : { index, term, data };
      return { kind: 'ok', record: { type: 'entry', entry }, next: end };
    }
    case RecordType.hardState: {
      if (length < 16) return { kind: 'invalid', reason: `hardState payload of ${length} bytes` };
      const term = readU53(buf, p);
      const commit = readU53(buf, p + 8);
      if (term < 0 || commit < 0) return { kind: 'invalid', reason: 'hardState number out of range' };
      const vote = buf.toString('utf8', p + 16, p + length);
      return { kind: 'ok', record: { type: 'hardState', hardState: { term, vote, commit } }, next: end };
    }
    case RecordType.snapshot: {
      if (length < 16) return { kind: 'invalid', reason: `snapshot marker payload of ${length} bytes` };
      const index = readU53(buf, p);
      const term = readU53(buf, p + 8);
      if (index < 0 || term < 0) return { kind: 'invalid', reason: 'snapshot marker number out of range' };
      if (length === 16) return { kind: 'ok', record: { type: 'snapshot', snapshot: { index, term } }, next: end };
      const voters = decodeVoters(buf, p + 16, p + length);
      if (voters === undefined) return { kind: 'invalid', reason: 'snapshot marker voters do not fit the payload' };
      return { kind: 'ok', record: { type: 'snapshot', snapshot: { index, term, voters } }, next: end };
    }
    case RecordType.metadata:
      return { kind: 'ok', record: { type: 'metadata', data: buf.subarray(p, p + length) }, next: end };
    default:
      return { kind: 'invalid', reason: `unknown record type ${String(type)}` };
  }
}

function decodeVoters(buf: Buffer, from: number, to: number): string[] | undefined {
  if (from + 4 > to) return undefined;
  const count = buf.readUInt32LE(from);
  const voters: string[] = [];
  let at = from + 4;
  for (let k = 0; k < count; k++) {
    if (at >= to) return undefined;
    const len = buf[at] as number;
    if (at + 1 + len > to) return undefined;
    voters.push(buf.toString('utf8', at + 1, at + 1 + len));
    at += 1 + len;
  }
  return at === to ? voters : undefined;
}

/**
 * True when some aligned offset at or after `from` holds a CRC-valid frame.
 * This is what separates a torn tail (garbage up to EOF) from damage in the
 * middle of the log, whatever the damaged frame's length field claims.
 */
export function hasValidFrameFrom(buf: Buffer, from: number): boolean {
  const known = new Set<number>(Object.values(RecordType));
  for (let off = Math.ceil(from / ALIGN) * ALIGN; off + FRAME_HEADER_BYTES < buf.length; off += ALIGN) {
    // Cheap rejections first: most of a torn tail is zeros or payload bytes.
    const type = buf[off + FRAME_HEADER_BYTES];
    if (type === undefined || !known.has(type)) continue;
    if (off + frameSize(buf.readUInt32LE(off)) > buf.length) continue;
    if (decodeFrame(buf, off).kind !== 'bad') return true;
  }
  return false;
}
