import type { Entry, Message, MessageType, NodeId, RaftSnapshot } from '../raft/types.js';
import { CairnError } from '../util/errors.js';

/*
 * Compact binary encoding of Raft messages for the peer transport. A batch is
 *
 *   u8 version | u32 count | message*
 *
 * and a message is u8 type | id from | id to | u53 term | fields of its type,
 * where ids are u8 length + ASCII, u53 is a little-endian u64 below 2^53, and
 * byte strings are u32 length + bytes. Entry data is copied once into the
 * batch and handed to the receiver as views into the request body.
 */

const VERSION = 1;
const TWO_32 = 0x1_0000_0000;

const TYPE_CODES: Record<MessageType, number> = {
  vote: 1,
  preVote: 2,
  voteResp: 3,
  preVoteResp: 4,
  append: 5,
  appendResp: 6,
  heartbeat: 7,
  heartbeatResp: 8,
  snapshot: 9,
  readIndex: 10,
  readIndexResp: 11,
  timeoutNow: 12,
  propose: 13,
  transferLeader: 14,
};
const TYPES_BY_CODE = new Map<number, MessageType>(Object.entries(TYPE_CODES).map(([t, c]) => [c, t as MessageType]));

/** A peer sent bytes that are not a batch this build understands. */
export class PeerCodecError extends CairnError {
  constructor(message: string) {
    super('CAIRN_PEER_CODEC', `malformed peer message: ${message}`);
  }
}

class Writer {
  #buf: Buffer;
  #at = 0;

  constructor(size: number) {
    this.#buf = Buffer.allocUnsafe(size);
  }

  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#at + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#at);
    this.#buf = next;
  }

  u8(v: number): void {
    this.#room(1);
    this.#buf[this.#at++] = v;
  }

  u32(v: number): void {
    this.#room(4);
    this.#buf.writeUInt32LE(v, this.#at);
    this.#at += 4;
  }

  u53(v: number): void {
    this.#room(8);
    this.#buf.writeUInt32LE(v % TWO_32, this.#at);
    this.#buf.writeUInt32LE(Math.floor(v / TWO_32), this.#at + 4);
    this.#at += 8;
  }

  id(v: NodeId): void {
    const len = Buffer.byteLength(v, 'latin1');
    this.#room(1 + len);
    this.#buf[this.#at] = len;
    this.#buf.write(v, this.#at + 1, 'latin1');
    this.#at += 1 + len;
  }

  bytes(v: Uint8Array): void {
    this.u32(v.byteLength);
    this.#room(v.byteLength);
    this.#buf.set(v, this.#at);
    this.#at += v.byteLength;
  }

  done(): Buffer {
    return this.#buf.subarray(0, this.#at);
  }
}

class Reader {
  readonly #buf: Buffer;
  #at = 0;

  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  #need(n: number): void {
    if (this.#at + n > this.#buf.length) throw new PeerCodecError(`truncated at byte ${this.#at}`);
  }

  u8(): number {
    this.#need(1);
    return this.#buf[this.#at++] as number;
  }

  u32(): number {
    this.#need(4);
    const v = this.#buf.readUInt32LE(this.#at);
    this.#at += 4;
    return v;
  }

  u53(): number {
    this.#need(8);
    const lo = this.#buf.readUInt32LE(this.#at);
    const hi = this.#buf.readUInt32LE(this.#at + 4);
    this.#at += 8;
    const v = hi * TWO_32 + lo;
    if (!Number.isSafeInteger(v)) throw new PeerCodecError('number beyond 2^53');
    return v;
  }

  id(): NodeId {
    const len = this.u8();
    this.#need(len);
    const v = this.#buf.toString('latin1', this.#at, this.#at + len);
    this.#at += len;
    return v;
  }

  bytes(): Uint8Array {
    const len = this.u32();
    this.#need(len);
    const v = this.#buf.subarray(this.#at, this.#at + len);
    this.#at += len;
    return v;
  }

  get atEnd(): boolean {
    return this.#at === this.#buf.length;
  }
}

function writeEntries(w: Writer, entries: readonly Entry[]): void {
  w.u32(entries.length);
  for (const e of entries) {
    w.u53(e.index);
    w.u53(e.term);
    w.u8(e.kind === 'conf' ? 1 : 0);
    w.bytes(e.data);
  }
}

function readEntries(r: Reader): Entry[] {
  const n = r.u32();
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const index = r.u53();
    const term = r.u53();
    const kind = r.u8() === 1 ? 'conf' : 'normal';
    out.push({ index, term, kind, data: r.bytes() });
  }
  return out;
}

function writeOptionalCtx(w: Writer, ctx: Uint8Array | undefined): void {
  if (ctx === undefined) {
    w.u8(0);
  } else {
    w.u8(1);
    w.bytes(ctx);
  }
}

