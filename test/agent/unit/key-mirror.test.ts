import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Change } from '../../../src/agent/backend/backend.js';
import { KeyMirror } from '../../../src/agent/key-mirror.js';

const put = (index: number, key: string, value: string): Change => ({ index, key, value, dir: false, removed: false });
const del = (index: number, key: string): Change => ({ index, key, value: undefined, dir: false, removed: true });
const delDir = (index: number, key: string): Change => ({ index, key, value: undefined, dir: true, removed: true });
const dirMade = (index: number, key: string): Change => ({ index, key, value: undefined, dir: true, removed: false });

function mirrorOf(prefix: string, index: number, pairs: Record<string, string>): KeyMirror {
  const mirror = new KeyMirror(prefix);
  mirror.replace({ index, pairs: new Map(Object.entries(pairs)) });
  return mirror;
}

const contents = (mirror: KeyMirror): Record<string, string> => Object.fromEntries([...mirror.pairs].sort(([a], [b]) => (a < b ? -1 : 1)));

describe('KeyMirror.replace', () => {
  test('the first listing reports every key as changed and takes its index', () => {
    const mirror = new KeyMirror('/app');
    const changed = mirror.replace({ index: 7, pairs: new Map([['/app/a', '1'], ['/app/b', '2']]) });
    assert.deepEqual(changed.sort(), ['/app/a', '/app/b']);
    assert.equal(mirror.index, 7);
    assert.deepEqual(contents(mirror), { '/app/a': '1', '/app/b': '2' });
  });

  test('a later listing reports exactly the keys added, changed and gone', () => {
    const mirror = mirrorOf('/app', 7, { '/app/same': 's', '/app/changed': 'old', '/app/gone': 'g' });
    const changed = mirror.replace({ index: 12, pairs: new Map([['/app/same', 's'], ['/app/changed', 'new'], ['/app/added', 'a']]) });
    assert.deepEqual(changed.sort(), ['/app/added', '/app/changed', '/app/gone']);
    assert.deepEqual(contents(mirror), { '/app/added': 'a', '/app/changed': 'new', '/app/same': 's' });
    assert.equal(mirror.index, 12);
  });

  test('an identical listing changes nothing but still moves the index', () => {
    const mirror = mirrorOf('/app', 3, { '/app/a': '1' });
    assert.deepEqual(mirror.replace({ index: 9, pairs: new Map([['/app/a', '1']]) }), []);
    assert.equal(mirror.index, 9);
  });

  test('an empty listing (a prefix that does not exist yet) empties the mirror', () => {
    const mirror = mirrorOf('/app', 3, { '/app/a': '1' });
    assert.deepEqual(mirror.replace({ index: 4, pairs: new Map() }), ['/app/a']);
    assert.equal(mirror.pairs.size, 0);
  });
});

