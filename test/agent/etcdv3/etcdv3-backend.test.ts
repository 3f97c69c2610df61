/**
 * The etcdv3 backend against a real etcd 3.4, through its JSON gateway:
 * listings and key semantics (data written with etcdctl v3), watches in
 * order, resuming after broken connections without losing or repeating a
 * change, and compaction as HistoryLostError.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HistoryLostError, type Change } from '../../../src/agent/backend/backend.js';
import { EtcdV3Backend } from '../../../src/agent/backend/etcd-v3.js';
import { KeyMirror } from '../../../src/agent/key-mirror.js';
import { KvView } from '../../../src/agent/template/kv-view.js';
import { EtcdV3Client } from '../../../src/client/etcd-v3-client.js';
import { startEtcd, type EtcdServer } from '../../support/etcd.js';
import { freePort } from '../../support/ports.js';
import { skipUnless } from '../../support/require-tool.js';
import { seededRandom } from '../../support/seeded-random.js';
import { waitFor } from '../../support/wait.js';
import { etcdctl3 } from './etcdctl3.js';
import { startCutProxy } from './tcp-cut-proxy.js';

/** Iterates a watch in the background until it ends or fails. */
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

describe('EtcdV3Backend against etcd 3.4', { skip: skipUnless('etcd') }, () => {
  let etcd: EtcdServer;
  let writer: EtcdV3Client;
  let backend: EtcdV3Backend;
  before(async () => {
    etcd = await startEtcd();
    writer = new EtcdV3Client({ endpoints: [etcd.url] });
    backend = new EtcdV3Backend(new EtcdV3Client({ endpoints: [etcd.url] }));
  });
  after(async () => {
    await backend?.close();
    await writer?.close();
    await etcd?.stop();
  });

  test('a prefix holds the key itself and the keys below it, as a v2 directory would', async () => {
    for (const [key, value] of [
      ['/svc/web', 'the key itself'],
      ['/svc/web/a', '10.0.0.1:80'],
      ['/svc/web/b/deep', '10.0.0.2:80'],
      ['/svc/web/_hidden', 'h'],
      ['/svc/web-old/x', 'a sibling, not below'],
      ['/svc/web.bak', 'a sibling too'],
      ['svc/web/c', 'no leading slash'],
    ]) {
      await etcdctl3(etcd.url, ['put', key as string, value as string]);
    }
    const revision = (await writer.range('/svc/web')).header.revision;
    const listing = await backend.list('/svc/web');
    assert.equal(listing.index, revision);
    assert.deepEqual(Object.fromEntries(listing.pairs), {
      '/svc/web': 'the key itself',
      '/svc/web/a': '10.0.0.1:80',
      '/svc/web/b/deep': '10.0.0.2:80',
    });
    // The whole tree, as the agent's templates see it with ls/lsdir/getvs.
    const root = await backend.list('/');
    assert.ok(!root.pairs.has('svc/web/c'), 'keys without a leading slash are outside every prefix');
    assert.ok(!root.pairs.has('/svc/web/_hidden'));
    const view = KvView.fromBackend('/svc', root.pairs);
    assert.deepEqual(view.list('/'), ['web', 'web-old', 'web.bak']);
    assert.deepEqual(view.listDirs('/'), ['web', 'web-old']);
    assert.deepEqual(view.list('/web'), ['a', 'b', 'web']);
    assert.deepEqual(view.listDirs('/web'), ['b']);
    assert.deepEqual(view.glob('/web/*').map((p) => p.value), ['10.0.0.1:80']);
  });

  test('a prefix that does not exist is an empty listing at the current revision, and its first key is seen', async () => {
    const { header } = await writer.put('/elsewhere/k', 'x');
    const listing = await backend.list('/not-yet');
    assert.deepEqual([...listing.pairs], []);
    assert.equal(listing.index, header.revision);
    const stop = new AbortController();
    const watch = collect(backend.watch('/not-yet', listing.index + 1, stop.signal));
    const put = await writer.put('/not-yet/now', 'y');
    await waitFor(() => watch.changes.length === 1, { what: 'the first key under a new prefix' });
    stop.abort();
    assert.equal(await watch.done, 'ended');
    assert.deepEqual(watch.changes, [{ index: put.header.revision, key: '/not-yet/now', value: 'y', dir: false, removed: false }]);
  });

  test('watch from index + 1 sees puts, deletes and multi-key transactions in order, and nothing outside the prefix', async () => {
    const p = '/w';
    await writer.put(`${p}/a`, '1');
    await writer.put(`${p}/b`, '2');
    const listing = await backend.list(p);
    // These land before the watch starts: they come from etcd's history.
    const r1 = (await writer.put(`${p}/a`, '1b')).header.revision;
    const r2 = (await writer.deleteRange(`${p}/b`)).header.revision;
    const stop = new AbortController();
    const watch = collect(backend.watch(p, listing.index + 1, stop.signal));
    await waitFor(() => watch.changes.length >= 2, { what: 'the backlog' });
    await writer.put('/wx/not-below', 'no');
    await writer.put(`${p}/_hidden`, 'no');
    await etcdctl3(etcd.url, ['txn'], { stdin: `\nput ${p}/c 3\nput ${p}/d 4\ndel ${p}/a\n\n\n` });
    const r3 = (await writer.range(p)).header.revision;
    await waitFor(() => watch.changes.length >= 5, { what: 'the transaction' });
    stop.abort();
    assert.equal(await watch.done, 'ended');
    assert.deepEqual(watch.changes, [
      { index: r1, key: `${p}/a`, value: '1b', dir: false, removed: false },
      { index: r2, key: `${p}/b`, value: undefined, dir: false, removed: true },
      { index: r3, key: `${p}/c`, value: '3', dir: false, removed: false },
      { index: r3, key: `${p}/d`, value: '4', dir: false, removed: false },
      { index: r3, key: `${p}/a`, value: undefined, dir: false, removed: true },
    ]);
    const mirror = new KeyMirror(p);
    mirror.replace(listing);
    for (const change of watch.changes) mirror.apply(change);
    assert.deepEqual(Object.fromEntries(mirror.pairs), Object.fromEntries((await backend.list(p)).pairs));
  });

  test('a watch from a compacted revision is HistoryLostError', async () => {
    const listing = await backend.list('/compacted');
    await writer.put('/compacted/a', '1');
    const { header } = await writer.put('/compacted/a', '2');
    await writer.compact(header.revision);
    const watch = collect(backend.watch('/compacted', listing.index + 1, new AbortController().signal));
    const err = await watch.done;
    assert.ok(err instanceof HistoryLostError, `expected HistoryLostError, got ${String(err)}`);
    assert.match(err.message, new RegExp(`revisions from ${listing.index + 1} are compacted`));
    assert.deepEqual(watch.changes, []);
  });

  test('broken connections: the watch resumes after the last revision it delivered, losing and repeating nothing', async () => {
    const proxy = await startCutProxy(etcd.url);
    const viaProxy = new EtcdV3Backend(new EtcdV3Client({ endpoints: [proxy.url] }));
    const p = '/cut';
    const written: number[] = [];
    const seen: Change[] = [];
    const stop = new AbortController();
    try {
      const listing = await viaProxy.list(p);
      // As the agent's feed does: after any error, watch again from the last index seen + 1.
      const consumer = (async () => {
        let next = listing.index + 1;
        while (!stop.signal.aborted) {
          try {
            for await (const change of viaProxy.watch(p, next, stop.signal)) {
              seen.push(change);
              next = change.index + 1;
            }
          } catch (err) {
            if (err instanceof HistoryLostError) throw err;
          }
        }
      })();
      // Cut every connection once, then each one after a random number of bytes, while writes go on.
      await writer.put(`${p}/first`, '0').then((r) => written.push(r.header.revision));
      await waitFor(() => seen.length === 1, { what: 'the first change' });
      proxy.cutAll();
      const random = seededRandom(6);
      proxy.chaos({ min: 200, max: 4_000, random });
      for (let i = 0; i < 300; i++) {
        const key = `${p}/k${Math.floor(random() * 20)}`;
        if (i % 10 === 9) {
          const r = await writer.deleteRange(key);
          if (r.deleted > 0) written.push(r.header.revision);
        } else {
          written.push((await writer.put(key, String(i))).header.revision);
        }
        if (i % 50 === 25) proxy.cutAll();
      }
      proxy.chaos(undefined);
      proxy.cutAll();
      await waitFor(() => seen.length >= written.length, { what: `all ${written.length} changes (seen ${seen.length})`, timeoutMs: 60_000 });
      stop.abort();
      await consumer;
      assert.ok(proxy.cuts > 3, `the proxy cut connections (${proxy.cuts})`);
      assert.deepEqual(seen.map((c) => c.index), written, 'every revision once, in order');
      const mirror = new KeyMirror(p);
      mirror.replace(listing);
      for (const change of seen) mirror.apply(change);
      assert.deepEqual(Object.fromEntries(mirror.pairs), Object.fromEntries((await backend.list(p)).pairs));
    } finally {
      stop.abort();
      await viaProxy.close();
      await proxy.close();
    }
  });

  test('a dead first endpoint is skipped for list and watch; no endpoint at all is a BackendError', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const failing = new EtcdV3Backend(new EtcdV3Client({ endpoints: [dead, etcd.url] }));
    const none = new EtcdV3Backend(new EtcdV3Client({ endpoints: [dead] }));
    try {
      await writer.put('/failover/a', '1');
      const listing = await failing.list('/failover');
      assert.deepEqual(Object.fromEntries(listing.pairs), { '/failover/a': '1' });
      const stop = new AbortController();
      const watch = collect(failing.watch('/failover', listing.index + 1, stop.signal));
      await writer.put('/failover/b', '2');
      await waitFor(() => watch.changes.length === 1, { what: 'the change through the live endpoint' });
      stop.abort();
      await watch.done;
      await assert.rejects(none.list('/x'), (err: unknown) => {
        assert.equal((err as { code?: unknown }).code, 'CAIRN_BACKEND');
        assert.match((err as Error).message, /^list \/x: no endpoint answered: http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
        return true;
      });
    } finally {
      await failing.close();
      await none.close();
    }
  });
});
