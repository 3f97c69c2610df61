/**
 * kill -9 the leader of a three-member cluster while writers hammer every
 * member: a new leader takes over, no acknowledged write is lost, and the
 * killed member, restarted after many more writes than the leader keeps in
 * its log, catches up through a snapshot.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { V2Client } from '../../src/client/v2-client.js';
import { startCairnCluster, type CairnCluster, type ClusterMember } from '../support/cairn-cluster.js';
import { ClusterWriters } from '../support/cluster-writers.js';
import { waitFor } from '../support/wait.js';

const SNAPSHOT_COUNT = 100;

/** Every key under `dir` with its value, read through `url` (quorum: after everything acknowledged so far). */
async function readAll(url: string, dir: string): Promise<Map<string, string>> {
  const client = new V2Client({ endpoints: [url], requestTimeoutMs: 30_000 });
  try {
    const res = await client.get(dir, { recursive: true, quorum: true });
    return new Map((res.node.nodes ?? []).map((n) => [n.key ?? '', n.value ?? '']));
  } finally {
    await client.close();
  }
}

function assertHasAll(where: string, found: Map<string, string>, acked: Map<string, string>): void {
  const missing = [...acked].filter(([key, value]) => found.get(key) !== value);
  assert.deepEqual(missing.slice(0, 10), [], `${where} lost ${missing.length} of ${acked.size} acknowledged writes`);
}

describe('leader failure in a three-member cluster', () => {
  let cluster: CairnCluster;
  let killed: ClusterMember;
  let acked: Map<string, string>;

  before(async () => {
    cluster = await startCairnCluster(3, { snapshotCount: SNAPSHOT_COUNT });
  });

  after(async () => {
    await cluster?.destroy();
  });

  test('kill -9 the leader: a new leader serves writes and no acknowledged write is lost', async (t) => {
    const leader = await cluster.leader();
    const writers = new ClusterWriters('/failover');
    for (const m of cluster.members) {
      writers.add(m.clientUrl);
      writers.add(m.clientUrl);
    }
    try {
      await waitFor(() => writers.progress.every((n) => n >= 10), { what: 'every writer to get acknowledgements' });
      const killedAt = Date.now();
      await leader.kill();
      killed = leader;
      const ackedAtKill = writers.acked.size;

      const survivors = cluster.members.filter((m) => m !== leader);
      // A client's view of the failover: fresh writes, each given a second (a write caught
      // in flight to the dead leader waits out the server's request timeout, as with etcd).
      const probe = new V2Client({ endpoints: survivors.map((m) => m.clientUrl), requestTimeoutMs: 1_000 });
      try {
        let attempt = 0;
        await waitFor(async () => (await probe.set(`/failover-probe/${attempt++}`, 'x')).action === 'set', {
          what: 'a write after the kill',
          timeoutMs: 60_000,
        });
      } finally {
        await probe.close();
      }
      t.diagnostic(`a new leader acknowledged a write ${Date.now() - killedAt} ms after kill -9 of the old one`);
      const newLeader = await cluster.leader(60_000);
      assert.notEqual(newLeader.name, leader.name);
      // Writers on the survivors go on; wait until they made real progress under the new leader.
      const before = writers.progress.slice();
      await waitFor(
        () => writers.progress.every((n, i) => cluster.members[Math.floor(i / 2)] === leader || n >= (before[i] as number) + 20),
        { what: 'writes through the survivors after the failover', timeoutMs: 60_000 },
      );
      assert.ok(writers.acked.size > ackedAtKill);
      await writers.stop();
      acked = writers.acked;
      for (const m of survivors) assertHasAll(m.name, await readAll(m.clientUrl, '/failover'), acked);
    } finally {
      await writers.stop();
    }
  });

  test('the killed member, restarted after many writes, catches up by snapshot', async () => {
    assert.ok(killed !== undefined, 'the previous test killed the leader');
    const survivor = cluster.running()[0] as ClusterMember;
    const client = new V2Client({ endpoints: [survivor.clientUrl], requestTimeoutMs: 30_000 });
    try {
      // Far more than the leader keeps behind its snapshots (snapshot-count entries).
      const batch: Promise<unknown>[] = [];
      for (let i = 0; i < 6 * SNAPSHOT_COUNT; i++) {
        const key = `/catchup/k${i}`;
        batch.push(client.set(key, `v${i}`).then(() => acked.set(key, `v${i}`)));
        if (batch.length === 50) await Promise.all(batch.splice(0));
      }
      await Promise.all(batch);
    } finally {
      await client.close();
    }
    await killed.start({ logLevel: 'info' });
    const wanted = new Map([...acked].filter(([k]) => k.startsWith('/catchup/')));
    await waitFor(
      async () => {
        const found = await readAll(killed.clientUrl, '/catchup');
        return [...wanted].every(([k, v]) => found.get(k) === v);
      },
      { what: `${killed.name} to catch up`, timeoutMs: 60_000 },
    );
    assert.match(killed.output(), /state restored from the leader snapshot/, 'caught up through a snapshot, not the log');
    assertHasAll(killed.name, await readAll(killed.clientUrl, '/failover'), new Map([...acked].filter(([k]) => k.startsWith('/failover/'))));
    // Back as a full member: it takes writes again, and they reach everyone.
    const back = new V2Client({ endpoints: [killed.clientUrl], requestTimeoutMs: 30_000 });
    try {
      await back.set('/catchup/back', 'yes');
    } finally {
      await back.close();
    }
    for (const m of cluster.members) {
      const found = await readAll(m.clientUrl, '/catchup');
      assert.equal(found.get('/catchup/back'), 'yes', m.name);
    }
  });

  test('the whole cluster stops cleanly and restarts from its data dirs', async () => {
    // SIGTERM one at a time, the leader first: it hands leadership over and exits 0.
    const leader = await cluster.leader();
    assert.equal(await leader.stop(), 0);
    for (const m of cluster.running()) assert.equal(await m.stop(), 0);
    await Promise.all(cluster.members.map((m) => m.start({ waitReady: false })));
    await cluster.leader(60_000);
    for (const m of cluster.members) {
      const found = new Map([...(await readAll(m.clientUrl, '/catchup')), ...(await readAll(m.clientUrl, '/failover'))]);
      assertHasAll(`${m.name} after the restart`, found, acked);
    }
    const client = new V2Client({ endpoints: [(cluster.members[0] as ClusterMember).clientUrl], requestTimeoutMs: 30_000 });
    try {
      assert.equal((await client.set('/restarted', 'yes')).action, 'set');
    } finally {
      await client.close();
    }
  });
});