describe('KeyMirror.apply', () => {
  test('a put adds or changes a key; writing the same value again is no change', () => {
    const mirror = mirrorOf('/app', 1, { '/app/a': '1' });
    assert.deepEqual(mirror.apply(put(2, '/app/b', '2')), ['/app/b']);
    assert.deepEqual(mirror.apply(put(3, '/app/a', 'one')), ['/app/a']);
    assert.deepEqual(mirror.apply(put(4, '/app/a', 'one')), []);
    assert.deepEqual(contents(mirror), { '/app/a': 'one', '/app/b': '2' });
    assert.equal(mirror.index, 4, 'the index follows every change, even one that changes nothing');
  });

  test('an empty value is a value, not a delete', () => {
    const mirror = mirrorOf('/app', 1, { '/app/a': '1' });
    assert.deepEqual(mirror.apply(put(2, '/app/a', '')), ['/app/a']);
    assert.equal(mirror.pairs.get('/app/a'), '');
  });

  test('deleting a key removes only that key', () => {
    const mirror = mirrorOf('/app', 1, { '/app/a': '1', '/app/ab': '2', '/app/a2/x': '3' });
    assert.deepEqual(mirror.apply(del(2, '/app/a')), ['/app/a']);
    assert.deepEqual(contents(mirror), { '/app/a2/x': '3', '/app/ab': '2' });
  });

  test('deleting a key the mirror does not have changes nothing', () => {
    const mirror = mirrorOf('/app', 1, { '/app/a': '1' });
    assert.deepEqual(mirror.apply(del(2, '/app/nope')), []);
    assert.deepEqual(contents(mirror), { '/app/a': '1' });
  });

  test('deleting (or expiring) a directory removes its whole subtree and nothing beside it', () => {
    const mirror = mirrorOf('/services', 1, {
      '/services/web/1': 'a',
      '/services/web/2': 'b',
      '/services/web/deep/x': 'c',
      '/services/webby/1': 'not below /services/web',
      '/services/db/1': 'd',
    });
    assert.deepEqual(mirror.apply(delDir(5, '/services/web')).sort(), ['/services/web/1', '/services/web/2', '/services/web/deep/x']);
    assert.deepEqual(contents(mirror), { '/services/db/1': 'd', '/services/webby/1': 'not below /services/web' });
    assert.equal(mirror.index, 5);
  });

  test('deleting a directory above the prefix empties the mirror', () => {
    const mirror = mirrorOf('/services/web', 1, { '/services/web/1': 'a', '/services/web/2': 'b' });
    assert.deepEqual(mirror.apply(delDir(3, '/services')).sort(), ['/services/web/1', '/services/web/2']);
    assert.equal(mirror.pairs.size, 0);
  });

  test('deleting the root directory of a "/" mirror empties it', () => {
    const mirror = mirrorOf('/', 1, { '/a': '1', '/b/c': '2' });
    assert.deepEqual(mirror.apply(delDir(2, '/')).sort(), ['/a', '/b/c']);
  });

  test('a directory created or given a new TTL (etcdctl updatedir) keeps the keys below it', () => {
    const mirror = mirrorOf('/services', 1, { '/services/web/1': 'a', '/services/web/2': 'b' });
    assert.deepEqual(mirror.apply(dirMade(2, '/services/web')), []);
    assert.deepEqual(mirror.apply(dirMade(3, '/services/new')), []);
    assert.deepEqual(contents(mirror), { '/services/web/1': 'a', '/services/web/2': 'b' });
    assert.equal(mirror.index, 3);
  });

  test('a directory set over a key replaces that key', () => {
    const mirror = mirrorOf('/app', 1, { '/app/a': '1', '/app/b': '2' });
    assert.deepEqual(mirror.apply(dirMade(2, '/app/a')), ['/app/a']);
    assert.deepEqual(contents(mirror), { '/app/b': '2' });
  });

  test('hidden keys below the prefix are ignored, as v2 listings leave them out', () => {
    const mirror = mirrorOf('/app', 1, { '/app/a': '1' });
    assert.deepEqual(mirror.apply(put(2, '/app/_lock', 'x')), []);
    assert.deepEqual(mirror.apply(put(3, '/app/_private/deep', 'x')), []);
    assert.deepEqual(mirror.apply(delDir(4, '/app/_private')), []);
    assert.deepEqual(contents(mirror), { '/app/a': '1' });
    assert.equal(mirror.index, 4);
  });

  test('a hidden prefix itself is watched normally: only segments below it count', () => {
    const mirror = mirrorOf('/_cairn', 1, {});
    assert.deepEqual(mirror.apply(put(2, '/_cairn/members/1', 'x')), ['/_cairn/members/1']);
    assert.deepEqual(mirror.apply(put(3, '/_cairn/_inner', 'x')), []);
  });

  test('the index never goes backwards', () => {
    const mirror = mirrorOf('/app', 10, {});
    mirror.apply(put(4, '/app/a', '1'));
    assert.equal(mirror.index, 10);
  });

  test('replaying a listing then the watch from index + 1 gives the same keys as a fresh listing', () => {
    const live = new KeyMirror('/s');
    live.replace({ index: 1, pairs: new Map([['/s/a', '1']]) });
    const changes = [put(2, '/s/b', '2'), put(3, '/s/c/d', '3'), del(4, '/s/a'), delDir(5, '/s/c'), dirMade(6, '/s/e'), put(7, '/s/e/f', '4')];
    for (const change of changes) live.apply(change);
    assert.deepEqual(contents(live), { '/s/b': '2', '/s/e/f': '4' });
    assert.equal(live.index, 7);
  });
});
