/**
 * Network partitions between real `cairn serve` processes, through per-link TCP proxies: the leader cut off
 * into a minority cannot commit (a write sent to it fails, and after healing is there once or not at all), the
 * majority elects a new leader and takes writes, and after healing every member holds the same keyspace.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { V2ApiError, V2Client, type V2Result } from '../../src/client/v2-client.js';
import { startFaultCluster, type FaultCluster, type FaultMember } from '../support/cluster-fault-cluster.js';
import { describeError, keyspaceImage, settle, waitForConvergence } from '../support/cluster-fault-checks.js';

function clientFor(member: FaultMember, timeoutMs = 30_000): V2Client {
  // One endpoint: a write that got no answer is never sent again elsewhere.
  return new V2Client({ endpoints: [member.clientUrl], requestTimeoutMs: timeoutMs });
}

async function withClient<T>(member: FaultMember, fn: (c: V2Client) => Promise<T>): Promise<T> {
  const client = clientFor(member);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** Values of the in-order children of `dir` as `member` has them, [] if there is no such directory. */
async function queueValues(member: FaultMember, dir: string): Promise<string[]> {
  return withClient(member, async (c) => {
    try {
      const res = await c.get(dir, { sorted: true });
      return (res.node.nodes ?? []).map((n) => n.value ?? '');
    } catch (err) {
      if (err instanceof V2ApiError && err.errorCode === 100) return [];
      throw err;
    }
  });
}

async function valueOf(member: FaultMember, key: string): Promise<string | undefined> {
  return withClient(member, async (c) => {
    try {
      return (await c.get(key)).node.value;
    } catch (err) {
      if (err instanceof V2ApiError && err.errorCode === 100) return undefined;
      throw err;
    }
  });
}

/**
 * Cuts `minorityCount` members, the leader among them, off from the rest and checks both sides; then heals.
 */
async function leaderInMinority(t: TestContext, size: number, minorityCount: number): Promise<void> {
  const cluster: FaultCluster = await startFaultCluster(size);
  try {
    const leader = await cluster.leader();
    await withClient(leader, (c) => c.set('/p/before', 'everyone'));
    await waitForConvergence(cluster.members);

    const followers = cluster.members.filter((m) => m !== leader);
    const minority = [leader, ...followers.slice(0, minorityCount - 1)];
    const majority = cluster.members.filter((m) => !minority.includes(m));
    const indexAtCut = new Map<string, number>();
    for (const m of minority) indexAtCut.set(m.name, (await keyspaceImage(m)).etcdIndex);

    cluster.net.partition([minority.map((m) => m.name), majority.map((m) => m.name)]);
    t.diagnostic(`partitioned: {${minority.map((m) => m.name).join(',')}} (old leader ${leader.name}) | {${majority.map((m) => m.name).join(',')}}`);

    // The minority is asked to write, to create an in-order key and to read with quorum; none may succeed.
    const minorityClients = minority.map((m) => clientFor(m));
    const attempts: { what: string; outcome: Promise<{ ok: boolean; value?: V2Result; error?: unknown }> }[] = [];
    minority.forEach((m, i) => {
      const c = minorityClients[i] as V2Client;
      attempts.push({ what: `PUT /p/minority-${m.name} via ${m.name}`, outcome: settle(c.set(`/p/minority-${m.name}`, `lost-${m.name}`)) });
      attempts.push({ what: `POST /p/queue via ${m.name}`, outcome: settle(c.createInOrder('/p/queue', `minority-${m.name}`)) });
      attempts.push({ what: `quorum GET /p/before via ${m.name}`, outcome: settle(c.get('/p/before', { quorum: true })) });
    });

    try {
      // Meanwhile the majority elects a leader of its own and serves writes through every member.
      const newLeader = await cluster.leader({ among: majority, timeoutMs: 30_000 });
      assert.ok(!minority.includes(newLeader), `the majority elected ${newLeader.name}`);
      for (const m of majority) {
        await withClient(m, async (c) => {
          await c.set(`/p/majority-${m.name}`, `kept-${m.name}`);
          await c.createInOrder('/p/queue', `majority-${m.name}`);
          assert.equal((await c.get('/p/before', { quorum: true })).node.value, 'everyone');
        });
      }
      t.diagnostic(`majority leader ${newLeader.name} took ${2 * majority.length} writes`);

      for (const a of attempts) {
        const outcome = await a.outcome;
        assert.equal(outcome.ok, false, `${a.what} succeeded on the minority side of a partition`);
        t.diagnostic(`${a.what}: ${describeError(outcome.error)}`);
      }
      // Nothing was applied on the minority side while it was cut off.
      for (const m of minority) {
        assert.equal((await keyspaceImage(m)).etcdIndex, indexAtCut.get(m.name), `${m.name}'s store moved while cut off`);
        assert.equal(await valueOf(m, `/p/majority-${(majority[0] as FaultMember).name}`), undefined);
      }
    } finally {
      await Promise.all(minorityClients.map((c) => c.close()));
    }

    cluster.net.heal();
    const healedLeader = await cluster.leader({ timeoutMs: 30_000 });
    t.diagnostic(`healed; leader ${healedLeader.name}`);
    // The old leader takes writes again once it follows the new one.
    await withClient(leader, (c) => c.set('/p/after', 'healed'));
    await waitForConvergence(cluster.members);

    for (const m of cluster.members) {
      for (const mm of majority) assert.equal(await valueOf(m, `/p/majority-${mm.name}`), `kept-${mm.name}`, m.name);
      assert.equal(await valueOf(m, '/p/after'), 'healed', m.name);
      const queue = await queueValues(m, '/p/queue');
      for (const mm of majority) assert.equal(queue.filter((v) => v === `majority-${mm.name}`).length, 1, `${m.name}: ${queue.join(',')}`);
      for (const mm of minority) {
        // A write that was never acknowledged may have happened at most once, never twice, never halfway.
        const lost = await valueOf(m, `/p/minority-${mm.name}`);
        assert.ok(lost === undefined || lost === `lost-${mm.name}`, `${m.name} has /p/minority-${mm.name}=${String(lost)}`);
        assert.ok(queue.filter((v) => v === `minority-${mm.name}`).length <= 1, `${m.name}: ${queue.join(',')}`);
      }
    }
  } catch (err) {
    for (const m of cluster.members) for (const line of m.output().slice(-3000).split('\n')) t.diagnostic(`${m.name}: ${line}`);
    throw err;
  } finally {
    await cluster.destroy();
  }
}

describe('partitions through per-link proxies', () => {
  test('3 members: the leader cut off alone cannot commit; the other two elect a leader and serve; all converge after healing', async (t) => {
    await leaderInMinority(t, 3, 1);
  });

  test('5 members: the leader and one follower cut off cannot commit; the other three elect a leader and serve; all converge', async (t) => {
    await leaderInMinority(t, 5, 2);
  });
});
