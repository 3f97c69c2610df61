/**
 * A real three-member cluster of `cairn serve` processes on loopback:
 * election, writes through any member, linearizable quorum reads, watches
 * on every member, TTL expiry decided once for everyone, and the cluster
 * endpoints (/v2/members, /v2/stats/*, /health).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { V2ApiError, V2Client } from '../../src/client/v2-client.js';
import { runEtcdctl } from '../support/etcdctl.js';
import { skipUnless } from '../support/require-tool.js';
import { getJson, startCairnCluster, streamWatch, type CairnCluster, type EventStream, type SelfStatsJson } from '../support/cairn-cluster.js';
import { waitFor } from '../support/wait.js';

interface MemberJson {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

describe('a three-member cluster', () => {
  let cluster: CairnCluster;
  let clients: V2Client[];

  before(async () => {
    cluster = await startCairnCluster(3);
    clients = cluster.members.map((m) => new V2Client({ endpoints: [m.clientUrl], requestTimeoutMs: 20_000 }));
  });

  after(async () => {
    await Promise.all((clients ?? []).map((c) => c.close()));
    await cluster?.destroy();
  });

  test('forms and elects exactly one leader that every member follows', async () => {
    const leader = await cluster.leader();
    const stats = await Promise.all(cluster.members.map((m) => getJson<SelfStatsJson>(`${m.clientUrl}/v2/stats/self`)));
    const states = stats.map((s) => s.body.state).sort();
    assert.deepEqual(states, ['StateFollower', 'StateFollower', 'StateLeader']);
    const leaderId = stats.find((s) => s.body.name === leader.name || s.body.state === 'StateLeader')?.body.id;
    for (const s of stats) assert.equal(s.body.leaderInfo.leader, leaderId);
  });

  test('/v2/members lists every member with its peer and client URLs, on every member', async () => {
    const expected = cluster.members.map((m) => ({ name: m.name, peerURLs: [m.peerUrl], clientURLs: [m.clientUrl] }));
    expected.sort((a, b) => a.name.localeCompare(b.name));
    for (const m of cluster.members) {
      // Names and client URLs arrive with each member's publish entry.
      const members = await waitFor(
        async () => {
          const { body } = await getJson<{ members: MemberJson[] }>(`${m.clientUrl}/v2/members`);
          return body.members.every((x) => x.name !== '') ? body.members : undefined;
        },
        { what: `${m.name} to list published members` },
      );
      assert.equal(members.length, 3);
      assert.deepEqual(
        members.map(({ name, peerURLs, clientURLs }) => ({ name, peerURLs, clientURLs })).sort((a, b) => a.name.localeCompare(b.name)),
        expected,
      );
      const ids = members.map((x) => x.id);
      assert.deepEqual(ids, [...ids].sort(), 'sorted by id, as etcd lists them');
      for (const id of ids) assert.match(id, /^[0-9a-f]{16}$/);
    }
    const leader = await cluster.leader();
    for (const m of cluster.members) {
      const { status, body } = await getJson<MemberJson>(`${m.clientUrl}/v2/members/leader`);
      assert.equal(status, 200);
      assert.equal(body.name, leader.name);
    }
  });

  test('a write through any member is readable on all of them', async () => {
    const writes = await Promise.all(clients.map((c, i) => c.set(`/any/from-${i}`, `value-${i}`)));
    for (const w of writes) assert.equal(w.action, 'set');
    for (const client of clients) {
      await waitFor(
        async () => {
          const res = await client.get('/any', { recursive: true, sorted: true });
          const values = (res.node.nodes ?? []).map((n) => n.value);
          return values.length === 3 && values.join(',') === 'value-0,value-1,value-2';
        },
        { what: `${client.currentEndpoint} to see all three writes` },
      );
    }
  });

  test('a quorum read on another member sees a write as soon as it is acknowledged', async () => {
    for (let round = 0; round < 20; round++) {
      const writer = clients[round % 3] as V2Client;
      const reader = clients[(round + 1) % 3] as V2Client;
      const ack = await writer.set('/linear/key', `v${round}`);
      // No polling: ReadIndex makes this read wait for the write to be applied on the reader.
      const read = await reader.get('/linear/key', { quorum: true });
      assert.equal(read.node.value, `v${round}`);
      assert.ok(read.etcdIndex >= ack.etcdIndex);
    }
  });

  test('failed compare-and-swaps fail on every member alike', async () => {
    const created = await clients[0]!.set('/cas/key', 'one');
    await assert.rejects(clients[1]!.set('/cas/key', 'two', { prevValue: 'nope' }), (err: unknown) => {
      assert.ok(err instanceof V2ApiError);
      assert.equal(err.errorCode, 101);
      return true;
    });
    const swapped = await clients[2]!.set('/cas/key', 'three', { prevIndex: created.node.modifiedIndex ?? 0 });
    assert.equal(swapped.prevNode?.value, 'one');
    for (const client of clients) {
      const res = await client.get('/cas/key', { quorum: true });
      assert.equal(res.node.value, 'three');
    }
  });

  test('watches on every member see every committed event, in index order', async () => {
    const streams: EventStream[] = await Promise.all(cluster.members.map((m) => streamWatch(m.clientUrl, '/watched')));
    try {
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 30; i++) {
        const client = clients[i % 3] as V2Client;
        ops.push(client.set(`/watched/k${i % 7}`, `v${i}`));
        if (i % 10 === 9) ops.push(client.delete(`/watched/k${i % 7}`).catch(() => undefined));
      }
      await Promise.all(ops);
      // Every acknowledged mutation, whatever member took it.
      const all = await clients[0]!.get('/watched', { recursive: true, quorum: true });
      const lastIndex = all.etcdIndex;
      await waitFor(() => streams.every((s) => (s.events.at(-1)?.node.modifiedIndex ?? 0) >= lastIndex), {
        what: 'every watcher to reach the last write',
      });
      const sequences = streams.map((s) => s.events.map((e) => `${e.node.modifiedIndex}:${e.action}:${e.node.key}:${e.node.value ?? ''}`));
      assert.ok((sequences[0] as string[]).length >= 30, `saw ${(sequences[0] as string[]).length} events`);
      assert.deepEqual(sequences[1], sequences[0]);
      assert.deepEqual(sequences[2], sequences[0]);
      const indexes = (streams[0] as EventStream).events.map((e) => e.node.modifiedIndex ?? 0);
      for (let i = 1; i < indexes.length; i++) assert.equal(indexes[i], (indexes[i - 1] as number) + 1, 'no gaps, no reordering');
    } finally {
      for (const s of streams) s.close();
    }
  });

  test('TTL keys expire at the same index on every member', async () => {
    const streams = await Promise.all(cluster.members.map((m) => streamWatch(m.clientUrl, '/ttl')));
    try {
      await Promise.all(clients.map((c, i) => c.set(`/ttl/key-${i}`, 'soon gone', { ttl: 1 })));
      await waitFor(() => streams.every((s) => s.events.filter((e) => e.action === 'expire').length === 3), {
        what: 'three expire events on every member',
        timeoutMs: 30_000,
      });
      const expiries = streams.map((s) =>
        s.events.filter((e) => e.action === 'expire').map((e) => `${e.node.key}@${e.node.modifiedIndex}`),
      );
      assert.deepEqual(expiries[1], expiries[0]);
      assert.deepEqual(expiries[2], expiries[0]);
      for (const client of clients) {
        await assert.rejects(client.get('/ttl/key-0'), (err: unknown) => err instanceof V2ApiError && err.errorCode === 100);
      }
    } finally {
      for (const s of streams) s.close();
    }
  });

  test('stats: the leader reports its followers, followers refuse /v2/stats/leader', async () => {
    const leader = await cluster.leader();
    await clients[0]!.set('/stats/poke', 'x');
    const { status, body } = await getJson<{ leader: string; followers: Record<string, { counts: { success: number; fail: number }; latency: { current: number } }> }>(
      `${leader.clientUrl}/v2/stats/leader`,
    );
    assert.equal(status, 200);
    const self = await getJson<SelfStatsJson>(`${leader.clientUrl}/v2/stats/self`);
    assert.equal(body.leader, self.body.id);
    const followers = Object.values(body.followers);
    assert.equal(followers.length, 2);
    for (const f of followers) assert.ok(f.counts.success > 0);
    for (const m of cluster.members.filter((x) => x !== leader)) {
      const res = await getJson<{ message: string }>(`${m.clientUrl}/v2/stats/leader`);
      assert.equal(res.status, 403);
      assert.deepEqual(res.body, { message: 'not current leader' });
    }
  });

  test('etcdctl (v2) lists the members, finds the leader and reports a healthy cluster', { skip: skipUnless('etcdctl') }, async () => {
    const leader = await cluster.leader();
    const endpoints = cluster.members.map((m) => m.clientUrl).join(',');
    const list = await runEtcdctl(endpoints, ['member', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    for (const m of cluster.members) {
      const line = lines.find((l) => l.includes(`name=${m.name} `));
      assert.ok(line !== undefined, `${m.name} listed: ${list.stdout}`);
      assert.match(line, new RegExp(`peerURLs=${m.peerUrl} clientURLs=${m.clientUrl} isLeader=${m === leader}`));
    }
    const health = await runEtcdctl(endpoints, ['cluster-health']);
    assert.equal(health.code, 0, health.stderr);
    assert.equal(health.stdout.match(/is healthy: got healthy result/g)?.length, 3);
    assert.match(health.stdout, /cluster is healthy/);
  });

  test('responses carry the Raft index and term of the answering member', async () => {
    const res = await clients[1]!.set('/raft/headers', 'x');
    assert.ok((res.raftIndex ?? 0) > 1);
    assert.ok((res.raftTerm ?? 0) >= 2, 'the first leader is elected in term 2 (term 1 is the founding snapshot)');
  });
});
