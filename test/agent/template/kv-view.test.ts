import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KvView } from '../../../src/agent/template/kv-view.js';
import { BadPatternError, compileGlob } from '../../../src/agent/template/path-match.js';
import { goBase, goClean, goDir } from '../../../src/agent/template/go-path.js';

const matches = (pattern: string, key: string) => compileGlob(pattern).regexp.test(key);

describe('glob patterns (Go path.Match syntax)', () => {
  test('* matches within one path segment only', () => {
    assert.ok(matches('/services/*', '/services/web'));
    assert.ok(!matches('/services/*', '/services/web/a'));
    assert.ok(matches('/services/*/a', '/services/web/a'));
    assert.ok(matches('/services/w*b', '/services/web'));
    assert.ok(!matches('/services/*', '/services'));
    assert.ok(matches('/services/*', '/services/'), 'an empty run is a run');
  });

  test('? is one character, never /', () => {
    assert.ok(matches('/a/?', '/a/b'));
    assert.ok(!matches('/a/?', '/a/bc'));
    assert.ok(!matches('/a?b', '/a/b'));
  });

  test('character classes, ranges, negation; none of them match /', () => {
    assert.ok(matches('/node[0-9]', '/node7'));
    assert.ok(!matches('/node[0-9]', '/nodex'));
    assert.ok(matches('/node[^0-9]', '/nodex'));
    assert.ok(!matches('/node[^0-9]', '/node/'));
    assert.ok(!matches('/a[/]b', '/a/b'));
    assert.ok(matches('/[ab-d]', '/c'));
  });

  test('regex metacharacters are literal and \\ escapes', () => {
    assert.ok(matches('/a.b+(c)', '/a.b+(c)'));
    assert.ok(!matches('/a.b', '/aXb'));
    assert.ok(matches('/star\\*', '/star*'));
    assert.ok(!matches('/star\\*', '/starry'));
  });

  test('malformed patterns are errors', () => {
    for (const bad of ['/a[', '/a[]', '/a[b', '/a\\', '/a[z-a]', '/a[-]']) {
      assert.throws(() => compileGlob(bad), BadPatternError, bad);
    }
  });

  test('the literal prefix stops at the first wildcard', () => {
    assert.equal(compileGlob('/services/web/*').literalPrefix, '/services/web/');
    assert.equal(compileGlob('/a?/b').literalPrefix, '/a');
  });
});

describe('KvView (memkv semantics)', () => {
  const view = new KvView([
    ['/services/web/a', '10.0.0.1:80'],
    ['/services/web/b', '10.0.0.2:80'],
    ['/services/db/primary/x', '10.0.0.5'],
    ['/services/version', '3'],
    ['/other', 'o'],
  ]);

  test('ls lists children (keys and directories), sorted and unique', () => {
    assert.deepEqual(view.list('/services'), ['db', 'version', 'web']);
    assert.deepEqual(view.list('/services/'), ['db', 'version', 'web']);
    assert.deepEqual(view.list('/'), ['other', 'services']);
    assert.deepEqual(view.list('/services/web'), ['a', 'b']);
    assert.deepEqual(view.list('/nope'), []);
    assert.deepEqual(view.list('/services/ver'), [], 'a prefix of a name is not a parent');
  });

  test('ls on a key that holds a value yields its own name, as memkv', () => {
    assert.deepEqual(view.list('/services/version'), ['version']);
  });

  test('lsdir lists only children that have keys below them', () => {
    assert.deepEqual(view.listDirs('/services'), ['db', 'web']);
    assert.deepEqual(view.listDirs('/services/web'), []);
    assert.deepEqual(view.listDirs('/'), ['services']);
  });

  test('glob returns pairs sorted by key and normalizes the pattern', () => {
    assert.deepEqual(view.glob('/services/*').map((p) => p.key), ['/services/version']);
    assert.deepEqual(view.glob('services//web/*').map((p) => [p.key, p.value]), [
      ['/services/web/a', '10.0.0.1:80'],
      ['/services/web/b', '10.0.0.2:80'],
    ]);
  });

  test('keys are normalized on the way in and on lookup', () => {
    const v = new KvView([['nginx//port/', '80']]);
    assert.equal(v.get('/nginx/port'), '80');
    assert.equal(v.get('nginx/port/'), '80');
    assert.ok(v.has('//nginx/port'));
  });

  test('fromBackend strips the prefix at segment boundaries only', () => {
    const v = KvView.fromBackend('/app', [
      ['/app/nginx/port', '80'],
      ['/application/x', 'not mine'],
      ['/other/y', 'not mine either'],
    ]);
    assert.equal(v.size, 1);
    assert.equal(v.get('/nginx/port'), '80');
    assert.equal(v.get('/lication/x'), undefined);
  });

  test('pairs expose key/value and confd-style Key/Value, only the former enumerable', () => {
    const pair = view.pair('/services/web/a');
    assert.ok(pair);
    assert.equal(pair.Key, '/services/web/a');
    assert.equal(pair.Value, '10.0.0.1:80');
    assert.deepEqual(Object.keys(pair), ['key', 'value']);
  });
});

describe('Go path functions', () => {
  test('Base', () => {
    assert.equal(goBase('/a/b'), 'b');
    assert.equal(goBase('/a/b/'), 'b');
    assert.equal(goBase('/'), '/');
    assert.equal(goBase(''), '.');
    assert.equal(goBase('a'), 'a');
  });

  test('Dir keeps Go semantics where node:path differs', () => {
    assert.equal(goDir('/a/b'), '/a');
    assert.equal(goDir('/a/b/'), '/a/b');
    assert.equal(goDir('/a'), '/');
    assert.equal(goDir('a'), '.');
    assert.equal(goDir(''), '.');
  });

  test('Clean', () => {
    assert.equal(goClean('/a//b/./c/..'), '/a/b');
    assert.equal(goClean('../a/..'), '..');
    assert.equal(goClean('/../a'), '/a');
  });
});
