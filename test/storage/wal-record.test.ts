import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeFrame, encodeRecords, hasValidFrameFrom, validateRecord, type WalRecord } from '../../src/storage/wal-record.js';

const u53 = fc.maxSafeNat();
const record: fc.Arbitrary<WalRecord> = fc.oneof(
  fc.record({ index: u53, term: u53, data: fc.uint8Array({ maxLength: 300 }) }).map((entry) => ({ type: 'entry' as const, entry })),
  fc.record({ term: u53, vote: fc.string({ unit: 'binary', maxLength: 40 }), commit: u53 }).map((hardState) => ({ type: 'hardState' as const, hardState })),
  fc.record({ index: u53, term: u53 }).map((snapshot) => ({ type: 'snapshot' as const, snapshot })),
  fc.uint8Array({ maxLength: 100 }).map((data) => ({ type: 'metadata' as const, data })),
);

/** Comparable form: plain objects (fast-check builds null-prototype ones), bytes as number arrays. */
function plain(r: WalRecord): unknown {
  switch (r.type) {
    case 'entry':
      return { type: r.type, index: r.entry.index, term: r.entry.term, data: Array.from(r.entry.data) };
    case 'hardState':
      return { type: r.type, term: r.hardState.term, vote: r.hardState.vote, commit: r.hardState.commit };
    case 'snapshot':
      return { type: r.type, index: r.snapshot.index, term: r.snapshot.term };
    case 'metadata':
      return { type: r.type, data: Array.from(r.data) };
  }
}

describe('WAL record framing', () => {
  test('every record type decodes to what was encoded, in an 8-byte aligned frame', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 5 }), (records) => {
        const buf = encodeRecords(records);
        assert.equal(buf.length % 8, 0);
        let off = 0;
        for (const expected of records) {
          assert.equal(off % 8, 0);
          const r = decodeFrame(buf, off);
          assert.equal(r.kind, 'ok');
          if (r.kind !== 'ok') return;
          assert.deepEqual(plain(r.record), plain(expected));
          off = r.next;
        }
        assert.equal(off, buf.length);
      }),
    );
  });

  test('a single changed byte anywhere in a frame is never decoded as valid', () => {
    fc.assert(
      fc.property(record, fc.nat(), fc.integer({ min: 1, max: 255 }), (r, at, xor) => {
        const buf = encodeRecords([r]);
        const pos = at % buf.length;
        buf[pos] = (buf[pos] as number) ^ xor;
        assert.notEqual(decodeFrame(buf, 0).kind, 'ok', `byte ${pos} of ${buf.length}`);
      }),
    );
  });

  test('a frame cut short at any length is incomplete, not valid', () => {
    const buf = encodeRecords([{ type: 'entry', entry: { index: 7, term: 2, data: new Uint8Array(50).fill(9) } }]);
    for (let len = 0; len < buf.length; len++) {
      assert.equal(decodeFrame(buf.subarray(0, len), 0).kind, 'bad', `cut at ${len}`);
    }
  });

  test('numbers outside 0..2^53-1 are refused before anything is written', () => {
    for (const index of [-1, 1.5, 2 ** 53, Number.NaN]) {
      assert.throws(
        () => encodeRecordsChecked({ type: 'entry', entry: { index, term: 1, data: new Uint8Array() } }),
        { code: 'CAIRN_STORAGE_INVALID_ARGUMENT' },
      );
    }
  });

  test('a valid frame after garbage is found, zeros or garbage alone are not', () => {
    const frame = encodeRecords([{ type: 'snapshot', snapshot: { index: 3, term: 1 } }]);
    const garbage = Buffer.alloc(64, 0xab);
    assert.equal(hasValidFrameFrom(Buffer.concat([garbage, frame]), 8), true);
    assert.equal(hasValidFrameFrom(garbage, 0), false);
    assert.equal(hasValidFrameFrom(Buffer.alloc(4096), 0), false);
  });
});

// validateRecord is what the WAL's public methods run before encoding.
function encodeRecordsChecked(r: WalRecord): Buffer {
  validateRecord(r);
  return encodeRecords([r]);
}
