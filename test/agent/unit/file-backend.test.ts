import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryLostError, type Change } from '../../../src/agent/backend/backend.js';
import { DataFileError, flattenDocument, readDataFiles, underPrefix } from '../../../src/agent/backend/file-data.js';
import { FileBackend } from '../../../src/agent/backend/file.js';
import { silentLogger } from '../../../src/log/logger.js';
import { waitFor } from '../../support/wait.js';
import { captureLogger, LEVEL } from './log-capture.js';

const root = mkdtempSync(join(tmpdir(), 'cairn-file-backend-'));
after(() => rmSync(root, { recursive: true, force: true }));
const freshDir = (): string => mkdtempSync(join(root, 'case-'));

const flat = (doc: unknown): Record<string, string> => {
  const into = new Map<string, string>();
  flattenDocument(doc, '/', into);
  return Object.fromEntries(into);
};

describe('flattenDocument: confd file backend layout', () => {
  test('nested maps become paths', () => {
    assert.deepEqual(flat({ database: { host: 'db', port: 5432, options: { ssl: true } } }), {
      '/database/host': 'db',
      '/database/port': '5432',
      '/database/options/ssl': 'true',
    });
  });

  test('list items are numbered from 0; maps inside lists nest below their number', () => {
    assert.deepEqual(flat({ upstream: ['10.0.0.1:80', '10.0.0.2:80'], servers: [{ name: 'a', port: 1 }, { name: 'b' }] }), {
      '/upstream/0': '10.0.0.1:80',
      '/upstream/1': '10.0.0.2:80',
      '/servers/0/name': 'a',
      '/servers/0/port': '1',
      '/servers/1/name': 'b',
    });
  });

  test('scalars print as text; a null is no key (as in confd)', () => {
    assert.deepEqual(flat({ s: 'x', i: 42, f: 1.5, t: true, f2: false, empty: '', nothing: null }), {
      '/s': 'x',
      '/i': '42',
      '/f': '1.5',
      '/t': 'true',
      '/f2': 'false',
      '/empty': '',
    });
  });
});

describe('readDataFiles', () => {
  test('YAML and JSON files; a later file overrides an earlier one key by key', async () => {
    const dir = freshDir();
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.json');
    writeFileSync(a, 'app:\n  name: one\n  port: 80\nonly_a: yes-a\n');
    writeFileSync(b, JSON.stringify({ app: { port: 8080, extra: 'b' } }));
    const pairs = await readDataFiles([a, b]);
    assert.deepEqual(Object.fromEntries(pairs), { '/app/name': 'one', '/app/port': '8080', '/only_a': 'yes-a', '/app/extra': 'b' });
  });

  test('an empty file holds no keys', async () => {
    const dir = freshDir();
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, '');
    assert.equal((await readDataFiles([empty])).size, 0);
  });

  test('a missing, malformed or non-mapping file is a DataFileError naming it', async () => {
    const dir = freshDir();
    const broken = join(dir, 'broken.yaml');
    const list = join(dir, 'list.yaml');
    const badJson = join(dir, 'bad.json');
    writeFileSync(broken, 'a: [1, 2\n');
    writeFileSync(list, '- a\n- b\n');
    writeFileSync(badJson, '{"a": 1,}');
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.yaml'), /cannot read .*missing\.yaml/],
      [badJson, /bad\.json is not valid JSON: /],
      [broken, /broken\.yaml is not valid YAML: /],
      [list, /list\.yaml must hold a mapping at the top level/],
    ];
    for (const [path, message] of cases) {
      await assert.rejects(readDataFiles([path]), (err: unknown) => {
        assert.ok(err instanceof DataFileError);
        assert.equal(err.code, 'CAIRN_DATA_FILE');
        assert.match(err.message, message);
        return true;
      });
    }
  });

  test('underPrefix matches at / boundaries only', () => {
    assert.equal(underPrefix('/', '/anything'), true);
    assert.equal(underPrefix('/app', '/app'), true);
    assert.equal(underPrefix('/app', '/app/x'), true);
    assert.equal(underPrefix('/app', '/application'), false);
  });
});

