import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareNormalized } from '../support/http-diff.js';
import type { RawResponse } from '../support/raw-http.js';
import { normalizeResponse, parseParams } from '../support/v2-normalize.js';

/*
 * The differential harness is only as good as its normalization: these
 * tests pin down that it hides what legitimately differs between two
 * servers (index origin, clock, Go map order) and nothing else.
 */
function res(status: number, body: unknown, headers: Record<string, string> = {}): RawResponse {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: Buffer.from(text),
    text,
    sentAt: 0,
    receivedAt: 0,
  };
}

function diff(path: string, a: RawResponse, baseA: number, b: RawResponse, baseB: number, method = 'GET'): string[] {
  const facts = { method, path, params: parseParams(path) };
  return compareNormalized(normalizeResponse(a, facts, baseA), normalizeResponse(b, facts, baseB));
}

const node = (key: string, idx: number, extra: Record<string, unknown> = {}) => ({ key, ...extra, modifiedIndex: idx, createdIndex: idx });

describe('v2 response normalization', () => {
  test('indexes compare as deltas from each server\'s start index', () => {
    const a = res(201, { action: 'set', node: node('/k', 5) }, { 'x-etcd-index': '5' });
    const b = res(201, { action: 'set', node: node('/k', 12) }, { 'x-etcd-index': '12' });
    assert.deepEqual(diff('/v2/keys/k', a, 4, b, 11), []);
    const off = res(201, { action: 'set', node: node('/k', 13) }, { 'x-etcd-index': '13' });
    const d = diff('/v2/keys/k', a, 4, off, 11);
    assert.ok(d.some((x) => x.startsWith('header x-etcd-index')), d.join('\n'));
    assert.ok(d.some((x) => x.startsWith('normalized body')), d.join('\n'));
  });

  test('index 0 of a form error stays 0, but a store error must carry the current index', () => {
    const form = { errorCode: 202, message: 'The given TTL in POST form is not a number', cause: 'invalid value for "ttl"', index: 0 };
    assert.deepEqual(diff('/v2/keys/k?ttl=x', res(400, form, { 'x-etcd-index': '0' }), 4, res(400, form, { 'x-etcd-index': '0' }), 0), []);
    const wrong = { ...form, index: 9 };
    assert.notDeepEqual(diff('/v2/keys/k?ttl=x', res(400, form, { 'x-etcd-index': '0' }), 4, res(400, wrong, { 'x-etcd-index': '9' }), 9), []);
    const notFound = (i: number) => res(404, { errorCode: 100, message: 'Key not found', cause: '/k', index: i }, { 'x-etcd-index': String(i) });
    assert.deepEqual(diff('/v2/keys/k', notFound(4), 4, notFound(0), 0), []);
  });

  test('compare-failed causes: only the prevIndex bracket holds indexes', () => {
    const cause = (c: string, i: number) => res(412, { errorCode: 101, message: 'Compare failed', cause: c, index: i });
    assert.deepEqual(diff('/v2/keys/k?prevIndex=9&prevValue=a', cause('[a != b] [9 != 10]', 10), 4, cause('[a != b] [20 != 21]', 21), 15), []);
    assert.notDeepEqual(diff('/v2/keys/k?prevIndex=9', cause('[9 != 10]', 10), 4, cause('[20 != 22]', 21), 15), []);
    // A numeric prevValue is a value: the same text must come back from both.
    assert.deepEqual(diff('/v2/keys/k?prevValue=12', cause('[12 != 13]', 10), 4, cause('[12 != 13]', 21), 15), []);
    assert.notDeepEqual(diff('/v2/keys/k?prevValue=12', cause('[12 != 13]', 10), 4, cause('[23 != 24]', 21), 15), []);
  });

  test('in-order key names are compared as index deltas', () => {
    const a = res(201, { action: 'create', node: node('/q/00000000000000000007', 7) });
    const b = res(201, { action: 'create', node: node('/q/00000000000000000102', 102) });
    assert.deepEqual(diff('/v2/keys/q', a, 5, b, 100, 'POST'), []);
    const c = res(201, { action: 'create', node: node('/q/00000000000000000101', 102) });
    assert.notDeepEqual(diff('/v2/keys/q', a, 5, c, 100, 'POST'), []);
  });

  test('ttl within 1 and expiration within a few seconds match; RFC 3339 is required', () => {
    const withTtl = (ttl: number, expiration: string) => res(200, { action: 'get', node: node('/k', 5, { value: 'v', expiration, ttl }) });
    const at = '2030-01-01T00:00:10.123456789Z';
    assert.deepEqual(diff('/v2/keys/k', withTtl(10, at), 4, withTtl(11, '2030-01-01T00:00:11.2Z'), 4), []);
    assert.ok(diff('/v2/keys/k', withTtl(10, at), 4, withTtl(12, at), 4).some((x) => x.startsWith('ttl')));
    assert.ok(diff('/v2/keys/k', withTtl(10, at), 4, withTtl(10, '2030-01-01T00:00:20Z'), 4).some((x) => x.startsWith('expiration')));
    assert.ok(diff('/v2/keys/k', withTtl(10, at), 4, withTtl(10, 'Tue, 01 Jan 2030 00:00:10 GMT'), 4).some((x) => x.includes('RFC 3339')));
  });

  test('unsorted listings compare as sets, sorted ones in order', () => {
    const listing = (keys: string[]) =>
      res(200, { action: 'get', node: { key: '/d', dir: true, nodes: keys.map((k, i) => node(`/d/${k}`, 5 + i, { value: k })), modifiedIndex: 5, createdIndex: 5 } });
    // same nodes (with the same indexes) in another order
    const a = res(200, { action: 'get', node: { key: '/d', dir: true, nodes: [node('/d/a', 5, { value: 'a' }), node('/d/b', 6, { value: 'b' })], modifiedIndex: 5, createdIndex: 5 } });
    const b = res(200, { action: 'get', node: { key: '/d', dir: true, nodes: [node('/d/b', 6, { value: 'b' }), node('/d/a', 5, { value: 'a' })], modifiedIndex: 5, createdIndex: 5 } });
    assert.deepEqual(diff('/v2/keys/d', a, 4, b, 4), []);
    assert.notDeepEqual(diff('/v2/keys/d?sorted=true', a, 4, b, 4), []);
    assert.notDeepEqual(diff('/v2/keys/d', listing(['a', 'b']), 4, listing(['a', 'c']), 4), []);
  });

  test('headers: exact ones compared, cluster and raft headers by presence, field order and trailing newline noticed', () => {
    const a = res(200, { action: 'get', node: node('/k', 5, { value: 'v' }) }, { 'x-raft-index': '10', 'x-raft-term': '2' });
    const b = res(200, { action: 'get', node: node('/k', 5, { value: 'v' }) }, { 'x-raft-index': '99', 'x-raft-term': '1' });
    assert.deepEqual(diff('/v2/keys/k', a, 4, b, 4), []);
    const noRaft = res(200, { action: 'get', node: node('/k', 5, { value: 'v' }) });
    assert.ok(diff('/v2/keys/k', a, 4, noRaft, 4).some((x) => x.startsWith('header x-raft-index')));
    const reordered = res(200, { node: node('/k', 5, { value: 'v' }), action: 'get' }, { 'x-raft-index': '10', 'x-raft-term': '2' });
    assert.ok(diff('/v2/keys/k', a, 4, reordered, 4).some((x) => x.startsWith('JSON field order')));
    const noNewline = res(200, JSON.stringify({ action: 'get', node: node('/k', 5, { value: 'v' }) }), { 'x-raft-index': '10', 'x-raft-term': '2' });
    assert.ok(diff('/v2/keys/k', a, 4, noNewline, 4).some((x) => x.startsWith('trailing newline')));
    const text = res(405, 'Method Not Allowed\n', { 'content-type': 'text/plain; charset=utf-8', allow: 'HEAD,GET,PUT,POST,DELETE' });
    const text2 = res(405, 'Method Not Allowed\n', { 'content-type': 'text/plain; charset=utf-8', allow: 'GET,PUT' });
    assert.ok(diff('/v2/keys/k', text, 4, text2, 4).some((x) => x.startsWith('header allow')));
  });

  test('index parameters echoed in a redirect are deltas, literal ones stay', () => {
    const redirect = (loc: string) => res(301, '', { location: loc, 'content-type': 'text/html; charset=utf-8' });
    assert.deepEqual(diff('/x', redirect('/v2/keys/a?waitIndex=9&prevIndex=0'), 4, redirect('/v2/keys/a?waitIndex=20&prevIndex=0'), 15), []);
    assert.notDeepEqual(diff('/x', redirect('/v2/keys/a?waitIndex=9'), 4, redirect('/v2/keys/a?waitIndex=9'), 15), []);
  });
});
