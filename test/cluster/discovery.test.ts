/**
 * Bootstrapping through etcd's v2 discovery protocol, with a Cairn and a
 * real etcd as the discovery service: three members that know only the
 * discovery URL find each other and form one cluster; a fourth finds the
 * cluster full and, as etcd's --discovery-fallback says, exits or proxies.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { V2Client } from '../../src/client/v2-client.js';
import { resolveServeConfig } from '../../src/config/serve-config.js';
import { CAIRN_MAIN, startCairn, waitForCairnReady } from '../support/cairn.js';
import { getJson, startCairnCluster, type CairnCluster } from '../support/cairn-cluster.js';
import { startEtcd } from '../support/etcd.js';
import { freePort } from '../support/ports.js';
import { startProcess, type ManagedProcess } from '../support/process.js';
import { skipUnless } from '../support/require-tool.js';
import { waitFor } from '../support/wait.js';

interface MemberJson {
  readonly id: string;
  readonly name: string;
  readonly peerURLs: string[];
  readonly clientURLs: string[];
}

async function setSize(serviceUrl: string, token: string, size: number): Promise<void> {
  const res = await fetch(`${serviceUrl}/v2/keys/_cairn/registry/${token}/_config/size`, { method: 'PUT', body: new URLSearchParams({ value: String(size) }) });
  assert.equal(res.status, 201, await res.text());
}

/** A `cairn serve --discovery` on fresh ports that is not expected to become a member. */
async function latecomer(root: string, name: string, discovery: string, extra: readonly string[]): Promise<{ proc: ManagedProcess; clientUrl: string }> {
  const [client, peer] = [await freePort(), await freePort()];
  const clientUrl = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const proc = startProcess(process.execPath, [
    CAIRN_MAIN, 'serve', '--name', name, '--data-dir', join(root, name),
    '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
    '--discovery', discovery, ...extra,
  ], { env: { ...process.env, CAIRN_LOG_LEVEL: 'warn' } });
  return { proc, clientUrl };
}

async function checkFormed(cluster: CairnCluster): Promise<void> {
  const leader = await cluster.leader();
  const members = await waitFor(async () => {
    const { body } = await getJson<{ members: MemberJson[] }>(`${leader.clientUrl}/v2/members`);
    return body.members.every((m) => m.name !== '') ? body.members : undefined;
  }, { what: 'every member to publish its name' });
  assert.deepEqual(
    members.map((m) => ({ name: m.name, peerURLs: m.peerURLs })).sort((a, b) => a.name.localeCompare(b.name)),
    cluster.members.map((m) => ({ name: m.name, peerURLs: [m.peerUrl] })),
  );
  const client = new V2Client({ endpoints: cluster.members.map((m) => m.clientUrl), requestTimeoutMs: 20_000 });
  try {
    await client.set('/formed', 'yes');
    for (const m of cluster.members) {
      const one = new V2Client({ endpoints: [m.clientUrl] });
      assert.equal((await one.get('/formed', { quorum: true })).node.value, 'yes');
      await one.close();
    }
  } finally {
    await client.close();
  }
}

describe('discovery and proxy settings', () => {
  test('named and defaulted as etcd names them; conflicting bootstrap flags are refused', () => {
    const url = 'https://disc.example/v2/keys/_cairn/registry/abc';
    const member = resolveServeConfig({ name: 'a', discovery: url, initialAdvertisePeerUrls: 'http://127.0.0.1:7001' }, {});
    assert.deepEqual(member.discovery, { url, fallback: 'proxy' });
    assert.equal(member.cluster, undefined);
    assert.equal(member.proxy.mode, 'off');
    assert.equal(member.strictReconfigCheck, true);
    assert.equal(resolveServeConfig({ discovery: url }, { CAIRN_DISCOVERY_FALLBACK: 'exit' }).discovery?.fallback, 'exit');
    assert.equal(resolveServeConfig({ strictReconfigCheck: 'false' }, {}).strictReconfigCheck, false);
    assert.throws(() => resolveServeConfig({ name: 'a', discovery: url, initialCluster: 'a=http://127.0.0.1:7001' }, {}), /choose one of "initial-cluster" or "discovery"/);
    assert.throws(() => resolveServeConfig({ discovery: 'https://disc.example/' }, {}), /names no token/);
    assert.throws(() => resolveServeConfig({ discovery: url, discoveryFallback: 'wait' }, {}), /discovery-fallback must be "exit" or "proxy"/);

    // A proxy needs a cluster, but no place in it: its --name may be anything.
    const proxy = resolveServeConfig({ name: 'edge', proxy: 'on', initialCluster: 'a=http://127.0.0.1:7001,b=http://127.0.0.1:7002' }, {});
    assert.equal(proxy.cluster, undefined);
    assert.deepEqual(proxy.proxy, {
      mode: 'on',
      peerUrls: ['http://127.0.0.1:7001', 'http://127.0.0.1:7002'],
      failureWaitMs: 5000,
      refreshIntervalMs: 30_000,
      dialTimeoutMs: 1000,
      readTimeoutMs: 0,
    });
    assert.throws(() => resolveServeConfig({ proxy: 'on' }, {}), /proxy needs the cluster to forward to/);
    assert.throws(() => resolveServeConfig({ proxy: 'maybe' }, {}), /proxy must be "off", "on" or "readonly"/);
  });
});

