/**
 * Linearizability under faults: concurrent clients run quorum reads, writes, compare-and-swaps and deletes
 * against every member of a three-member cluster while a seeded schedule kills (-9) and restarts members,
 * cuts them off through per-link proxies and pauses them with SIGSTOP, the leader included. The recorded
 * history must be linearizable, and afterwards every member must hold the same keyspace.
 *
 * The seed is printed; CAIRN_FAULT_SEED=<seed> replays the same fault plan and client choices (timing still
 * varies). CAIRN_FAULT_MS sets how long faults strike (default 35 s).
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import { startFaultCluster, type FaultCluster } from '../support/cluster-fault-cluster.js';
import { waitForConvergence } from '../support/cluster-fault-checks.js';
import { describeFault, planFaults, restoreAll, runFaults } from '../support/cluster-fault-schedule.js';
import { startWorkload } from '../support/cluster-fault-workload.js';
import { checkLinearizability } from '../support/linearizability.js';

const SEED = process.env['CAIRN_FAULT_SEED'] === undefined ? randomInt(1, 2 ** 31) : Number(process.env['CAIRN_FAULT_SEED']);
const FAULT_MS = Number(process.env['CAIRN_FAULT_MS'] ?? 35_000);
// CAIRN_FAULT_MEMBERS, _CLIENTS and _SNAPSHOT_COUNT are for longer runs by hand; CI uses the defaults.
const MEMBERS = Number(process.env['CAIRN_FAULT_MEMBERS'] ?? 3);
const CLIENTS = Number(process.env['CAIRN_FAULT_CLIENTS'] ?? 9);
const SNAPSHOT_COUNT = Number(process.env['CAIRN_FAULT_SNAPSHOT_COUNT'] ?? 200);

test(`linearizable under kill -9, partitions and SIGSTOP (seed ${SEED})`, async (t) => {
  assert.ok(Number.isSafeInteger(SEED), `CAIRN_FAULT_SEED must be an integer, got ${process.env['CAIRN_FAULT_SEED']}`);
  t.diagnostic(`seed ${SEED}: replay with CAIRN_FAULT_SEED=${SEED} node scripts/test.mjs faults-linearizability`);
  const plan = planFaults(SEED, MEMBERS, FAULT_MS);
  // Frequent snapshots: members restarted after a kill or a partition catch up from a leader snapshot, and
  // log compaction runs while faults strike.
  const cluster: FaultCluster = await startFaultCluster(MEMBERS, { extraArgs: ['--snapshot-count', String(SNAPSHOT_COUNT)] });
  const why = (message: string): string => `seed ${SEED} (CAIRN_FAULT_SEED=${SEED} replays it): ${message}`;
  try {
    await cluster.leader();
    const workload = startWorkload({
      seed: SEED,
      endpoints: cluster.members.map((m) => m.clientUrl),
      clients: CLIENTS,
      slots: 4,
      opsPerKey: 150,
      // The server gives up on a request after 7 s (5 s + 2 election timeouts) with error 300.
      requestTimeoutMs: 10_000,
      prefix: '/lin',
    });
    const faultLog: string[] = [];
    try {
      await runFaults(cluster, plan, (line) => faultLog.push(line));
    } finally {
      await restoreAll(cluster).catch(() => undefined);
      await workload.stop();
    }
    for (const line of faultLog) t.diagnostic(`fault ${line}`);
    t.diagnostic(`planned: ${plan.map(describeFault).join('; ')}`);

    const tally = workload.tally();
    const counts = workload.recorder.counts();
    t.diagnostic(`operations: ${JSON.stringify(tally)}`);
    for (const sample of workload.errorSamples()) t.diagnostic(`error seen: ${sample}`);

    const history = workload.recorder.history();
    const result = checkLinearizability(history, { timeoutMs: 120_000 });
    t.diagnostic(result.message.split('\n')[0] ?? '');
    assert.equal(result.verdict, 'linearizable', why(result.message));

    // Not vacuous: plenty of operations completed, of every kind, with faults striking throughout.
    assert.ok(counts.ok >= 500, why(`only ${counts.ok} operations completed`));
    assert.ok(tally.read.ok >= 100 && tally.write.ok >= 100 && tally.cas.ok >= 20 && tally.delete.ok >= 10, why(`too few successes: ${JSON.stringify(tally)}`));
    assert.equal(faultLog.length, plan.length);

    // And the members agree on everything, down to each key's indexes.
    await waitForConvergence(cluster.members);
  } catch (err) {
    for (const m of cluster.members) for (const line of m.output().slice(-4000).split('\n')) t.diagnostic(`${m.name}: ${line}`);
    throw err;
  } finally {
    await cluster.destroy();
  }
});
