/**
 * The `node-etcd` v2 client library from npm, used against Cairn the way an
 * application would use it against etcd.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startCairn, type CairnServer } from '../support/cairn.js';
import { v2Get, v2Put, watcherCount, type V2NodeJson } from '../support/v2-probe.js';
import { waitFor } from '../support/wait.js';

// node-etcd is CommonJS without types; this is the part of its API used here.
interface EtcdError extends Error {
  errorCode?: number;
  error?: { errorCode: number; message: string; cause?: string; index: number };
}
interface EtcdBody {
  action: string;
  node: V2NodeJson;
  prevNode?: V2NodeJson;
}
type Headers = Record<string, string | undefined>;
type Callback = (err: EtcdError | null, body: EtcdBody, headers: Headers) => void;
type Options = Record<string, unknown>;
interface SyncResult {
  err: EtcdError | null;
  body: EtcdBody;
  headers: Headers;
}
interface Watcher {
  on(event: string, listener: (body: EtcdBody, headers: Headers) => void): void;
  stop(): void;
}
interface EtcdClient {
  set(key: string, value: string | null, options: Options, cb: Callback): void;
  get(key: string, options: Options, cb: Callback): void;
  del(key: string, options: Options, cb: Callback): void;
  mkdir(dir: string, options: Options, cb: Callback): void;
  rmdir(dir: string, options: Options, cb: Callback): void;
  create(dir: string, value: string, options: Options, cb: Callback): void;
  compareAndSwap(key: string, value: string, oldValue: string, options: Options, cb: Callback): void;
  compareAndDelete(key: string, oldValue: string, options: Options, cb: Callback): void;
  watch(key: string, options: Options, cb: Callback): { abort(): void };
  watchIndex(key: string, index: number, options: Options, cb: Callback): { abort(): void };
  watcher(key: string, index: number | null, options: Options): Watcher;
  selfStats(cb: (err: EtcdError | null, body: Record<string, unknown>) => void): void;
  leaderStats(cb: (err: EtcdError | null, body: Record<string, unknown>) => void): void;
  version(cb: (err: EtcdError | null, body: Record<string, unknown>) => void): void;
  setSync(key: string, value: string, options?: Options): SyncResult;
  getSync(key: string, options?: Options): SyncResult;
}
type EtcdConstructor = new (hosts: string | string[], options?: Options) => EtcdClient;

const require = createRequire(import.meta.url);
const Etcd = require('node-etcd') as EtcdConstructor;

interface Reply {
  body: EtcdBody;
  headers: Headers;
}

/** Calls a node-etcd method and settles with its (err, body, headers) callback. */
function call(invoke: (cb: Callback) => void): Promise<Reply> {
  return new Promise((resolve, reject) => {
    invoke((err, body, headers) => {
      if (err) reject(err);
      else resolve({ body, headers });
    });
  });
}

/** Like `call`, but the call must fail with etcd error `code`; returns the error body. */
async function callFails(code: number, invoke: (cb: Callback) => void): Promise<NonNullable<EtcdError['error']>> {
  try {
    const reply = await call(invoke);
    assert.fail(`expected etcd error ${code}, got ${JSON.stringify(reply.body)}`);
  } catch (err) {
    const e = err as EtcdError;
    if (e.error === undefined) throw err;
    assert.equal(e.errorCode, code, `errorCode: ${JSON.stringify(e.error)}`);
    return e.error;
  }
}

