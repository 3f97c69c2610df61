/**
 * A five-member cluster tolerates two failures: kill -9 the leader and a
 * follower while writers keep going, and the remaining three still elect a
 * leader, take writes through every survivor, and hold every acknowledged
 * write.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { V2Client } from '../../src/client/v2-client.js';
import { startCairnCluster, type CairnCluster } from '../support/cairn-cluster.js';
import { ClusterWriters } from '../support/cluster-writers.js';
import { waitFor } from '../support/wait.js';

describe('a five-member cluster', () => {
  let cluster: CairnCluster;

  before(async () => {
    cluster = await startCairnCluster(5);
  });

  after(async () => {
    await cluster?.destroy();
  });

  test('survives two kills with every acknowledged write intact', async (t) => {
    const writers = new ClusterWriters('/five');
    for (const m of cluster.members) writers.add(m.clientUrl);
    try {
      await waitFor(() => writers.progress.every((n) => n >= 10), { what: 'every writer to get acknowledgements' });
      const leader = await cluster.leader();
      const follower = cluster.members.find((m) => m !== leader) as (typeof cluster.members)[number];
      const killedAt = Date.now();
      await Promise.all([leader.kill(), follower.kill()]);
      const victims = new Set([leader, follower]);

      const newLeader = await cluster.leader(60_000);
      assert.ok(!victims.has(newLeader));
      const before = writers.progress.slice();
      await waitFor(
        () => writers.progress.every((n, i) => victims.has(cluster.members[i] as (typeof cluster.members)[number]) || n >= (before[i] as number) + 20),
        { what: 'writes through all three survivors', timeoutMs: 60_000 },
      );
      t.diagnostic(`survivors acknowledged 20 writes each within ${Date.now() - killedAt} ms of the kills`);
      await writers.stop();

      for (const m of cluster.running()) {
        const client = new V2Client({ endpoints: [m.clientUrl], requestTimeoutMs: 30_000 });
        try {
          const res = await client.get('/five', { recursive: true, quorum: true });
          const found = new Map((res.node.nodes ?? []).map((n) => [n.key ?? '', n.value ?? '']));
          const missing = [...writers.acked].filter(([k, v]) => found.get(k) !== v);
          assert.deepEqual(missing.slice(0, 10), [], `${m.name} lost ${missing.length} of ${writers.acked.size} acknowledged writes`);
        } finally {
          await client.close();
        }
      }
    } finally {
      await writers.stop();
    }
  });
});