function writeSnapshot(w: Writer, s: RaftSnapshot): void {
  w.u53(s.index);
  w.u53(s.term);
  w.u32(s.voters.length);
  for (const v of s.voters) w.id(v);
  w.bytes(s.data);
}

function readSnapshot(r: Reader): RaftSnapshot {
  const index = r.u53();
  const term = r.u53();
  const n = r.u32();
  const voters: NodeId[] = [];
  for (let i = 0; i < n; i++) voters.push(r.id());
  return { index, term, voters, data: r.bytes() };
}

function writeMessage(w: Writer, m: Message): void {
  w.u8(TYPE_CODES[m.type]);
  w.id(m.from);
  w.id(m.to);
  w.u53(m.term);
  switch (m.type) {
    case 'vote':
    case 'preVote':
      w.u53(m.lastIndex);
      w.u53(m.lastTerm);
      w.u8(m.transfer ? 1 : 0);
      return;
    case 'voteResp':
    case 'preVoteResp':
      w.u8(m.reject ? 1 : 0);
      return;
    case 'append':
      w.u53(m.prevIndex);
      w.u53(m.prevTerm);
      w.u53(m.commit);
      writeEntries(w, m.entries);
      return;
    case 'appendResp':
      w.u53(m.index);
      w.u8(m.reject ? 1 : 0);
      w.u53(m.hint);
      w.u53(m.hintTerm);
      return;
    case 'heartbeat':
      w.u53(m.commit);
      writeOptionalCtx(w, m.ctx);
      return;
    case 'heartbeatResp':
      writeOptionalCtx(w, m.ctx);
      return;
    case 'snapshot':
      writeSnapshot(w, m.snapshot);
      return;
    case 'readIndex':
      w.bytes(m.ctx);
      return;
    case 'readIndexResp':
      w.u53(m.index);
      w.bytes(m.ctx);
      return;
    case 'timeoutNow':
      return;
    case 'propose':
      writeEntries(w, m.entries);
      return;
    case 'transferLeader':
      w.id(m.transferee);
      return;
  }
}

function readMessage(r: Reader): Message {
  const code = r.u8();
  const type = TYPES_BY_CODE.get(code);
  if (type === undefined) throw new PeerCodecError(`unknown message type ${code}`);
  const from = r.id();
  const to = r.id();
  const term = r.u53();
  const env = { from, to, term };
  switch (type) {
    case 'vote':
    case 'preVote':
      return { ...env, type, lastIndex: r.u53(), lastTerm: r.u53(), transfer: r.u8() === 1 };
    case 'voteResp':
    case 'preVoteResp':
      return { ...env, type, reject: r.u8() === 1 };
    case 'append':
      return { ...env, type, prevIndex: r.u53(), prevTerm: r.u53(), commit: r.u53(), entries: readEntries(r) };
    case 'appendResp':
      return { ...env, type, index: r.u53(), reject: r.u8() === 1, hint: r.u53(), hintTerm: r.u53() };
    case 'heartbeat': {
      const commit = r.u53();
      return r.u8() === 1 ? { ...env, type, commit, ctx: r.bytes() } : { ...env, type, commit };
    }
    case 'heartbeatResp':
      return r.u8() === 1 ? { ...env, type, ctx: r.bytes() } : { ...env, type };
    case 'snapshot':
      return { ...env, type, snapshot: readSnapshot(r) };
    case 'readIndex':
      return { ...env, type, ctx: r.bytes() };
    case 'readIndexResp':
      return { ...env, type, index: r.u53(), ctx: r.bytes() };
    case 'timeoutNow':
      return { ...env, type };
    case 'propose':
      return { ...env, type, entries: readEntries(r) };
    case 'transferLeader':
      return { ...env, type, transferee: r.id() };
  }
}

export function encodeMessages(messages: readonly Message[]): Buffer {
  let estimate = 64;
  for (const m of messages) {
    estimate += 64;
    if (m.type === 'append' || m.type === 'propose') for (const e of m.entries) estimate += 32 + e.data.byteLength;
    else if (m.type === 'snapshot') estimate += 64 + m.snapshot.data.byteLength;
  }
  const w = new Writer(estimate);
  w.u8(VERSION);
  w.u32(messages.length);
  for (const m of messages) writeMessage(w, m);
  return w.done();
}

export function decodeMessages(buf: Buffer): Message[] {
  const r = new Reader(buf);
  const version = r.u8();
  if (version !== VERSION) throw new PeerCodecError(`unknown batch version ${version}`);
  const n = r.u32();
  const out: Message[] = [];
  for (let i = 0; i < n; i++) out.push(readMessage(r));
  if (!r.atEnd) throw new PeerCodecError('trailing bytes after the last message');
  return out;
}
