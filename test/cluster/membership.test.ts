/**
 * Runtime membership on real processes, driven by Debian's etcdctl (v2):
 * `member add` then a new member started with --initial-cluster-state
 * existing joins and catches up; `member update`; `member remove` of a
 * follower and of the leader (which hands leadership over first); a removed
 * member stops (exit 0, as etcd) and stays removed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { V2Client } from '../../src/client/v2-client.js';
import { getJson, startCairnCluster, type CairnCluster, type ClusterMember } from '../support/cairn-cluster.js';
import { runEtcdctl as runCtl, type CtlResult } from '../support/etcdctl.js';
import { skipUnless } from '../support/require-tool.js';
import { waitFor } from '../support/wait.js';

/** etcdctl with room for a loaded machine (its own defaults give up after a second or two). */
function runEtcdctl(url: string, args: readonly string[]): Promise<CtlResult> {
  return runCtl(url, ['--timeout', '20s', '--total-timeout', '30s', ...args]);
}

interface MemberJson {
  readonly id: string;
  readonly name: string;
  readonly peerURLs: string[];
  readonly clientURLs: string[];
}

async function membersOf(url: string): Promise<MemberJson[]> {
  return (await getJson<{ members: MemberJson[] }>(`${url}/v2/members`)).body.members;
}

async function request(url: string, method: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.status, text: await res.text() };
}

