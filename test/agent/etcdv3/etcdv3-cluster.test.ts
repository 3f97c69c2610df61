/**
 * `cairn agent --watch --backend etcdv3` against a real 3-member etcd 3.4
 * cluster: the member carrying its watch dies and it keeps rendering
 * through the other two; the history it would resume from is compacted
 * while it is frozen and cut off, and it lists afresh and renders the
 * latest value.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Change } from '../../../src/agent/backend/backend.js';
import { EtcdV3Backend } from '../../../src/agent/backend/etcd-v3.js';
import { EtcdV3Client } from '../../../src/client/etcd-v3-client.js';
import { makeWorkspace, startAgent, type RunningAgent, type Workspace } from '../../support/agent.js';
import { startEtcdCluster, type EtcdCluster, type EtcdMember } from '../../support/etcd-cluster.js';
import { skipUnless } from '../../support/require-tool.js';
import { waitFor } from '../../support/wait.js';
import { currentRevision, etcdctl3 } from './etcdctl3.js';

describe('cairn agent --watch --backend etcdv3 against a 3-member etcd cluster', { skip: skipUnless('etcd') }, () => {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await startEtcdCluster({ size: 3 });
  });
  after(async () => {
    await cluster?.destroy();
  });

  // Each test stops its agent when it ends, so that the next one finds only its own watch streams.
  const watchingAgent = async (t: TestContext): Promise<{ ws: Workspace; agent: RunningAgent }> => {
    const ws = makeWorkspace();
    ws.template('v.hbs', '{{getv "/app/value" "unset"}}\n');
    ws.resource('v', '[template]\nsrc = "v.hbs"\ndest = "@OUT@/v.conf"\nkeys = ["/app"]\n');
    const agent = await startAgent(ws, ['--watch', '--backend', 'etcdv3', ...cluster.endpoints.flatMap((e) => ['--node', e])]);
    t.after(async () => {
      agent.process.child.kill('SIGCONT');
      await agent.stop();
      ws.remove();
    });
    return { ws, agent };
  };
  // Right after a member dies the cluster may be electing a leader, and etcdctl gives up after 5 s: try again.
  const put = (members: readonly EtcdMember[], value: string): Promise<string> =>
    waitFor(() => etcdctl3(members.map((m) => m.clientUrl), ['put', '/app/value', value]), { what: `put ${value}`, timeoutMs: 60_000 });
  /** The member carrying the agent's watch stream, once it has one. */
  const watched = (): Promise<EtcdMember> => waitFor(() => cluster.watchedMember(), { what: 'a member serving the agent\'s watch' });

  it('keeps rendering through the other two members when the one carrying its watch is killed', async (t) => {
    await put(cluster.members, 'one');
    const { ws, agent } = await watchingAgent(t);
    await waitFor(() => ws.read('v.conf') === 'one\n', { what: 'first render' });
    const victim = await watched();
    await victim.kill();
    const survivors = cluster.running();
    assert.equal(survivors.length, 2);
    try {
      await put(survivors, 'two');
      await waitFor(() => ws.read('v.conf') === 'two\n', { what: 'the change made after the member died', timeoutMs: 30_000 });
      await put(survivors, 'three');
      await waitFor(() => ws.read('v.conf') === 'three\n', { what: 'the next change' });
      const now = await watched();
      assert.ok(survivors.includes(now), 'the watch moved to a live member');
      assert.equal(agent.process.child.exitCode, null, 'the agent is still running');
    } finally {
      await victim.start();
    }
  });

  it('lists afresh when the revisions it would resume from were compacted while it was frozen and cut off', async (t) => {
    await put(cluster.members, 'first');
    const { ws, agent } = await watchingAgent(t);
    await waitFor(() => ws.read('v.conf') === 'first\n', { what: 'first render' });
    const victim = await watched();
    // Frozen, the agent notices nothing: its member dies, two changes land and are compacted away.
    agent.process.child.kill('SIGSTOP');
    try {
      await victim.kill();
      const survivors = cluster.running();
      await put(survivors, 'second');
      await put(survivors, 'third');
      const revision = await currentRevision(survivors.map((m) => m.clientUrl));
      await etcdctl3(survivors.map((m) => m.clientUrl), ['compaction', '--physical', String(revision)]);
    } finally {
      agent.process.child.kill('SIGCONT');
    }
    try {
      await waitFor(() => ws.read('v.conf') === 'third\n', { what: 'the latest value after the resync', timeoutMs: 30_000 });
      assert.match(agent.process.output(), /watch history gone; listing again/);
      assert.match(agent.process.output(), /revisions from \d+ are compacted/);
    } finally {
      await victim.start();
    }
  });

  it('moves its watch off a member that freezes with its connections open', async () => {
    // A frozen member never closes the stream; only the liveness probe (1 s here, 10 s by default) notices.
    const backend = new EtcdV3Backend(new EtcdV3Client({ endpoints: cluster.endpoints, requestTimeoutMs: 2_000 }), { livenessMs: 1_000 });
    const stop = new AbortController();
    const changes: Change[] = [];
    let frozen: EtcdMember | undefined;
    try {
      const listing = await backend.list('/frozen');
      const watching = (async () => {
        let next = listing.index + 1;
        while (!stop.signal.aborted) {
          try {
            for await (const change of backend.watch('/frozen', next, stop.signal)) {
              changes.push(change);
              next = change.index + 1;
            }
          } catch {
            // As the feed does: resume from the last index seen + 1.
          }
        }
      })();
      frozen = await watched();
      assert.equal(await cluster.watchedMember(cluster.members.filter((m) => m !== frozen)), undefined, 'this watch is the only one');
      frozen.signal('SIGSTOP');
      const others = cluster.members.filter((m) => m !== frozen);
      await waitFor(() => etcdctl3(others.map((m) => m.clientUrl), ['put', '/frozen/k', 'after the freeze']), { what: 'a write to the other two', timeoutMs: 60_000 });
      await waitFor(() => changes.some((c) => c.value === 'after the freeze'), { what: 'the change through another member', timeoutMs: 30_000 });
      assert.ok(others.includes((await watched()) as EtcdMember), 'the watch moved to a live member');
      stop.abort();
      await watching;
    } finally {
      stop.abort();
      frozen?.signal('SIGCONT');
      await backend.close();
    }
  });
});