/** Iterates a watch in the background, collecting its changes until it ends. */
function collect(iterable: AsyncIterable<Change>): { changes: Change[]; done: Promise<unknown> } {
  const changes: Change[] = [];
  const done = (async () => {
    for await (const change of iterable) changes.push(change);
  })().then(
    () => 'ended',
    (err: unknown) => err,
  );
  return { changes, done };
}

const byKey = (changes: readonly Change[]): Change[] => [...changes].sort((a, b) => (a.key < b.key ? -1 : 1));

describe('FileBackend', () => {
  test('list returns the keys under a prefix at generation 1', async (t) => {
    const dir = freshDir();
    const file = join(dir, 'data.yaml');
    writeFileSync(file, 'database:\n  host: db\n  port: 5432\ndatabases: [x]\napp: {name: a}\n');
    const backend = new FileBackend([file], silentLogger());
    t.after(() => backend.close());
    const all = await backend.list('/');
    assert.equal(all.index, 1);
    assert.equal(all.pairs.size, 4);
    const db = await backend.list('/database');
    assert.deepEqual(Object.fromEntries(db.pairs), { '/database/host': 'db', '/database/port': '5432' });
    assert.deepEqual(Object.fromEntries((await backend.list('/database/host')).pairs), { '/database/host': 'db' });
    assert.equal((await backend.list('/missing')).pairs.size, 0);
    assert.equal(backend.watchable, true);
  });

  test('list of a broken file fails with a DataFileError', async (t) => {
    const dir = freshDir();
    const file = join(dir, 'data.yaml');
    writeFileSync(file, 'a: [\n');
    const backend = new FileBackend([file], silentLogger());
    t.after(() => backend.close());
    await assert.rejects(backend.list('/'), DataFileError);
  });

  test('watch yields each changed, added and removed key after an in-place edit', async (t) => {
    const dir = freshDir();
    const file = join(dir, 'data.yaml');
    writeFileSync(file, 'app:\n  a: "1"\n  b: "2"\n  gone: x\nother: o\n');
    const backend = new FileBackend([file], silentLogger());
    const stop = new AbortController();
    t.after(async () => {
      stop.abort();
      await backend.close();
    });
    const listing = await backend.list('/app');
    const watch = collect(backend.watch('/app', listing.index + 1, stop.signal));
    writeFileSync(file, 'app:\n  a: "1"\n  b: "two"\n  c: "3"\nother: o\n');
    await waitFor(() => watch.changes.length >= 3, { what: 'three changes' });
    assert.deepEqual(byKey(watch.changes), [
      { index: 2, key: '/app/b', value: 'two', dir: false, removed: false },
      { index: 2, key: '/app/c', value: '3', dir: false, removed: false },
      { index: 2, key: '/app/gone', value: undefined, dir: false, removed: true },
    ]);
    assert.equal((await backend.list('/app')).index, 2);

    // A second edit arrives on the same watch with the next index.
    writeFileSync(file, 'app:\n  a: "one"\n  b: "two"\n  c: "3"\nother: o\n');
    await waitFor(() => watch.changes.length >= 4, { what: 'the fourth change' });
    assert.deepEqual(watch.changes[3], { index: 3, key: '/app/a', value: 'one', dir: false, removed: false });

    stop.abort();
    assert.equal(await watch.done, 'ended', 'abort ends the iteration');
  });

  test('an editor-style save (write a temp file, rename it over) is seen', async (t) => {
    const dir = freshDir();
    const file = join(dir, 'data.yaml');
    writeFileSync(file, 'k: before\n');
    const backend = new FileBackend([file], silentLogger());
    const stop = new AbortController();
    t.after(async () => {
      stop.abort();
      await backend.close();
    });
    const listing = await backend.list('/');
    const watch = collect(backend.watch('/', listing.index + 1, stop.signal));
    // Once an in-place edit has come through, the watcher is certainly live on the original inode.
    writeFileSync(file, 'k: mid\n');
    await waitFor(() => watch.changes.some((c) => c.value === 'mid'), { what: 'the in-place edit' });
    const temp = join(dir, '.data.yaml.swp');
    writeFileSync(temp, 'k: after\n');
    renameSync(temp, file);
    await waitFor(() => watch.changes.some((c) => c.value === 'after'), { what: 'the renamed-over file' });
    // And the watch follows the new inode.
    writeFileSync(file, 'k: again\n');
    await waitFor(() => watch.changes.some((c) => c.value === 'again'), { what: 'an edit of the new inode' });
    assert.equal((await backend.list('/')).pairs.get('/k'), 'again');
  });

  test('an edit made before the watcher is ready is not lost', async (t) => {
    const dir = freshDir();
    const file = join(dir, 'data.yaml');
    writeFileSync(file, 'k: v1\n');
    const backend = new FileBackend([file], silentLogger());
    const stop = new AbortController();
    t.after(async () => {
      stop.abort();
      await backend.close();
    });
    const listing = await backend.list('/');
    writeFileSync(file, 'k: v2\n'); // before watch() has even started chokidar
    const watch = collect(backend.watch('/', listing.index + 1, stop.signal));
    await waitFor(() => watch.changes.length >= 1, { what: 'the early edit' });
    assert.deepEqual(watch.changes[0], { index: 2, key: '/k', value: 'v2', dir: false, removed: false });
  });

  test('a broken edit keeps the previous data, is logged once, and the fix is diffed against the last good data', async (t) => {
    const dir = freshDir();
    const file = join(dir, 'data.yaml');
    writeFileSync(file, 'k: good\nn: "1"\n');
    const { logger, lines } = captureLogger();
    const backend = new FileBackend([file], logger);
    const stop = new AbortController();
    t.after(async () => {
      stop.abort();
      await backend.close();
    });
    const listing = await backend.list('/');
    const watch = collect(backend.watch('/', listing.index + 1, stop.signal));
    writeFileSync(file, 'k: [broken\n');
    await waitFor(() => lines.some((l) => l.level === LEVEL.error), { what: 'the rejected edit to be logged' });
    const rejected = lines.filter((l) => l.level === LEVEL.error);
    assert.match(String(rejected[0]?.['err']), /data\.yaml is not valid YAML: /);
    assert.match(rejected[0]?.msg ?? '', /keeping the previous data/);
    const during = await backend.list('/');
    assert.equal(during.index, 1);
    assert.deepEqual(Object.fromEntries(during.pairs), { '/k': 'good', '/n': '1' });
    assert.deepEqual(watch.changes, []);

    writeFileSync(file, 'k: fixed\nn: "1"\n');
    await waitFor(() => watch.changes.length >= 1, { what: 'the fixed edit' });
    assert.deepEqual(watch.changes, [{ index: 2, key: '/k', value: 'fixed', dir: false, removed: false }]);
    assert.ok(lines.some((l) => l.level === LEVEL.info && /readable again/.test(l.msg)), 'the recovery is logged');
  });

  test('a deleted data file keeps the last data until it is back', async (t) => {
    const dir = freshDir();
    const file = join(dir, 'data.yaml');
    writeFileSync(file, 'k: v\n');
    const { logger, lines } = captureLogger();
    const backend = new FileBackend([file], logger);
    const stop = new AbortController();
    t.after(async () => {
      stop.abort();
      await backend.close();
    });
    const listing = await backend.list('/');
    const watch = collect(backend.watch('/', listing.index + 1, stop.signal));
    writeFileSync(file, 'k: v2\n');
    await waitFor(() => watch.changes.some((c) => c.value === 'v2'), { what: 'the watcher to be live' });
    rmSync(file);
    await waitFor(() => lines.some((l) => l.level === LEVEL.error && /cannot read/.test(String(l['err']))), { what: 'the unlink to be logged' });
    assert.equal((await backend.list('/')).pairs.get('/k'), 'v2');
    writeFileSync(file, 'k: back\n');
    await waitFor(() => watch.changes.some((c) => c.value === 'back'), { what: 'the file coming back' });
  });

  test('a watcher that fell more than one generation behind gets HistoryLostError; a fresh list catches up', async (t) => {
    const dir = freshDir();
    const file = join(dir, 'data.yaml');
    writeFileSync(file, 'k: "1"\n');
    const backend = new FileBackend([file], silentLogger());
    const stop = new AbortController();
    t.after(async () => {
      stop.abort();
      await backend.close();
    });
    const listing = await backend.list('/');
    const live = collect(backend.watch('/', listing.index + 1, stop.signal));
    writeFileSync(file, 'k: "2"\n');
    await waitFor(async () => (await backend.list('/')).index === 2, { what: 'generation 2' });
    writeFileSync(file, 'k: "3"\n');
    await waitFor(async () => (await backend.list('/')).index === 3, { what: 'generation 3' });
    await waitFor(() => live.changes.length === 2, { what: 'the live watcher to see both' });

    // A consumer still at generation 1 asks for everything from 2: generation 2's diff is gone.
    const stale = collect(backend.watch('/', 2, stop.signal));
    const err = await stale.done;
    assert.ok(err instanceof HistoryLostError, `expected HistoryLostError, got ${String(err)}`);
    assert.equal(err.code, 'CAIRN_HISTORY_LOST');
    const fresh = await backend.list('/');
    assert.equal(fresh.index, 3);
    assert.equal(fresh.pairs.get('/k'), '3');
  });

  test('a change outside the watched prefix asks the watcher to list again rather than skip an index', async (t) => {
    const dir = freshDir();
    const file = join(dir, 'data.yaml');
    writeFileSync(file, 'a: "1"\nb: "1"\n');
    const backend = new FileBackend([file], silentLogger());
    const stop = new AbortController();
    t.after(async () => {
      stop.abort();
      await backend.close();
    });
    const listing = await backend.list('/a');
    const watch = collect(backend.watch('/a', listing.index + 1, stop.signal));
    writeFileSync(file, 'a: "1"\nb: "2"\n');
    const err = await watch.done;
    assert.ok(err instanceof HistoryLostError, `expected HistoryLostError, got ${String(err)}`);
    assert.deepEqual(watch.changes, []);
    const again = await backend.list('/a');
    assert.equal(again.index, 2);
    assert.deepEqual(Object.fromEntries(again.pairs), { '/a': '1' });
  });

  test('later files override earlier ones, and an edit to the overridden value changes nothing visible', async (t) => {
    const dir = freshDir();
    const base = join(dir, 'base.yaml');
    const local = join(dir, 'local.yaml');
    writeFileSync(base, 'port: "80"\nhost: base\n');
    writeFileSync(local, 'port: "8080"\n');
    const backend = new FileBackend([base, local], silentLogger());
    const stop = new AbortController();
    t.after(async () => {
      stop.abort();
      await backend.close();
    });
    const listing = await backend.list('/');
    assert.deepEqual(Object.fromEntries(listing.pairs), { '/port': '8080', '/host': 'base' });
    const watch = collect(backend.watch('/', listing.index + 1, stop.signal));
    writeFileSync(base, 'port: "81"\nhost: base\n');
    writeFileSync(local, 'port: "9090"\n');
    await waitFor(() => watch.changes.some((c) => c.value === '9090'), { what: 'the override to change' });
    assert.ok(!watch.changes.some((c) => c.value === '81'), 'the overridden value never shows');
  });

  test('abort ends a watch that is waiting for changes', async (t) => {
    const dir = freshDir();
    const file = join(dir, 'data.yaml');
    writeFileSync(file, 'k: v\n');
    const backend = new FileBackend([file], silentLogger());
    t.after(() => backend.close());
    const stop = new AbortController();
    const listing = await backend.list('/');
    const watch = collect(backend.watch('/', listing.index + 1, stop.signal));
    stop.abort();
    assert.equal(await watch.done, 'ended');
  });
});
