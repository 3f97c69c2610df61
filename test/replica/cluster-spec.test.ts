import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clusterIdFor, memberIdFor, parseInitialCluster } from '../../src/replica/cluster-spec.js';

describe('--initial-cluster', () => {
  // Recorded from a real etcd 3.4.23 cluster started with
  // --initial-cluster n1=http://127.0.0.1:33219,n2=http://127.0.0.1:34169,n3=http://127.0.0.1:35079
  // --initial-cluster-token tok (GET /v2/members and X-Etcd-Cluster-Id).
  const etcd = {
    cluster: 'abc7785963012557',
    members: { n1: '8f3dc249d2d98ed5', n2: '2904bbf170ea542b', n3: 'c7b36cafcfef754f' },
  };

  test('member and cluster ids are the ones etcd derives from the same flags', () => {
    const spec = parseInitialCluster('n1=http://127.0.0.1:33219,n2=http://127.0.0.1:34169,n3=http://127.0.0.1:35079', 'tok');
    assert.equal(spec.clusterId, etcd.cluster);
    assert.deepEqual(Object.fromEntries(spec.members.map((m) => [m.name, m.id])), etcd.members);
    assert.deepEqual(spec.members.map((m) => m.id), [...spec.members.map((m) => m.id)].sort(), 'sorted by id');
    assert.equal(memberIdFor(['http://127.0.0.1:33219'], 'tok'), etcd.members.n1);
    assert.equal(clusterIdFor(Object.values(etcd.members)), etcd.cluster);
  });

  test('the token separates clusters founded on the same URLs', () => {
    const a = parseInitialCluster('n1=http://127.0.0.1:1,n2=http://127.0.0.1:2', 'one');
    const b = parseInitialCluster('n1=http://127.0.0.1:1,n2=http://127.0.0.1:2', 'two');
    assert.notEqual(a.clusterId, b.clusterId);
    assert.notEqual(a.members[0]?.id, b.members[0]?.id);
  });

  test('a member may have several peer URLs; they are normalized and sorted', () => {
    const spec = parseInitialCluster(' n1=http://127.0.0.1:2/ , n1=http://127.0.0.1:1,n2=http://LOCALHOST:3', 't');
    const n1 = spec.members.find((m) => m.name === 'n1');
    assert.deepEqual(n1?.peerURLs, ['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    assert.deepEqual(spec.members.find((m) => m.name === 'n2')?.peerURLs, ['http://localhost:3']);
  });

  test('malformed lists are refused with the reason', () => {
    assert.throws(() => parseInitialCluster('', 't'), /names no member/);
    assert.throws(() => parseInitialCluster('n1', 't'), /is not name=url/);
    assert.throws(() => parseInitialCluster('n1=127.0.0.1:2380', 't'), /must be http or https|is not a URL/);
    assert.throws(() => parseInitialCluster('n1=http://127.0.0.1', 't'), /must name a port/);
    assert.throws(() => parseInitialCluster('n1=http://127.0.0.1:1/path', 't'), /must not contain a path/);
    assert.throws(() => parseInitialCluster('n1=http://127.0.0.1:1,n2=http://127.0.0.1:1', 't'), /given to both n1 and n2/);
  });
});
