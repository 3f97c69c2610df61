import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendError, HistoryLostError, type Change } from '../../../src/agent/backend/backend.js';
import { EmbeddedBackend } from '../../../src/agent/backend/embedded.js';
import { KeyMirror } from '../../../src/agent/key-mirror.js';
import type { V2Command } from '../../../src/v2store/command.js';
import { V2Store } from '../../../src/v2store/store.js';

const T0 = Date.UTC(2030, 0, 1);

function setup(): { store: V2Store; backend: EmbeddedBackend; apply: (cmd: V2Command, now?: number) => void } {
  const store = new V2Store();
  const backend = new EmbeddedBackend(() => store);
  return { store, backend, apply: (cmd, now = T0) => void store.apply(cmd, now) };
}

const set = (path: string, value: string, expireAt = 0): V2Command => ({ op: 'set', path, value, dir: false, expireAt, refresh: false });
const mkdir = (path: string, expireAt = 0): V2Command => ({ op: 'set', path, value: '', dir: true, expireAt, refresh: false });
const del = (path: string, recursive = false): V2Command => ({ op: 'delete', path, dir: recursive, recursive });

/** Takes `count` changes from a watch, then stops it. */
async function take(backend: EmbeddedBackend, prefix: string, fromIndex: number, count: number): Promise<Change[]> {
  const stop = new AbortController();
  const out: Change[] = [];
  if (count === 0) return out;
  for await (const change of backend.watch(prefix, fromIndex, stop.signal)) {
    out.push(change);
    if (out.length === count) stop.abort();
  }
  return out;
}

describe('EmbeddedBackend.list', () => {
  test('a prefix that does not exist is an empty listing at the store index', async () => {
    const { store, backend, apply } = setup();
    apply(set('/other/a', '1'));
    apply(set('/other/b', '2'));
    const listing = await backend.list('/services');
    assert.equal(listing.index, store.index);
    assert.equal(listing.index, 2);
    assert.equal(listing.pairs.size, 0);
    assert.equal((await new EmbeddedBackend(() => new V2Store()).list('/x')).index, 0);
  });

  test('a recursive listing holds every leaf, without hidden keys, at the current index', async () => {
    const { backend, apply } = setup();
    apply(set('/app/a', '1'));
    apply(set('/app/dir/b', '2'));
    apply(set('/app/_hidden', 'h'));
    apply(set('/app/dir/_lock', 'l'));
    apply(mkdir('/app/empty'));
    apply(set('/apple', 'not under /app'));
    const listing = await backend.list('/app');
    assert.equal(listing.index, 6);
    assert.deepEqual(Object.fromEntries(listing.pairs), { '/app/a': '1', '/app/dir/b': '2' });
    assert.deepEqual(Object.fromEntries((await backend.list('/app/a')).pairs), { '/app/a': '1' }, 'a prefix naming a key lists that key');
  });

  test('the store is looked up on every call (a replica may swap it)', async () => {
    let store = new V2Store();
    const backend = new EmbeddedBackend(() => store);
    store.apply(set('/k', 'old'), T0);
    store = new V2Store();
    store.apply(set('/k', 'new'), T0);
    assert.equal((await backend.list('/k')).pairs.get('/k'), 'new');
  });
});

