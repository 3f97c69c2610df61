/**
 * `cairn register --backend etcdv3` against a real etcd 3.4: the key lives
 * on a lease that keep-alives extend without writing anything; a lost lease
 * is granted again and the key put back; SIGTERM deletes the key and
 * revokes the lease. The store itself is checked operation by operation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EtcdV3Client } from '../../../src/client/etcd-v3-client.js';
import { EtcdV3RegistrationStore } from '../../../src/register/etcd-v3-store.js';
import { startEtcd, type EtcdServer } from '../../support/etcd.js';
import { freePort } from '../../support/ports.js';
import { skipUnless } from '../../support/require-tool.js';
import { waitFor } from '../../support/wait.js';
import { startRegister } from '../../register/register-process.js';
import { etcdctl3 } from './etcdctl3.js';

const VALUE = '10.0.0.5:8080';

describe('cairn register --backend etcdv3 against etcd 3.4', { skip: skipUnless('etcd') }, () => {
  let etcd: EtcdServer;
  let client: EtcdV3Client;
  before(async () => {
    etcd = await startEtcd();
    client = new EtcdV3Client({ endpoints: [etcd.url] });
  });
  after(async () => {
    await client?.close();
    await etcd?.stop();
  });

  /** The key's value and lease, or undefined when it is not there. */
  const read = async (key: string): Promise<{ value: string; lease: string } | undefined> => {
    const kv = (await client.range(key)).kvs[0];
    return kv === undefined ? undefined : { value: kv.value, lease: kv.lease };
  };
  /** Seconds the lease has left; -1 once it is gone. */
  const leaseTtl = async (lease: string): Promise<number> => {
    const { json } = await client.call('/v3/lease/timetolive', { ID: lease });
    return Number(json['TTL'] ?? 0);
  };
  const signal = new AbortController().signal;
  /** Lease keep-alives the member has seen (etcd's own counter). */
  const renewals = async (): Promise<number> => {
    const text = await (await fetch(`${etcd.url}/metrics`)).text();
    return Number(/^etcd_debugging_lease_renewed_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
  };

  test('the store: create puts the key on a fresh lease; refresh keeps it alive without a write; remove deletes and revokes', async () => {
    const key = '/services/web/store';
    const store = new EtcdV3RegistrationStore(new EtcdV3Client({ endpoints: [etcd.url] }), { key, value: VALUE, ttlSeconds: 30 });
    try {
      assert.deepEqual(await store.refresh(signal), { kind: 'missing' }, 'nothing to refresh before create');
      assert.equal((await store.create(signal)).kind, 'ok');
      const lease = store.lease as string;
      assert.deepEqual(await read(key), { value: VALUE, lease });
      assert.ok((await leaseTtl(lease)) > 25);

      const before = (await client.range(key)).header.revision;
      assert.equal((await store.refresh(signal)).kind, 'ok');
      assert.equal((await client.range(key)).header.revision, before, 'a keep-alive writes nothing, so no watcher wakes');

      // Registering again moves the key to a new lease and gives the old one back.
      assert.equal((await store.create(signal)).kind, 'ok');
      assert.notEqual(store.lease, lease);
      assert.equal(await leaseTtl(lease), -1, 'the replaced lease is revoked');
      const second = store.lease as string;

      assert.equal((await store.remove(signal)).kind, 'ok');
      assert.equal(await read(key), undefined);
      assert.equal(await leaseTtl(second), -1, 'removal revokes the lease');
      assert.deepEqual(await store.remove(signal), { kind: 'missing' });
    } finally {
      await store.close();
    }
  });

  test('the store: a lost lease and a foreign value are reported, and a foreign key is never deleted', async () => {
    const key = '/services/web/lost';
    const store = new EtcdV3RegistrationStore(new EtcdV3Client({ endpoints: [etcd.url] }), { key, value: VALUE, ttlSeconds: 30 });
    try {
      assert.equal((await store.create(signal)).kind, 'ok');
      await etcdctl3(etcd.url, ['lease', 'revoke', BigInt(store.lease as string).toString(16)]);
      assert.equal(await read(key), undefined, 'the key went with its lease');
      assert.deepEqual(await store.refresh(signal), { kind: 'missing' });

      assert.equal((await store.create(signal)).kind, 'ok');
      await etcdctl3(etcd.url, ['put', key, 'someone else']);
      assert.deepEqual(await store.refresh(signal), { kind: 'foreign' });
      assert.deepEqual(await store.remove(signal), { kind: 'foreign' });
      assert.equal((await read(key))?.value, 'someone else');
    } finally {
      await store.close();
    }
  });

  test('the store: no member answering is "unavailable"', async () => {
    const store = new EtcdV3RegistrationStore(new EtcdV3Client({ endpoints: [`http://127.0.0.1:${await freePort()}`] }), { key: '/x', value: 'y', ttlSeconds: 5 });
    try {
      const outcome = await store.create(signal);
      assert.equal(outcome.kind, 'unavailable');
    } finally {
      await store.close();
    }
  });

  test('cairn register keeps the lease alive, re-registers when the lease is revoked, and deletes the key on SIGTERM', async (t) => {
    const key = '/services/web/process';
    const reg = startRegister(['--backend', 'etcdv3', '--endpoints', etcd.url, '--key', key, '--value', VALUE, '--ttl', '2']);
    t.after(() => reg.kill('SIGKILL'));
    const first = await waitFor(() => read(key), { what: 'the key registered' });
    assert.equal(first.value, VALUE);
    // Four keep-alives at ttl/3 span more than the TTL: the key is still on its first lease, never written again.
    const renewed = await renewals();
    await waitFor(async () => (await renewals()) >= renewed + 4, { what: 'four keep-alives', intervalMs: 100 });
    assert.deepEqual(await read(key), first);

    await etcdctl3(etcd.url, ['lease', 'revoke', BigInt(first.lease).toString(16)]);
    const again = await waitFor(async () => {
      const now = await read(key);
      return now !== undefined && now.lease !== first.lease ? now : undefined;
    }, { what: 'the key back on a new lease' });
    assert.equal(again.value, VALUE);
    await reg.waitForEvent('key-missing');
    await reg.waitForEvent('re-registered');

    assert.equal(await reg.stop('SIGTERM'), 0, reg.output());
    assert.equal(await read(key), undefined);
    assert.equal(await leaseTtl(again.lease), -1);
    assert.deepEqual(reg.events(), ['registered', 'key-missing', 're-registered', 'removed']);
  });

  test('after kill -9 the key goes with its lease', async (t) => {
    const key = '/services/web/kill9';
    const reg = startRegister(['--backend', 'etcdv3', '--endpoints', etcd.url, '--key', key, '--value', VALUE, '--ttl', '2']);
    t.after(() => reg.kill('SIGKILL'));
    await waitFor(() => read(key), { what: 'the key registered' });
    assert.equal(await reg.stop('SIGKILL'), 'SIGKILL');
    await waitFor(async () => (await read(key)) === undefined, { what: 'the lease to expire', timeoutMs: 20_000 });
  });
});
