/**
 * The etcd backend through the shared v2 client, against a real `cairn serve`
 * and a real etcd 3.4 with the v2 API: the same assertions on both.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HistoryLostError, type Change } from '../../../src/agent/backend/backend.js';
import { EtcdV2Backend } from '../../../src/agent/backend/etcd-v2.js';
import { KeyMirror } from '../../../src/agent/key-mirror.js';
import { V2Client } from '../../../src/client/v2-client.js';
import { startCairn, type CairnServer } from '../../support/cairn.js';
import { startEtcd, type EtcdServer } from '../../support/etcd.js';
import { freePort } from '../../support/ports.js';
import { haveTool } from '../../support/require-tool.js';
import { watcherCount } from '../../support/v2-probe.js';
import { waitFor } from '../../support/wait.js';

const etcdPresent = haveTool('etcd');
let cairn: CairnServer | undefined;
let etcd: EtcdServer | undefined;

before(async () => {
  [cairn, etcd] = await Promise.all([startCairn(), etcdPresent ? startEtcd() : Promise.resolve(undefined)]);
});
after(async () => {
  await Promise.all([cairn?.destroy(), etcd?.stop()]);
});

/** Iterates a watch in the background until it ends or fails. */
function collect(iterable: AsyncIterable<Change>): { changes: Change[]; done: Promise<unknown>; ended: () => boolean } {
  const changes: Change[] = [];
  let finished = false;
  const done = (async () => {
    for await (const change of iterable) changes.push(change);
  })().then(
    () => 'ended',
    (err: unknown) => err,
  ).finally(() => {
    finished = true;
  });
  return { changes, done, ended: () => finished };
}

const targets = [
  { name: 'cairn serve', url: () => (cairn as CairnServer).url, skip: false as const },
  { name: 'etcd 3.4 --enable-v2', url: () => (etcd as EtcdServer).url, skip: etcdPresent ? (false as const) : 'etcd is not installed' },
];