describe('--discovery bootstraps a cluster', { timeout: 180_000 }, () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  const root = mkdtempSync(join(tmpdir(), 'cairn-discovery-'));
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  test('with a Cairn as the discovery service; a fourth member exits (fallback exit) or proxies (default)', async () => {
    const service = await startCairn();
    cleanups.push(() => service.destroy());
    const token = 'tok-cairn';
    await setSize(service.url, token, 3);
    const discovery = `${service.url}/v2/keys/_cairn/registry/${token}`;
    const cluster = await startCairnCluster(3, { bootstrap: () => ['--discovery', discovery] });
    cleanups.push(() => cluster.destroy());
    await checkFormed(cluster);

    // Three registrations, in creation order, each "name=peer-url" under the member's id.
    const registry = await getJson<{ node: { nodes: { key: string; value: string }[] } }>(`${discovery}?sorted=true`);
    const values = registry.body.node.nodes.filter((n) => !n.key.endsWith('/_config')).map((n) => n.value).sort();
    assert.deepEqual(values, cluster.members.map((m) => `${m.name}=${m.peerUrl}`).sort());

    const full = await latecomer(root, 'late-exit', discovery, ['--discovery-fallback', 'exit']);
    cleanups.push(() => full.proc.kill('SIGKILL'));
    assert.equal(await full.proc.exited, 1);
    assert.match(full.proc.output(), /discovery: cluster is full/);

    const proxy = await latecomer(root, 'late-proxy', discovery, []);
    cleanups.push(() => proxy.proc.kill('SIGKILL'));
    await waitForCairnReady(proxy.proc, proxy.clientUrl);
    const viaProxy = new V2Client({ endpoints: [proxy.clientUrl], requestTimeoutMs: 20_000 });
    try {
      await viaProxy.set('/through/fallback-proxy', 'ok');
      assert.equal((await viaProxy.get('/formed')).node.value, 'yes');
    } finally {
      await viaProxy.close();
    }
    // The proxy is no member.
    const { body } = await getJson<{ members: MemberJson[] }>(`${proxy.clientUrl}/v2/members`);
    assert.equal(body.members.length, 3);
  });

  test('with a real etcd as the discovery service', { skip: skipUnless('etcd') }, async () => {
    const etcd = await startEtcd();
    cleanups.push(() => etcd.stop());
    const token = 'tok-etcd';
    await setSize(etcd.url, token, 3);
    const discovery = `${etcd.url}/v2/keys/_cairn/registry/${token}`;
    const cluster = await startCairnCluster(3, { bootstrap: () => ['--discovery', discovery] });
    cleanups.push(() => cluster.destroy());
    await checkFormed(cluster);
  });

  test('a discovery URL without a size key is refused as etcd refuses it', async () => {
    const service = await startCairn();
    cleanups.push(() => service.destroy());
    const lone = await latecomer(root, 'no-size', `${service.url}/v2/keys/_cairn/registry/nothing-here`, []);
    cleanups.push(() => lone.proc.kill('SIGKILL'));
    assert.equal(await lone.proc.exited, 1);
    assert.match(lone.proc.output(), /discovery: size key not found/);
  });
});
