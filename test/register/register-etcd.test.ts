/**
 * The same `cairn register` command against a real etcd 3.4 with the v2 API:
 * registration, refreshes that do not wake watchers, removal on SIGTERM,
 * expiry after kill -9.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { V2Client } from '../../src/client/v2-client.js';
import { startEtcd, type EtcdServer } from '../support/etcd.js';
import { skipUnless } from '../support/require-tool.js';
import { v2Delete, v2Get } from '../support/v2-probe.js';
import { waitFor } from '../support/wait.js';
import { readKey, startRegister, waitForGone, waitForValue } from './register-process.js';
import { startTlsEtcd, tlsClient, TLS_FILES as files } from './tls-etcd.js';

const VALUE = '10.0.0.5:8080';

describe('cairn register against etcd 3.4 (v2 API)', { concurrency: true, skip: skipUnless('etcd') }, () => {
  let etcd: EtcdServer;

  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  test('registers, refreshes without waking a watcher, and removes the key on SIGTERM', async (t) => {
    const key = '/services/web/etcd';
    const reg = startRegister(['--endpoints', etcd.url, '--key', key, '--value', VALUE, '--ttl', '3']);
    t.after(() => reg.kill('SIGKILL'));
    const node = await waitForValue(etcd.url, key, VALUE, reg);
    assert.equal(node.ttl !== undefined && node.ttl <= 3 && node.ttl > 0, true, `ttl ${node.ttl}`);

    const client = new V2Client({ endpoints: [etcd.url] });
    t.after(() => client.close());
    const watching = new AbortController();
    t.after(() => watching.abort());
    let settled = false;
    const watch = client.watch(key, { waitIndex: (node.modifiedIndex ?? 0) + 1, signal: watching.signal });
    void watch.then(() => (settled = true), () => (settled = true));
    await waitFor(async () => {
      const res = await v2Get(etcd.url, key);
      return (res.body.node?.modifiedIndex ?? 0) >= (node.modifiedIndex ?? 0) + 2;
    }, { what: 'two refreshes' });
    assert.equal(settled, false, 'a refresh woke the watcher');

    assert.equal(await reg.stop('SIGTERM'), 0, reg.output());
    assert.equal(await readKey(etcd.url, key), undefined);
    const event = await watch;
    assert.equal(event.action, 'compareAndDelete');
    assert.deepEqual(reg.events(), ['registered', 'removed']);
  });

  test('a key deleted by someone else is written again; after kill -9 it expires with its TTL', async (t) => {
    const key = '/services/web/etcd-kill9';
    const reg = startRegister(['--endpoints', etcd.url, '--key', key, '--value', VALUE, '--ttl', '2']);
    t.after(() => reg.kill('SIGKILL'));
    const first = await waitForValue(etcd.url, key, VALUE, reg);
    assert.equal((await v2Delete(etcd.url, key)).status, 200);
    await waitFor(async () => ((await readKey(etcd.url, key))?.createdIndex ?? 0) > (first.createdIndex ?? 0), { what: 'the key written again' });
    await reg.waitForEvent('key-missing');
    await reg.waitForEvent('re-registered');
    assert.equal(await reg.stop('SIGKILL'), 'SIGKILL');
    assert.equal((await readKey(etcd.url, key))?.value, VALUE);
    await waitForGone(etcd.url, key, 2_000 + 15_000);
  });

  test('TLS: --ca-file, --cert-file and --key-file reach an etcd that requires client certificates', async (t) => {
    const secure = await startTlsEtcd();
    t.after(() => secure.stop());
    const client = tlsClient(secure.url);
    t.after(() => client.close());
    const key = '/services/web/tls';

    const noCert = startRegister(['--endpoints', secure.url, '--key', key, '--value', VALUE, '--ttl', '30', '--ca-file', files.ca]);
    t.after(() => noCert.kill('SIGKILL'));
    await noCert.waitForEvent('connection-lost');
    await noCert.stop('SIGKILL');

    const reg = startRegister([
      '--endpoints', secure.url, '--key', key, '--value', VALUE, '--ttl', '30',
      '--ca-file', files.ca, '--cert-file', files.clientCert, '--key-file', files.clientKey,
    ]);
    t.after(() => reg.kill('SIGKILL'));
    await waitFor(async () => {
      if (reg.child.exitCode !== null) throw new Error(reg.output());
      return (await client.get(key).catch(() => undefined))?.node.value === VALUE;
    }, { what: 'the key over TLS' });
    assert.equal(await reg.stop('SIGTERM'), 0, reg.output());
    await assert.rejects(client.get(key), { errorCode: 100 });
  });
});
