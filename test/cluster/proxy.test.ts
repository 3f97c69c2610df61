/**
 * `cairn serve --proxy on`: a member-less process that serves the client
 * API on a host and forwards to the cluster, as etcd v2's proxy did. A
 * real `cairn agent --watch` and a streaming watch go through it, writes go
 * through it, and when the member it was using is killed, both carry on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { V2Client } from '../../src/client/v2-client.js';
import { Director } from '../../src/proxy/director.js';
import { makeWorkspace, startAgent, type Workspace } from '../support/agent.js';
import { CAIRN_MAIN, waitForCairnReady } from '../support/cairn.js';
import { getJson, startCairnCluster, streamWatch, type CairnCluster, type ClusterMember, type SelfStatsJson } from '../support/cairn-cluster.js';
import { freePort } from '../support/ports.js';
import { startProcess, type ManagedProcess } from '../support/process.js';
import { waitFor } from '../support/wait.js';

describe('proxy endpoint director', () => {
  test('keeps its order, leaves a failed endpoint out for the failure wait, and keeps state across refreshes', () => {
    let now = 0;
    const d = new Director({ failureWaitMs: 5000, now: () => now, random: () => 0 });
    d.set(['http://a:1', 'http://b:1', 'http://c:1/']);
    const order = d.available();
    assert.equal(order.length, 3);
    assert.ok(order.includes('http://c:1'), 'a trailing slash is dropped');
    const first = order[0] as string;
    d.failed(first);
    assert.deepEqual(d.available(), order.slice(1));
    d.set([...order].reverse());
    assert.deepEqual(d.available(), order.slice(1), 'a refresh neither reorders nor forgives');
    now = 5000;
    assert.deepEqual(d.available(), order);
    d.set(['http://b:1', 'http://d:1']);
    assert.deepEqual(new Set(d.all()), new Set(['http://b:1', 'http://d:1']));
  });
});

describe('cairn serve --proxy on', { timeout: 180_000 }, () => {
  let cluster: CairnCluster;
  let proxy: { proc: ManagedProcess; url: string };
  let ws: Workspace;
  const root = mkdtempSync(join(tmpdir(), 'cairn-proxy-'));
  const cleanups: (() => Promise<unknown>)[] = [];

  const startProxy = async (initialCluster: string, extra: readonly string[] = []): Promise<{ proc: ManagedProcess; url: string }> => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const proc = startProcess(process.execPath, [
      CAIRN_MAIN, 'serve', '--proxy', 'on', '--data-dir', join(root, 'proxy'),
      '--listen-client-urls', url, '--initial-cluster', initialCluster,
      '--proxy-refresh-interval', '1000', ...extra,
    ], { env: { ...process.env, CAIRN_LOG_LEVEL: 'warn' } });
    cleanups.push(() => proc.kill('SIGKILL'));
    await waitForCairnReady(proc, url);
    return { proc, url };
  };

  before(async () => {
    cluster = await startCairnCluster(3);
    cleanups.push(() => cluster.destroy());
    proxy = await startProxy(cluster.members.map((m) => `${m.name}=${m.peerUrl}`).join(','));
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    ws?.remove();
    rmSync(root, { recursive: true, force: true });
  });

  test('an agent watch and a streaming watch through the proxy survive the death of the member it used', async () => {
    const client = new V2Client({ endpoints: [proxy.url], requestTimeoutMs: 20_000 });
    cleanups.push(() => client.close());
    await client.set('/app/value', 'one');

    ws = makeWorkspace();
    ws.template('v.hbs', '{{getv "/app/value" "unset"}}\n');
    ws.resource('v', '[template]\nsrc = "v.hbs"\ndest = "@OUT@/v.conf"\nkeys = ["/app"]\n');
    const agent = await startAgent(ws, ['--watch', '--backend', 'etcd', '--node', proxy.url], { CAIRN_LOG_LEVEL: 'warn' });
    cleanups.push(() => agent.stop());
    await waitFor(() => ws.read('v.conf') === 'one\n', { what: 'the agent to render through the proxy' });

    const stream = await streamWatch(proxy.url, '/app');
    cleanups.push(async () => stream.close());
    await client.set('/app/value', 'two');
    await waitFor(() => ws.read('v.conf') === 'two\n', { what: 'the agent to see a write made through the proxy' });
    await waitFor(() => stream.events.some((e) => e.node.value === 'two'), { what: 'the streaming watch to see it' });

    // The proxy answers /v2/stats/self with the stats of the member it forwards to.
    const { body: used } = await getJson<SelfStatsJson>(`${proxy.url}/v2/stats/self`);
    const victim = cluster.members.find((m) => m.name === used.name) as ClusterMember;
    assert.ok(victim !== undefined, `the proxy forwards to a member (${used.name})`);
    await victim.kill();

    await client.set('/app/value', 'three');
    await waitFor(() => ws.read('v.conf') === 'three\n', { what: 'the agent to re-watch through the proxy after the member died', timeoutMs: 30_000 });
    const { body: now } = await getJson<SelfStatsJson>(`${proxy.url}/v2/stats/self`);
    assert.notEqual(now.name, victim.name);
    // The stream ran through the dead member: it ends, and a new one through the proxy works.
    await waitFor(() => stream.ended, { what: 'the old stream to end' });
    const again = await streamWatch(proxy.url, '/app');
    cleanups.push(async () => again.close());
    await client.set('/app/value', 'four');
    await waitFor(() => again.events.some((e) => e.node.value === 'four'), { what: 'a new stream through the proxy' });
    await waitFor(() => ws.read('v.conf') === 'four\n', { what: 'the agent to keep following' });

    // Membership requests are forwarded too.
    const { body } = await getJson<{ members: { name: string }[] }>(`${proxy.url}/v2/members`);
    assert.deepEqual(body.members.map((m) => m.name).sort(), ['m1', 'm2', 'm3']);
    await victim.start();
  });

  test('a restarted proxy finds the cluster through the peer URLs it saved, whatever --initial-cluster says', async () => {
    assert.equal(await proxy.proc.kill('SIGTERM'), 0);
    const dead = `http://127.0.0.1:${await freePort()}`;
    proxy = await startProxy(`gone=${dead}`);
    const client = new V2Client({ endpoints: [proxy.url], requestTimeoutMs: 20_000 });
    try {
      assert.equal((await client.get('/app/value')).node.value, 'four');
    } finally {
      await client.close();
    }
  });

  test('--proxy readonly forwards reads only', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const proc = startProcess(process.execPath, [
      CAIRN_MAIN, 'serve', '--proxy', 'readonly', '--data-dir', join(root, 'readonly'),
      '--listen-client-urls', url, '--initial-cluster', cluster.members.map((m) => `${m.name}=${m.peerUrl}`).join(','),
    ], { env: { ...process.env, CAIRN_LOG_LEVEL: 'warn' } });
    cleanups.push(() => proc.kill('SIGKILL'));
    await waitForCairnReady(proc, url);
    const put = await fetch(`${url}/v2/keys/app/value`, { method: 'PUT', body: new URLSearchParams({ value: 'no' }) });
    assert.equal(put.status, 501);
    const got = (await (await fetch(`${url}/v2/keys/app/value`)).json()) as { node: { value: string } };
    assert.equal(got.node.value, 'four');
  });
});
