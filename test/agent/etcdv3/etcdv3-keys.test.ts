import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { keySpan } from '../../../src/agent/backend/etcd-v3-keys.js';
import { decodeBytes, int64, int64Text, parseWatchMessage } from '../../../src/client/etcd-v3-codec.js';

describe('keySpan: v3 keys read as v2 paths', () => {
  test('a prefix spans the key itself and everything below it, not its siblings', () => {
    const span = keySpan('/svc/web');
    assert.deepEqual([span.key, span.rangeEnd], ['/svc/web', '/svc/web0']);
    for (const key of ['/svc/web', '/svc/web/a', '/svc/web/a/b', '/svc/web/']) assert.equal(span.holds(key), true, key);
    for (const key of ['/svc/web-old', '/svc/web.bak', '/svc/web!', '/svc/web/_hidden', '/svc/web/a/_b/c']) assert.equal(span.holds(key), false, key);
  });

  test('prefixes are normalized like every other key path', () => {
    assert.equal(keySpan('svc/web/').key, '/svc/web');
    assert.equal(keySpan('//svc//web').rangeEnd, '/svc/web0');
  });

  test('the root spans every key with a leading slash, and only those', () => {
    const span = keySpan('/');
    assert.deepEqual([span.key, span.rangeEnd], ['/', '0']);
    assert.equal(span.holds('/a'), true);
    assert.equal(span.holds('a/b'), false);
    assert.equal(span.holds('/_hidden/x'), false);
  });
});

describe('the gateway codec', () => {
  test('reads etcd\'s JSON: base64 bytes, int64 strings, defaults left out', () => {
    const message = parseWatchMessage({
      header: { cluster_id: '1', member_id: '13668033151171901709', revision: '6', raft_term: '2' },
      events: [
        { kv: { key: Buffer.from('/a').toString('base64'), create_revision: '2', mod_revision: '5', version: '2', value: Buffer.from('é').toString('base64'), lease: '7587870394183430151' } },
        { type: 'DELETE', kv: { key: Buffer.from('/b').toString('base64'), mod_revision: '6' } },
      ],
    });
    assert.equal(message.header.revision, 6);
    assert.equal(message.header.memberId, '13668033151171901709');
    assert.equal(message.created, false);
    assert.deepEqual(message.events, [
      { type: 'put', kv: { key: '/a', value: 'é', createRevision: 2, modRevision: 5, version: 2, lease: '7587870394183430151' } },
      { type: 'delete', kv: { key: '/b', value: '', createRevision: 0, modRevision: 6, version: 0, lease: '0' } },
    ]);
    assert.equal(parseWatchMessage({ canceled: true, compact_revision: '4' }).compactRevision, 4);
  });

  test('refuses what etcd would not send rather than rounding it', () => {
    assert.throws(() => int64('9223372036854775807', 'revision'), /not an integer etcd would send/);
    assert.equal(int64Text('9223372036854775807'), '9223372036854775807');
    assert.throws(() => parseWatchMessage({ events: [{ type: 'PATCH', kv: {} }] }), /unknown event type/);
    assert.equal(decodeBytes(undefined), '');
  });
});
