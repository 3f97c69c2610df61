/**
 * `cairn register` as a real process against real `cairn serve` processes on
 * loopback: the key lives exactly as long as the registration, survives store
 * restarts and endpoint failures, follows the health check, and its
 * refreshes stay invisible to watchers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { V2Client } from '../../src/client/v2-client.js';
import { startCairn, type CairnServer } from '../support/cairn.js';
import { freePort } from '../support/ports.js';
import { v2Get } from '../support/v2-probe.js';
import { waitFor } from '../support/wait.js';
import { readKey, startRegister, waitForGone, waitForValue } from './register-process.js';

const VALUE = '10.0.0.5:8080';

describe('cairn register against cairn serve', { concurrency: true }, () => {
  let cairn: CairnServer;

  before(async () => {
    cairn = await startCairn();
  });
  after(async () => {
    await cairn?.destroy();
  });

  test('the key exists while register runs and is gone as soon as SIGTERM is handled', async (t) => {
    const key = '/services/web/sigterm';
    const reg = startRegister(['--endpoints', cairn.url, '--key', key, '--value', VALUE, '--ttl', '30']);
    t.after(() => reg.kill('SIGKILL'));
    const node = await waitForValue(cairn.url, key, VALUE, reg);
    assert.equal(node.ttl !== undefined && node.ttl <= 30 && node.ttl > 0, true, `ttl ${node.ttl}`);
    assert.equal(await reg.stop('SIGTERM'), 0, reg.output());
    // Removed before exit: nothing is left for a 30 s TTL to explain.
    assert.equal(await readKey(cairn.url, key), undefined);
    assert.deepEqual(reg.events(), ['registered', 'removed']);
  });

  test('after kill -9 the key stays until its TTL runs out, then disappears', async (t) => {
    const key = '/services/web/kill9';
    // Settings from the environment, as a unit file's Environment= lines would give them.
    const reg = startRegister([], { CAIRN_ENDPOINTS: cairn.url, CAIRN_KEY: key, CAIRN_VALUE: VALUE, CAIRN_TTL: '2' });
    t.after(() => reg.kill('SIGKILL'));
    await waitForValue(cairn.url, key, VALUE, reg);
    assert.equal(await reg.stop('SIGKILL'), 'SIGKILL');
    assert.equal((await readKey(cairn.url, key))?.value, VALUE, 'nobody removed it: only the TTL can');
    await waitForGone(cairn.url, key, 2_000 + 15_000);
  });

  test('fails over from a dead first endpoint', async (t) => {
    const key = '/services/web/failover';
    const dead = `http://127.0.0.1:${await freePort()}`;
    const reg = startRegister(['--endpoints', `${dead},${cairn.url}`, '--key', key, '--value', VALUE, '--ttl', '30']);
    t.after(() => reg.kill('SIGKILL'));
    await waitForValue(cairn.url, key, VALUE, reg);
    assert.equal((await reg.waitForEvent('registered'))['endpoint'], cairn.url);
    assert.equal(await reg.stop('SIGINT'), 0, reg.output());
    assert.equal(await readKey(cairn.url, key), undefined);
  });

  test('when the store it uses dies, the key is written to the next endpoint', async (t) => {
    const key = '/services/web/failover-live';
    const first = await startCairn();
    t.after(() => first.destroy());
    const reg = startRegister(['--endpoints', `${first.url},${cairn.url}`, '--key', key, '--value', VALUE, '--ttl', '3']);
    t.after(() => reg.kill('SIGKILL'));
    await waitForValue(first.url, key, VALUE, reg);
    await first.stop();
    // The next refresh goes to the second store, which has never seen the key.
    await waitForValue(cairn.url, key, VALUE, reg);
    assert.equal((await reg.waitForEvent('re-registered'))['endpoint'], cairn.url);
    assert.equal(reg.events().includes('connection-lost'), false, 'an endpoint answered all along');
    assert.equal(await reg.stop('SIGTERM'), 0, reg.output());
    assert.equal(await readKey(cairn.url, key), undefined);
  });

  test('--check: a failing check removes the key, a passing one brings it back', async (t) => {
    const key = '/services/web/checked';
    const dir = mkdtempSync(join(tmpdir(), 'cairn-register-check-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const healthy = join(dir, 'healthy');
    writeFileSync(healthy, '');
    const reg = startRegister([
      '--endpoints', cairn.url, '--key', key, '--value', VALUE, '--ttl', '30',
      '--check', `test -f '${healthy}'`, '--check-interval', '0.2',
    ]);
    t.after(() => reg.kill('SIGKILL'));
    await waitForValue(cairn.url, key, VALUE, reg);
    rmSync(healthy);
    // Well before a 30 s TTL could explain it.
    await waitForGone(cairn.url, key, 15_000);
    writeFileSync(healthy, '');
    await waitForValue(cairn.url, key, VALUE, reg);
    assert.equal(await reg.stop('SIGTERM'), 0, reg.output());
    assert.equal(await readKey(cairn.url, key), undefined);
    assert.deepEqual(reg.events(), ['check-passing', 'registered', 'check-failing', 'deregistered', 'check-passing', 're-registered', 'removed']);
  });

  test('refreshes do not wake a watcher; the removal does', async (t) => {
    const key = '/services/web/watched';
    const reg = startRegister(['--endpoints', cairn.url, '--key', key, '--value', VALUE, '--ttl', '3']);
    t.after(() => reg.kill('SIGKILL'));
    const node = await waitForValue(cairn.url, key, VALUE, reg);
    const client = new V2Client({ endpoints: [cairn.url] });
    t.after(() => client.close());
    const watching = new AbortController();
    t.after(() => watching.abort());
    let settled = false;
    const watch = client.watch(key, { waitIndex: (node.modifiedIndex ?? 0) + 1, signal: watching.signal });
    void watch.then(() => (settled = true), () => (settled = true));
    // Two refreshes (one a second for a 3 s TTL) land after the watch began.
    await waitFor(async () => {
      const res = await v2Get(cairn.url, key);
      return (res.body.node?.modifiedIndex ?? 0) >= (node.modifiedIndex ?? 0) + 2;
    }, { what: 'two refreshes' });
    assert.equal(settled, false, 'a refresh woke the watcher');
    assert.equal(await reg.stop('SIGTERM'), 0, reg.output());
    const event = await watch;
    assert.equal(event.action, 'compareAndDelete');
    assert.equal(event.prevNode?.value, VALUE);
  });
});

test('the key comes back after the store restarts on the same data dir and port', async (t) => {
  const key = '/services/web/restart';
  const cairn = await startCairn();
  t.after(() => cairn.destroy());
  const reg = startRegister(['--endpoints', cairn.url, '--key', key, '--value', VALUE, '--ttl', '2', '--log-level', 'debug']);
  t.after(() => reg.kill('SIGKILL'));
  const before = await waitForValue(cairn.url, key, VALUE, reg);
  await cairn.stop();
  // Stay down past the key's deadline (its last refresh came before the outage was noticed),
  // so that the key must be written again, not just refreshed.
  const lostAt = Number((await reg.waitForEvent('connection-lost'))['time']);
  await waitFor(() => Date.now() > lostAt + 2_000 + 500, { what: 'the key deadline to pass', intervalMs: 100 });
  await cairn.restart();
  const after = await waitForValue(cairn.url, key, VALUE, reg);
  assert.ok((after.createdIndex ?? 0) > (before.createdIndex ?? 0), `re-created: ${JSON.stringify({ before, after })}`);
  assert.equal(await reg.stop('SIGTERM'), 0, reg.output());
  assert.equal(await readKey(cairn.url, key), undefined);
  const events = reg.events();
  const attempts = reg.output().split('\n').filter((l) => l.includes('"store operation failed"')).length;
  assert.ok(attempts >= 2, `several failed attempts (${attempts})`);
  assert.deepEqual(events.filter((e) => e === 'connection-lost'), ['connection-lost'], 'the outage is logged once');
  assert.deepEqual(events.filter((e) => e === 'connection-restored'), ['connection-restored']);
  assert.ok(events.includes('re-registered'), events.join(' '));
});

test('bad arguments exit with status 2 and say what is wrong', async () => {
  const reg = startRegister(['--value', VALUE, '--backend', 'etcd']);
  assert.equal(await reg.finished(), 2);
  assert.match(reg.output(), /cairn register: --key is required/);
  const unknown = startRegister(['--key', '/k', '--value', VALUE, '--backend', 'consul']);
  assert.equal(await unknown.finished(), 2);
  assert.match(unknown.output(), /backend must be one of etcd, etcdv3/);
});