for (const target of targets) {
  describe(`EtcdV2Backend against ${target.name}`, { skip: target.skip }, () => {
    let client: V2Client;
    let backend: EtcdV2Backend;
    before(() => {
      client = new V2Client({ endpoints: [target.url()] });
      backend = new EtcdV2Backend(new V2Client({ endpoints: [target.url()] }));
    });
    after(async () => {
      await client.close();
      await backend.close();
    });

    test('a prefix that does not exist is an empty listing at the current index', async () => {
      const written = await client.set('/unit-missing/other', 'x');
      const listing = await backend.list('/unit-missing/nothing-here');
      assert.equal(listing.pairs.size, 0);
      assert.equal(listing.index, written.etcdIndex);
      // Watching from index + 1 catches the very next write under it.
      const stop = new AbortController();
      const watch = collect(backend.watch('/unit-missing/nothing-here', listing.index + 1, stop.signal));
      const next = await client.set('/unit-missing/nothing-here/now', 'y');
      await waitFor(() => watch.changes.length === 1, { what: 'the first key under a new prefix' });
      stop.abort();
      assert.deepEqual(watch.changes[0], { index: next.etcdIndex, key: '/unit-missing/nothing-here/now', value: 'y', dir: false, removed: false });
      assert.equal(await watch.done, 'ended');
    });

    test('a recursive listing holds the leaves only, without hidden keys', async () => {
      await client.set('/unit-list/a', '1');
      await client.set('/unit-list/dir/b', '2');
      await client.set('/unit-list/_hidden', 'h');
      await client.set('/unit-list/empty', undefined, { dir: true });
      const last = await client.set('/unit-listing-sibling', 'not below');
      const listing = await backend.list('/unit-list');
      assert.deepEqual(Object.fromEntries(listing.pairs), { '/unit-list/a': '1', '/unit-list/dir/b': '2' });
      assert.ok(listing.index >= last.etcdIndex);
    });

    test('watch from index + 1 sees every change in order, including updatedir, expiry and directory deletes', async () => {
      const p = '/unit-watch';
      await client.set(`${p}/web/1`, 'a');
      await client.set(`${p}/db/1`, 'd', {});
      const listing = await backend.list(p);
      // Several writes land before the watch starts: they come from the server's history.
      const w1 = await client.set(`${p}/web/2`, 'b');
      const w2 = await client.set(`${p}/db`, undefined, { dir: true, prevExist: true, ttl: 600 }); // etcdctl updatedir
      const w3 = await client.set(`${p}/tmp`, 't', { ttl: 1 });
      const stop = new AbortController();
      const watch = collect(backend.watch(p, listing.index + 1, stop.signal));
      await waitFor(() => watch.changes.length >= 3, { what: 'the backlog' });
      const w4 = await client.delete(`${p}/web`, { recursive: true });
      // The TTL key expires on its own (the server sweeps at least once a second).
      await waitFor(() => watch.changes.length >= 5, { what: 'the delete and the expiry', timeoutMs: 15_000 });
      stop.abort();
      assert.equal(await watch.done, 'ended');

      const expire = watch.changes.find((c) => c.key === `${p}/tmp` && c.removed);
      assert.ok(expire !== undefined, 'the expiry is a change');
      const expected: Change[] = [
        { index: w1.etcdIndex, key: `${p}/web/2`, value: 'b', dir: false, removed: false },
        { index: w2.etcdIndex, key: `${p}/db`, value: undefined, dir: true, removed: false },
        { index: w3.etcdIndex, key: `${p}/tmp`, value: 't', dir: false, removed: false },
        { index: w4.etcdIndex, key: `${p}/web`, value: undefined, dir: true, removed: true },
        { index: expire.index, key: `${p}/tmp`, value: undefined, dir: false, removed: true },
      ].sort((a, b) => a.index - b.index);
      assert.deepEqual(watch.changes, expected);

      const mirror = new KeyMirror(p);
      mirror.replace(listing);
      for (const change of watch.changes) mirror.apply(change);
      const fresh = await backend.list(p);
      assert.deepEqual(Object.fromEntries(mirror.pairs), Object.fromEntries(fresh.pairs));
      assert.deepEqual(Object.fromEntries(fresh.pairs), { [`${p}/db/1`]: 'd' }, 'updatedir kept the key below it');
    });

    test('a fromIndex older than the 1000-event history is HistoryLostError', async () => {
      const start = (await client.set('/unit-busy/k', 'start')).etcdIndex;
      const writers = Array.from({ length: 25 }, async (_, w) => {
        for (let i = 0; i < 42; i++) await client.set(`/unit-busy/w${w}`, String(i));
      });
      await Promise.all(writers); // 1050 events
      const stop = new AbortController();
      const watch = collect(backend.watch('/unit-quiet', start, stop.signal));
      const err = await watch.done;
      stop.abort();
      assert.ok(err instanceof HistoryLostError, `expected HistoryLostError, got ${String(err)}`);
      assert.match(err.message, new RegExp(`events from index ${start} are gone`));
      assert.match(err.message, /401/);
    });

    test('abort ends a pending long poll, and the server drops its watcher', async () => {
      const url = target.url();
      const before = await watcherCount(url);
      const listing = await backend.list('/unit-idle');
      const stop = new AbortController();
      const watch = collect(backend.watch('/unit-idle', listing.index + 1, stop.signal));
      await waitFor(async () => (await watcherCount(url)) > before, { what: 'the long poll to be registered' });
      stop.abort();
      assert.equal(await watch.done, 'ended');
      assert.deepEqual(watch.changes, []);
      await waitFor(async () => (await watcherCount(url)) === before, { what: 'the server to drop the watcher' });
    });
  });
}

describe('EtcdV2Backend failover', () => {
  test('a dead first endpoint is skipped for both list and watch', async () => {
    const live = (cairn as CairnServer).url;
    const dead = `http://127.0.0.1:${await freePort()}`;
    const writer = new V2Client({ endpoints: [live] });
    const backend = new EtcdV2Backend(new V2Client({ endpoints: [dead, live] }));
    try {
      await writer.set('/unit-failover/a', '1');
      const listing = await backend.list('/unit-failover');
      assert.deepEqual(Object.fromEntries(listing.pairs), { '/unit-failover/a': '1' });
      const stop = new AbortController();
      const watch = collect(backend.watch('/unit-failover', listing.index + 1, stop.signal));
      await writer.set('/unit-failover/b', '2');
      await waitFor(() => watch.changes.length === 1, { what: 'the change through the live endpoint' });
      stop.abort();
      await watch.done;
    } finally {
      await writer.close();
      await backend.close();
    }
  });

  test('no endpoint at all is a BackendError naming the failure', async () => {
    const backend = new EtcdV2Backend(new V2Client({ endpoints: [`http://127.0.0.1:${await freePort()}`] }));
    try {
      await assert.rejects(backend.list('/x'), (err: unknown) => {
        assert.equal((err as { code?: unknown }).code, 'CAIRN_BACKEND');
        assert.match((err as Error).message, /^list \/x: no endpoint answered/);
        return true;
      });
    } finally {
      await backend.close();
    }
  });
});
