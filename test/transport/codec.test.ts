import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message } from '../../src/raft/types.js';
import { decodeMessages, encodeMessages, PeerCodecError } from '../../src/transport/codec.js';

const A = '00000000000000a1';
const B = 'ffffffffffffffb2';
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const BIG = 2 ** 53 - 1;

const samples: Message[] = [
  { type: 'vote', from: A, to: B, term: 7, lastIndex: 42, lastTerm: 6, transfer: false },
  { type: 'preVote', from: A, to: B, term: BIG, lastIndex: BIG, lastTerm: 1, transfer: true },
  { type: 'voteResp', from: B, to: A, term: 7, reject: true },
  { type: 'preVoteResp', from: B, to: A, term: 8, reject: false },
  {
    type: 'append',
    from: A,
    to: B,
    term: 3,
    prevIndex: 10,
    prevTerm: 2,
    commit: 9,
    entries: [
      { term: 3, index: 11, kind: 'normal', data: bytes('{"r":"x","c":{"op":"expire","now":1}}') },
      { term: 3, index: 12, kind: 'conf', data: bytes(`add:${B}`) },
      { term: 3, index: 13, kind: 'normal', data: new Uint8Array(0) },
    ],
  },
  { type: 'append', from: A, to: B, term: 3, prevIndex: 10, prevTerm: 2, commit: 9, entries: [] },
  { type: 'appendResp', from: B, to: A, term: 3, index: 12, reject: true, hint: 8, hintTerm: 2 },
  { type: 'heartbeat', from: A, to: B, term: 3, commit: 12 },
  { type: 'heartbeat', from: A, to: B, term: 3, commit: 12, ctx: bytes('read-1') },
  { type: 'heartbeatResp', from: B, to: A, term: 3 },
  { type: 'heartbeatResp', from: B, to: A, term: 3, ctx: new Uint8Array(0) },
  { type: 'snapshot', from: A, to: B, term: 4, snapshot: { index: 100, term: 4, voters: [A, B], data: bytes('image ✓') } },
  { type: 'readIndex', from: B, to: A, term: 0, ctx: bytes('ctx') },
  { type: 'readIndexResp', from: A, to: B, term: 4, index: 99, ctx: bytes('ctx') },
  { type: 'timeoutNow', from: A, to: B, term: 4 },
  { type: 'propose', from: B, to: A, term: 0, entries: [{ term: 0, index: 0, kind: 'normal', data: bytes('p') }] },
  { type: 'transferLeader', from: B, to: A, term: 0, transferee: B },
];

/** Byte arrays compare by content; decoded ones are views into the batch. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: [...value] };
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

describe('peer message codec', () => {
  test('every message type survives a round trip, in order', () => {
    const decoded = decodeMessages(encodeMessages(samples));
    assert.deepEqual(plain(decoded), plain(samples));
  });

  test('an empty batch is valid', () => {
    assert.deepEqual(decodeMessages(encodeMessages([])), []);
  });

  test('truncated, trailing or foreign bytes are refused, never half-read', () => {
    const batch = encodeMessages(samples);
    for (const cut of [0, 1, 5, 20, batch.length - 1]) {
      assert.throws(() => decodeMessages(batch.subarray(0, cut)), PeerCodecError, `cut at ${cut}`);
    }
    assert.throws(() => decodeMessages(Buffer.concat([batch, Buffer.from([0])])), PeerCodecError);
    const wrongVersion = Buffer.from(batch);
    wrongVersion[0] = 99;
    assert.throws(() => decodeMessages(wrongVersion), /unknown batch version/);
    const wrongType = encodeMessages([samples[2] as Message]);
    wrongType[5] = 200;
    assert.throws(() => decodeMessages(wrongType), /unknown message type 200/);
  });
});