describe('EmbeddedBackend.watch', () => {
  test('from listing index + 1 it sees every change under the prefix, in order, of every kind', async () => {
    const { backend, apply } = setup();
    apply(set('/svc/web/1', 'a')); // 1
    const listing = await backend.list('/svc');
    assert.equal(listing.index, 1);

    apply(set('/svc/web/2', 'b')); // 2
    apply(set('/elsewhere', 'x')); // 3: not under /svc
    apply({ op: 'update', path: '/svc/web/1', value: 'a2', expireAt: 0, refresh: false }); // 4
    apply({ op: 'compareAndSwap', path: '/svc/web/1', prevValue: 'a2', prevIndex: 0, value: 'a3', expireAt: 0, refresh: false }); // 5
    apply({ op: 'create', path: '/svc/queue', value: 'q', dir: false, unique: true, expireAt: 0 }); // 6: in-order key
    apply(set('/svc/tmp', 't', T0 + 1000)); // 7
    apply({ op: 'update', path: '/svc/tmp', value: 't', expireAt: T0 + 2000, refresh: true }); // 8: TTL refresh, not a change
    apply(mkdir('/svc/db')); // 9
    apply(set('/svc/db/1', 'd')); // 10
    apply({ op: 'update', path: '/svc/db', value: '', expireAt: T0 + 60_000, refresh: false }); // 11: etcdctl updatedir
    apply({ op: 'expire', now: T0 + 2000 }); // 12: /svc/tmp expires
    apply({ op: 'compareAndDelete', path: '/svc/web/2', prevValue: 'b', prevIndex: 0 }); // 13
    apply(del('/svc/web', true)); // 14

    const changes = await take(backend, '/svc', listing.index + 1, 11);
    const compact = changes.map((c) => [c.index, c.key.replace(/\/svc\/queue\/\d+$/, '/svc/queue/N'), c.value, c.dir, c.removed]);
    assert.deepEqual(compact, [
      [2, '/svc/web/2', 'b', false, false],
      [4, '/svc/web/1', 'a2', false, false],
      [5, '/svc/web/1', 'a3', false, false],
      [6, '/svc/queue/N', 'q', false, false],
      [7, '/svc/tmp', 't', false, false],
      [9, '/svc/db', undefined, true, false],
      [10, '/svc/db/1', 'd', false, false],
      [11, '/svc/db', undefined, true, false],
      [12, '/svc/tmp', undefined, false, true],
      [13, '/svc/web/2', undefined, false, true],
      [14, '/svc/web', undefined, true, true],
    ]);

    // Replaying those changes over the listing gives exactly what a fresh listing holds.
    const mirror = new KeyMirror('/svc');
    mirror.replace(listing);
    for (const change of changes) mirror.apply(change);
    const fresh = await backend.list('/svc');
    assert.deepEqual(Object.fromEntries(mirror.pairs), Object.fromEntries(fresh.pairs));
    assert.equal(mirror.index, 14);
    assert.ok(fresh.pairs.has('/svc/db/1'), 'updatedir kept the keys below the directory');
  });

  test('changes made while nobody watches are replayed from history; live ones follow', async () => {
    const { store, backend, apply } = setup();
    apply(set('/k/a', '1'));
    const listing = await backend.list('/k');
    apply(set('/k/b', '2')); // before the watch starts
    const stop = new AbortController();
    const seen: Change[] = [];
    const done = (async () => {
      for await (const change of backend.watch('/k', listing.index + 1, stop.signal)) {
        seen.push(change);
        if (seen.length === 1) apply(set('/k/c', '3')); // while it watches
        if (seen.length === 2) stop.abort();
      }
    })();
    await done;
    assert.deepEqual(seen.map((c) => c.key), ['/k/b', '/k/c']);
    assert.equal(store.watcherCount, 0, 'the store watcher is closed when the iteration ends');
  });

  test('a watch of /svc/web sees the delete of /svc above it', async () => {
    const { backend, apply } = setup();
    apply(set('/svc/web/1', 'a'));
    apply(set('/svc/db/1', 'b'));
    apply(del('/svc', true));
    const [change] = await take(backend, '/svc/web', 3, 1);
    assert.deepEqual(change, { index: 3, key: '/svc', value: undefined, dir: true, removed: true });
  });

  test('a fromIndex older than the 1000-event history is HistoryLostError', async () => {
    const { backend, apply } = setup();
    for (let i = 0; i < 1100; i++) apply(set('/busy', String(i)));
    await assert.rejects(take(backend, '/quiet', 5, 1), (err: unknown) => {
      assert.ok(err instanceof HistoryLostError, String(err));
      assert.match(err.message, /history before index 5 is gone/);
      return true;
    });
    // The listing's index + 1 is always inside the history.
    const listing = await backend.list('/busy');
    apply(set('/busy', 'last'));
    assert.equal((await take(backend, '/busy', listing.index + 1, 1))[0]?.value, 'last');
  });

  test('abort ends a watch that is waiting, and closes the store watcher', async () => {
    const { store, backend } = setup();
    const stop = new AbortController();
    const seen: Change[] = [];
    const done = (async () => {
      for await (const change of backend.watch('/k', 1, stop.signal)) seen.push(change);
    })();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(store.watcherCount, 1);
    stop.abort();
    await done;
    assert.deepEqual(seen, []);
    assert.equal(store.watcherCount, 0);
  });

  test('a consumer that falls 10,000 events behind gets a BackendError after what was queued', async () => {
    const { backend, apply } = setup();
    const stop = new AbortController();
    const iterator = backend.watch('/k', 1, stop.signal)[Symbol.asyncIterator]();
    const pending = iterator.next(); // registers the live watcher
    apply(set('/k', '0'));
    assert.equal((await pending).value?.value, '0');
    for (let i = 1; i <= 10_001; i++) apply(set('/k', String(i)));
    let count = 0;
    let caught: unknown;
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) break;
        count += 1;
      }
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof BackendError, String(caught));
    assert.equal(count, 10_000);
    stop.abort();
  });
});