describe('runtime membership through /v2/members and etcdctl', { skip: skipUnless('etcdctl'), timeout: 180_000 }, () => {
  let cluster: CairnCluster;
  let client: V2Client;
  before(async () => {
    cluster = await startCairnCluster(3);
    client = new V2Client({ endpoints: cluster.members.map((m) => m.clientUrl), requestTimeoutMs: 20_000 });
  });
  after(async () => {
    await client?.close();
    await cluster?.destroy();
  });

  test('member add, then the new member joins with --initial-cluster-state existing and catches up', async () => {
    await client.set('/before/join', 'old');
    const [m1] = cluster.members as [ClusterMember];
    let joinFlags: readonly string[] = [];
    const m4 = await cluster.createMember('m4', () => joinFlags);

    const add = await runEtcdctl(m1.clientUrl, ['member', 'add', 'm4', m4.peerUrl]);
    assert.equal(add.code, 0, add.stderr);
    const printed = /^Added member named m4 with ID ([0-9a-f]+) to cluster\n\nETCD_NAME="m4"\nETCD_INITIAL_CLUSTER="([^"]+)"\nETCD_INITIAL_CLUSTER_STATE="existing"\n$/.exec(add.stdout);
    assert.ok(printed, add.stdout);
    const [, newId, initialCluster] = printed as unknown as [string, string, string];
    assert.deepEqual(initialCluster.split(',').sort(), [...cluster.members.map((m) => `${m.name}=${m.peerUrl}`)].sort());

    // Listed at once, unstarted (no name, no client URLs) on every member.
    for (const m of cluster.members.slice(0, 3)) {
      const listed = await waitFor(async () => (await membersOf(m.clientUrl)).find((x) => x.peerURLs[0] === m4.peerUrl), {
        what: `${m.name} to list the added member`,
      });
      assert.deepEqual({ name: listed.name, clientURLs: listed.clientURLs }, { name: '', clientURLs: [] });
      assert.equal(listed.id.replace(/^0+/, ''), newId);
    }
    const unstarted = await runEtcdctl(m1.clientUrl, ['member', 'list']);
    assert.match(unstarted.stdout, new RegExp(`^${newId}\\[unstarted\\]: peerURLs=${m4.peerUrl}$`, 'm'));

    joinFlags = ['--initial-cluster', initialCluster, '--initial-cluster-state', 'existing', '--initial-cluster-token', cluster.token];
    await m4.start();
    const own = new V2Client({ endpoints: [m4.clientUrl], requestTimeoutMs: 20_000 });
    try {
      await waitFor(async () => (await own.get('/before/join')).node.value === 'old', { what: 'the joined member to have the old data' });
      await own.set('/after/join', 'new');
      assert.equal((await client.get('/after/join', { quorum: true })).node.value, 'new');
    } finally {
      await own.close();
    }
    const listed = await waitFor(async () => {
      const out = await runEtcdctl(m1.clientUrl, ['member', 'list']);
      return out.stdout.includes(`name=m4 peerURLs=${m4.peerUrl} clientURLs=${m4.clientUrl}`) ? out : undefined;
    }, { what: 'm4 to publish its name and client URL' });
    assert.equal(listed.stdout.trim().split('\n').length, 4);
  });

  test('member update changes peer URLs; conflicts and unknown ids answer as etcd', async () => {
    const [m1, m2] = cluster.members as [ClusterMember, ClusterMember];
    const m2Id = (await membersOf(m1.clientUrl)).find((x) => x.name === 'm2')?.id as string;
    const same = await runEtcdctl(m1.clientUrl, ['member', 'update', m2Id, m2.peerUrl]);
    assert.deepEqual(same, { stdout: `Updated member with ID ${m2Id} in cluster\n`, stderr: '', code: 0 });
    const conflict = await request(`${m1.clientUrl}/v2/members/${m2Id}`, 'PUT', { peerURLs: [m1.peerUrl] });
    assert.deepEqual(conflict, { status: 409, text: '{"message":"membership: peerURL exists"}' });
    const unknown = await request(`${m1.clientUrl}/v2/members/00000000000000ab`, 'PUT', { peerURLs: ['http://127.0.0.1:1'] });
    assert.deepEqual(unknown, { status: 404, text: '{"message":"No such member: ab"}' });
    // The cluster still works with the rewritten (identical) URL.
    await client.set('/after/update', 'ok');
  });

  test('two adds at once: the core takes one change at a time, and both are applied one after the other', async () => {
    const leader = await cluster.leader();
    const follower = cluster.members.find((m) => m.running && m !== leader) as ClusterMember;
    const urls = ['http://127.0.0.1:1', 'http://127.0.0.1:2'];
    const answers = await Promise.all(urls.map((u) => request(`${follower.clientUrl}/v2/members`, 'POST', { peerURLs: [u] })));
    for (const a of answers) assert.equal(a.status, 201, a.text);
    const added = answers.map((a) => JSON.parse(a.text) as MemberJson);
    assert.notEqual(added[0]?.id, added[1]?.id);
    const listed = await membersOf(leader.clientUrl);
    for (const m of added) assert.ok(listed.some((x) => x.id === m.id));
    // Never started: take them out again (a down member may always go).
    for (const m of added) assert.equal((await request(`${follower.clientUrl}/v2/members/${m.id}`, 'DELETE')).status, 204);
    await client.set('/after/concurrent', 'ok');
  });

  test('member remove of a follower: it stops with etcd\'s words and exit 0, and its id is never reused', async () => {
    const leader = await cluster.leader();
    const victim = cluster.members.find((m) => m.running && m !== leader && m.name !== 'm4') as ClusterMember;
    const asker = cluster.members.find((m) => m.running && m !== victim) as ClusterMember;
    const victimId = (await membersOf(asker.clientUrl)).find((x) => x.name === victim.name)?.id as string;

    const removed = await runEtcdctl(asker.clientUrl, ['member', 'remove', victimId]);
    assert.deepEqual(removed, { stdout: `Removed member ${victimId} from cluster\n`, stderr: '', code: 0 });
    assert.equal(await (victim.process as NonNullable<ClusterMember['process']>).exited, 0);
    assert.match(victim.output(), /the member has been permanently removed from the cluster/);
    assert.match(victim.output(), /the data-dir used by this member must be removed/);

    assert.deepEqual(await request(`${asker.clientUrl}/v2/members/${victimId}`, 'DELETE'), {
      status: 410,
      text: `{"message":"Member permanently removed: ${victimId}"}`,
    });
    // Restarted on its old data dir, it learns from its peers that it was removed, and stops again.
    await victim.start({ waitReady: false });
    assert.equal(await (victim.process as NonNullable<ClusterMember['process']>).exited, 0);

    // The same peer URL may come back, but under a new id; then take it out again.
    const again = await request(`${asker.clientUrl}/v2/members`, 'POST', { peerURLs: [victim.peerUrl] });
    assert.equal(again.status, 201, again.text);
    const readded = JSON.parse(again.text) as MemberJson;
    assert.notEqual(readded.id, victimId);
    assert.deepEqual({ ...readded, id: '' }, { id: '', name: '', peerURLs: [victim.peerUrl], clientURLs: [] });
    assert.equal((await request(`${asker.clientUrl}/v2/members/${readded.id}`, 'DELETE')).status, 204);
    await client.set('/after/remove', 'ok');
  });

  test('member remove of the leader hands leadership over; the old leader stops', async () => {
    const leader = await cluster.leader();
    const asker = cluster.members.find((m) => m.running && m !== leader) as ClusterMember;
    const leaderId = (await membersOf(asker.clientUrl)).find((x) => x.name === leader.name)?.id as string;
    const removed = await runEtcdctl(asker.clientUrl, ['member', 'remove', leaderId]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(await (leader.process as NonNullable<ClusterMember['process']>).exited, 0);
    const next = await cluster.leader();
    assert.notEqual(next, leader);
    const rest = new V2Client({ endpoints: cluster.running().map((m) => m.clientUrl), requestTimeoutMs: 20_000 });
    try {
      await rest.set('/after/leader-removal', 'ok');
      assert.equal((await rest.get('/after/leader-removal', { quorum: true })).node.value, 'ok');
    } finally {
      await rest.close();
    }
    const listed = await membersOf(next.clientUrl);
    assert.deepEqual(listed.map((m) => m.name).sort(), cluster.running().map((m) => m.name).sort());
  });
});
