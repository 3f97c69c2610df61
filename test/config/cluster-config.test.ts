import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { resolveServeConfig } from '../../src/config/serve-config.js';

const CLUSTER = 'a=http://127.0.0.1:7001,b=http://127.0.0.1:7002,c=http://127.0.0.1:7003';

describe('cairn serve cluster settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-cluster-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('without --initial-cluster the node stands alone, with etcd timing defaults', () => {
    const config = resolveServeConfig({}, {});
    assert.equal(config.cluster, undefined);
    assert.equal(config.heartbeatIntervalMs, 100);
    assert.equal(config.electionTimeoutMs, 1000);
    assert.equal(config.initialClusterToken, 'etcd-cluster');
    assert.deepEqual(config.listenPeerUrls, ['http://localhost:2380']);
  });

  test('flags, CAIRN_* variables and the YAML file name the cluster like etcd', () => {
    const flags = resolveServeConfig(
      { name: 'b', initialCluster: CLUSTER, initialAdvertisePeerUrls: 'http://127.0.0.1:7002', listenPeerUrls: 'http://127.0.0.1:7002' },
      {},
    );
    assert.deepEqual(flags.cluster?.spec.members.map((m) => m.name).sort(), ['a', 'b', 'c']);
    assert.equal(flags.cluster?.state, 'new');

    const env = resolveServeConfig({}, {
      CAIRN_NAME: 'c',
      CAIRN_INITIAL_CLUSTER: CLUSTER,
      CAIRN_INITIAL_ADVERTISE_PEER_URLS: 'http://127.0.0.1:7003',
      CAIRN_INITIAL_CLUSTER_TOKEN: 'prod',
      CAIRN_INITIAL_CLUSTER_STATE: 'existing',
      CAIRN_HEARTBEAT_INTERVAL: '50',
      CAIRN_ELECTION_TIMEOUT: '500',
    });
    assert.equal(env.cluster?.state, 'existing');
    assert.equal(env.cluster?.spec.token, 'prod');
    assert.equal(env.heartbeatIntervalMs, 50);
    assert.equal(env.electionTimeoutMs, 500);

    const file = join(dir, 'member.yaml');
    writeFileSync(
      file,
      ['name: a', `initial-cluster: ${CLUSTER}`, 'initial-advertise-peer-urls: http://127.0.0.1:7001', 'listen-peer-urls: http://0.0.0.0:7001', 'initial-cluster-token: t1'].join('\n'),
    );
    const fromFile = resolveServeConfig({ configFile: file }, {});
    assert.equal(fromFile.cluster?.spec.token, 't1');
    assert.deepEqual(fromFile.listenPeerUrls, ['http://0.0.0.0:7001']);
  });

  test('inconsistent cluster settings are refused, naming the setting', () => {
    assert.throws(() => resolveServeConfig({ name: 'z', initialCluster: CLUSTER }, {}), /no member named "z"/);
    assert.throws(
      () => resolveServeConfig({ name: 'a', initialCluster: CLUSTER, initialAdvertisePeerUrls: 'http://127.0.0.1:9999' }, {}),
      /gives a the peer URLs http:\/\/127.0.0.1:7001 but initial-advertise-peer-urls is http:\/\/127.0.0.1:9999/,
    );
    assert.throws(() => resolveServeConfig({ initialClusterState: 'joining' }, {}), /initial-cluster-state must be "new" or "existing"/);
    assert.throws(() => resolveServeConfig({ heartbeatInterval: '300', electionTimeout: '1000' }, {}), /at least 5 times heartbeat-interval/);
    assert.throws(() => resolveServeConfig({ name: 'a', initialCluster: 'a=http://x' }, {}), /initial-cluster: .*must name a port/);
  });
});