describe('node-etcd against Cairn', () => {
  let server: CairnServer | undefined;
  let etcd: EtcdClient;
  let url: string;

  before(async () => {
    server = await startCairn();
    url = server.url;
    etcd = new Etcd(url);
  });

  after(async () => {
    await server?.destroy();
  });

  // Watchers of earlier steps leave when their request ends, which the server
  // notices asynchronously: wait for none, then for the new one.
  async function noWatchers(): Promise<void> {
    await waitFor(async () => (await watcherCount(url)) === 0, { what: 'no watchers left on the server' });
  }

  /** Starts a watch and resolves (with its pending result) once the server holds it. */
  async function whenWatching(start: () => Promise<Reply>): Promise<{ result: Promise<Reply> }> {
    await noWatchers();
    const result = start();
    // Keep a rejection from surfacing as unhandled before the caller awaits it.
    result.catch(() => undefined);
    await waitFor(async () => (await watcherCount(url)) > 0, { what: 'the watch to register' });
    return { result };
  }

  test('set, get and del a key', async () => {
    const set = await call((cb) => etcd.set('/lib/key', 'value', {}, cb));
    assert.equal(set.body.action, 'set');
    assert.equal(set.body.node.key, '/lib/key');
    assert.equal(set.body.node.value, 'value');
    assert.equal(set.body.node.createdIndex, set.body.node.modifiedIndex);
    assert.equal(Number(set.headers['x-etcd-index']), set.body.node.modifiedIndex);

    const got = await call((cb) => etcd.get('lib/key', {}, cb));
    assert.equal(got.body.action, 'get');
    assert.equal(got.body.node.value, 'value');
    assert.equal(got.body.node.modifiedIndex, set.body.node.modifiedIndex);

    const replaced = await call((cb) => etcd.set('lib/key', 'other', {}, cb));
    assert.equal(replaced.body.prevNode?.value, 'value');
    // A plain set replaces the node (new createdIndex); an update keeps it.
    assert.equal(replaced.body.node.createdIndex, replaced.body.node.modifiedIndex);
    assert.ok((replaced.body.node.modifiedIndex ?? 0) > (set.body.node.modifiedIndex ?? 0));
    const updated = await call((cb) => etcd.set('lib/key', 'updated', { prevExist: true }, cb));
    assert.equal(updated.body.action, 'update');
    assert.equal(updated.body.node.createdIndex, replaced.body.node.createdIndex);
    await call((cb) => etcd.set('lib/key', 'other', {}, cb));

    const deleted = await call((cb) => etcd.del('lib/key', {}, cb));
    assert.equal(deleted.body.action, 'delete');
    assert.equal(deleted.body.prevNode?.value, 'other');

    const missing = await callFails(100, (cb) => etcd.get('lib/key', {}, cb));
    assert.equal(missing.message, 'Key not found');
    assert.equal(missing.cause, '/lib/key');
    assert.equal(missing.index, deleted.body.node.modifiedIndex);
  });

  test('setSync and getSync', () => {
    const set = etcd.setSync('lib/sync', 'blocking');
    assert.equal(set.err, null);
    assert.equal(set.body.node.value, 'blocking');
    const got = etcd.getSync('lib/sync');
    assert.equal(got.body.node.value, 'blocking');
    assert.equal(etcd.getSync('lib/no-such-key').err?.errorCode, 100);
  });

  test('mkdir and rmdir', async () => {
    const made = await call((cb) => etcd.mkdir('lib/dir', {}, cb));
    assert.equal(made.body.node.dir, true);
    const again = await callFails(102, (cb) => etcd.set('lib/dir', 'not a dir', {}, cb));
    assert.equal(again.cause, '/lib/dir');
    const listed = await call((cb) => etcd.get('lib/dir', {}, cb));
    assert.equal(listed.body.node.dir, true);
    assert.equal(listed.body.node.value, undefined);
    await callFails(105, (cb) => etcd.mkdir('lib/dir', { prevExist: false }, cb));

    await call((cb) => etcd.set('lib/dir/child', 'c', {}, cb));
    const notEmpty = await callFails(108, (cb) => etcd.rmdir('lib/dir', {}, cb));
    assert.equal(notEmpty.message, 'Directory not empty');
    // As in etcd, rmdir also removes a plain key.
    const keyGone = await call((cb) => etcd.rmdir('lib/dir/child', {}, cb));
    assert.equal(keyGone.body.prevNode?.value, 'c');
    await call((cb) => etcd.set('lib/dir/child', 'c', {}, cb));

    const removed = await call((cb) => etcd.rmdir('lib/dir', { recursive: true }, cb));
    assert.equal(removed.body.action, 'delete');
    assert.equal(removed.body.node.dir, true);
    await callFails(100, (cb) => etcd.get('lib/dir/child', {}, cb));

    await call((cb) => etcd.mkdir('lib/empty', {}, cb));
    const emptyGone = await call((cb) => etcd.rmdir('lib/empty', {}, cb));
    assert.equal(emptyGone.body.action, 'delete');
  });

  test('recursive, sorted get of a tree', async () => {
    const writes: [string, string][] = [
      ['tree/b/2', 'b2'],
      ['tree/a', 'a'],
      ['tree/b/1', 'b1'],
      ['tree/c/deep/er', 'deeper'],
      ['tree/_hidden', 'h'],
    ];
    for (const [key, value] of writes) await call((cb) => etcd.set(key, value, {}, cb));
    await call((cb) => etcd.mkdir('tree/empty', {}, cb));

    const res = await call((cb) => etcd.get('tree', { recursive: true, sorted: true }, cb));
    const shape = (node: V2NodeJson): unknown =>
      node.dir === true ? { key: node.key, nodes: (node.nodes ?? []).map(shape) } : { key: node.key, value: node.value };
    assert.deepEqual(shape(res.body.node), {
      key: '/tree',
      nodes: [
        { key: '/tree/a', value: 'a' },
        { key: '/tree/b', nodes: [{ key: '/tree/b/1', value: 'b1' }, { key: '/tree/b/2', value: 'b2' }] },
        { key: '/tree/c', nodes: [{ key: '/tree/c/deep', nodes: [{ key: '/tree/c/deep/er', value: 'deeper' }] }] },
        { key: '/tree/empty', nodes: [] },
      ],
    });

    const flat = await call((cb) => etcd.get('tree', { sorted: true }, cb));
    assert.deepEqual(
      (flat.body.node.nodes ?? []).map((n) => [n.key, n.dir === true, n.nodes === undefined]),
      [
        ['/tree/a', false, true],
        ['/tree/b', true, true],
        ['/tree/c', true, true],
        ['/tree/empty', true, true],
      ],
    );
    assert.equal((await call((cb) => etcd.get('tree/_hidden', {}, cb))).body.node.value, 'h');
  });

  test('create: POSTed in-order keys get increasing zero-padded names', async () => {
    const first = await call((cb) => etcd.create('queue', 'first', {}, cb));
    const next = await call((cb) => etcd.create('queue', 'next', {}, cb));
    const last = await call((cb) => etcd.create('queue', 'last', { ttl: 100 }, cb));
    for (const reply of [first, next, last]) {
      assert.equal(reply.body.action, 'create');
      assert.match(reply.body.node.key ?? '', /^\/queue\/\d{20}$/);
      assert.equal(reply.body.node.key, `/queue/${String(reply.body.node.createdIndex).padStart(20, '0')}`);
    }
    assert.equal(last.body.node.ttl, 100);

    const listed = await call((cb) => etcd.get('queue', { sorted: true }, cb));
    assert.deepEqual(
      (listed.body.node.nodes ?? []).map((n) => n.value),
      ['first', 'next', 'last'],
    );
  });

  test('compareAndSwap and compareAndDelete', async () => {
    await call((cb) => etcd.set('lib/cas', 'Hello', {}, cb));
    const swapped = await call((cb) => etcd.compareAndSwap('lib/cas', 'Hi', 'Hello', {}, cb));
    assert.equal(swapped.body.action, 'compareAndSwap');
    assert.equal(swapped.body.node.value, 'Hi');
    assert.equal(swapped.body.prevNode?.value, 'Hello');

    const failed = await callFails(101, (cb) => etcd.compareAndSwap('lib/cas', 'Bye', 'Hello', {}, cb));
    assert.equal(failed.message, 'Compare failed');
    assert.equal(failed.cause, '[Hello != Hi]');
    assert.equal((await call((cb) => etcd.get('lib/cas', {}, cb))).body.node.value, 'Hi');

    const byIndex = await callFails(101, (cb) => etcd.set('lib/cas', 'x', { prevIndex: 1 }, cb));
    assert.equal(byIndex.cause, `[1 != ${swapped.body.node.modifiedIndex}]`);
    await callFails(100, (cb) => etcd.compareAndSwap('lib/absent', 'x', 'y', {}, cb));
    await callFails(105, (cb) => etcd.set('lib/cas', 'x', { prevExist: false }, cb));

    const notDeleted = await callFails(101, (cb) => etcd.compareAndDelete('lib/cas', 'Hello', {}, cb));
    assert.equal(notDeleted.cause, '[Hello != Hi]');
    const deleted = await call((cb) => etcd.compareAndDelete('lib/cas', 'Hi', {}, cb));
    assert.equal(deleted.body.action, 'compareAndDelete');
    assert.equal(deleted.body.prevNode?.value, 'Hi');
    await callFails(100, (cb) => etcd.get('lib/cas', {}, cb));
  });

  test('TTL keys report ttl and expiration, then expire', async () => {
    const set = await call((cb) => etcd.set('lib/ttl', 'short-lived', { ttl: 2 }, cb));
    assert.equal(set.body.node.ttl, 2);
    const expiration = Date.parse(set.body.node.expiration ?? '');
    assert.ok(Number.isFinite(expiration), `expiration ${set.body.node.expiration}`);
    assert.ok(Math.abs(expiration - (Date.now() + 2000)) < 2000, `expiration ${set.body.node.expiration} is about 2 s away`);

    const got = await call((cb) => etcd.get('lib/ttl', {}, cb));
    assert.ok((got.body.node.ttl ?? 0) >= 1 && (got.body.node.ttl ?? 0) <= 2, `ttl ${got.body.node.ttl}`);

    const permanent = await call((cb) => etcd.set('lib/ttl-cleared', 'x', { ttl: 100 }, cb));
    assert.equal(permanent.body.node.ttl, 100);
    const cleared = await call((cb) => etcd.set('lib/ttl-cleared', 'x', { ttl: '' }, cb));
    assert.equal(cleared.body.node.ttl, undefined);
    assert.equal(cleared.body.node.expiration, undefined);

    await waitFor(async () => (await v2Get(url, '/lib/ttl')).status === 404, { what: 'lib/ttl to expire' });
    const gone = await callFails(100, (cb) => etcd.get('lib/ttl', {}, cb));
    assert.equal(gone.cause, '/lib/ttl');
  });

  test('watch with waitIndex replays history; watch without it waits for the next change', { timeout: 60_000 }, async () => {
    const first = await call((cb) => etcd.set('lib/w', 'one', {}, cb));
    const second = await call((cb) => etcd.set('lib/w', 'two', {}, cb));
    const firstIndex = first.body.node.modifiedIndex ?? 0;

    const replay = await call((cb) => etcd.watchIndex('lib/w', firstIndex, {}, cb));
    assert.equal(replay.body.node.value, 'one');
    assert.equal(replay.body.node.modifiedIndex, firstIndex);
    const replay2 = await call((cb) => etcd.watchIndex('lib/w', firstIndex + 1, {}, cb));
    assert.equal(replay2.body.node.value, 'two');
    assert.equal(replay2.body.prevNode?.value, 'one');

    const pending = await whenWatching(() => call((cb) => etcd.watch('lib/w', {}, cb)));
    await call((cb) => etcd.del('lib/w', {}, cb));
    const fired = await pending.result;
    assert.equal(fired.body.action, 'delete');
    assert.equal(fired.body.node.key, '/lib/w');
    assert.equal(fired.body.prevNode?.value, 'two');
    assert.ok((fired.body.node.modifiedIndex ?? 0) > (second.body.node.modifiedIndex ?? 0));

    const recursive = await whenWatching(() => call((cb) => etcd.watch('lib', { recursive: true }, cb)));
    await call((cb) => etcd.set('lib/sub/deep', 'd', {}, cb));
    assert.equal((await recursive.result).body.node.key, '/lib/sub/deep');
  });

  test('watcher() receives every set, delete and expire in order across many writes', { timeout: 90_000 }, async () => {
    await call((cb) => etcd.mkdir('feed', {}, cb));
    await noWatchers();
    const watcher = etcd.watcher('feed', null, { recursive: true });
    const events: EtcdBody[] = [];
    const byAction = new Map<string, number>();
    const problems: string[] = [];
    watcher.on('change', (body) => events.push(body));
    for (const action of ['set', 'delete', 'expire']) {
      watcher.on(action, () => byAction.set(action, (byAction.get(action) ?? 0) + 1));
    }
    watcher.on('error', (err) => problems.push(`error ${JSON.stringify(err)}`));
    watcher.on('resync', () => problems.push('resync'));
    try {
      await waitFor(async () => (await watcherCount(url)) > 0, { what: 'the watcher to register' });

      // Concurrent writers: the server decides the order, the watcher must see exactly that order.
      const expected: { action: string; key: string; index: number }[] = [];
      const writers = Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 40; i++) {
          const key = `/feed/w${w}/k${i % 5}`;
          const set = await v2Put(url, key, { value: `${w}-${i}` });
          assert.equal(set.status < 300, true, JSON.stringify(set.body));
          expected.push({ action: 'set', key, index: set.body.node?.modifiedIndex ?? -1 });
          if (i % 7 === 6) {
            const del = await call((cb) => etcd.del(key, {}, cb));
            expected.push({ action: 'delete', key, index: del.body.node.modifiedIndex ?? -1 });
          }
        }
      });
      await Promise.all(writers);
      const lease = await call((cb) => etcd.set('feed/lease', 'heartbeat', { ttl: 1 }, cb));
      expected.push({ action: 'set', key: '/feed/lease', index: lease.body.node.modifiedIndex ?? -1 });
      expected.sort((a, b) => a.index - b.index);
      const total = expected.length + 1;

      await waitFor(() => events.length >= total || problems.length > 0, {
        what: `${total} watcher events (have ${events.length})`,
        timeoutMs: 30_000,
      });
      assert.deepEqual(problems, []);
      const seen = events.map((e) => ({ action: e.action, key: e.node.key ?? '', index: e.node.modifiedIndex ?? -1 }));
      assert.deepEqual(seen.slice(0, expected.length), expected);
      const expire = seen[expected.length];
      assert.equal(expire?.action, 'expire');
      assert.equal(expire?.key, '/feed/lease');
      assert.equal(events[expected.length]?.prevNode?.value, 'heartbeat');
      assert.equal(events.length, total);
      assert.equal(byAction.get('set'), expected.filter((e) => e.action === 'set').length);
      assert.equal(byAction.get('delete'), expected.filter((e) => e.action === 'delete').length);
      assert.equal(byAction.get('expire'), 1);
    } finally {
      watcher.stop();
    }
  });

  test('selfStats, leaderStats and version describe a single leader', async () => {
    const stats = (invoke: (cb: (err: EtcdError | null, body: Record<string, unknown>) => void) => void) =>
      new Promise<Record<string, unknown>>((resolve, reject) => invoke((err, body) => (err ? reject(err) : resolve(body))));
    const self = await stats((cb) => etcd.selfStats(cb));
    assert.equal(self['name'], 'test');
    assert.match(String(self['id']), /^[0-9a-f]{1,16}$/);
    assert.equal(self['state'], 'StateLeader');
    assert.equal((self['leaderInfo'] as Record<string, unknown> | undefined)?.['leader'], self['id']);
    const leader = await stats((cb) => etcd.leaderStats(cb));
    assert.equal(leader['leader'], self['id']);
    assert.deepEqual(leader['followers'], {});
    const version = await stats((cb) => etcd.version(cb));
    assert.match(String(version['etcdserver']), /^\d+\.\d+\.\d+$/);
    assert.match(String(version['etcdcluster']), /^\d+\.\d+\.\d+$/);
  });
});
