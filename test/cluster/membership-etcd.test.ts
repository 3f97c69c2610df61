/**
 * /v2/members answers side by side with a real etcd 3.4: a one-member etcd
 * and a one-member Cairn cluster get the same requests, and must give the
 * same status, Content-Type and body. Only requests that leave a one-member
 * etcd working are sent (a successful add would cost it its quorum); the
 * successful paths are covered on a three-member Cairn in membership.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getJson, startCairnCluster, type CairnCluster } from '../support/cairn-cluster.js';
import { startEtcd, type EtcdServer } from '../support/etcd.js';
import { skipUnless } from '../support/require-tool.js';

interface Target {
  readonly name: string;
  readonly url: string;
  /** The member's own id, peer URL and name, substituted for {id}, {peer} and {name}. */
  readonly id: string;
  readonly peer: string;
  readonly member: string;
}

interface Case {
  readonly method: string;
  readonly path: string;
  readonly body?: string;
  readonly contentType?: string;
}

interface Answer {
  readonly status: number;
  readonly contentType: string | null;
  readonly clusterHeader: boolean;
  readonly allow: string | null;
  readonly body: string;
}

async function describeTarget(name: string, url: string): Promise<Target> {
  const { body } = await getJson<{ members: { id: string; name: string; peerURLs: string[] }[] }>(`${url}/v2/members`);
  const self = body.members[0] as { id: string; name: string; peerURLs: string[] };
  return { name, url, id: self.id, peer: self.peerURLs[0] as string, member: self.name };
}

async function ask(target: Target, c: Case): Promise<Answer> {
  const fill = (text: string): string => text.replaceAll('{id}', target.id).replaceAll('{peer}', target.peer);
  const res = await fetch(`${target.url}${fill(c.path)}`, {
    method: c.method,
    ...(c.body === undefined ? {} : { body: fill(c.body) }),
    headers: c.contentType === undefined ? {} : { 'content-type': c.contentType },
  });
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    clusterHeader: res.headers.has('x-etcd-cluster-id'),
    allow: res.headers.get('allow'),
    body: (await res.text())
      .replaceAll(target.id, '{id}')
      .replaceAll(target.peer, '{peer}')
      .replaceAll(target.url, '{client}')
      .replaceAll(`"name":"${target.member}"`, '"name":"{name}"'),
  };
}

const JSON_TYPE = 'application/json';

const CASES: readonly Case[] = [
  // POST: validation, then conflicts.
  { method: 'POST', path: '/v2/members', body: '{"peerURLs":["{peer}"]}', contentType: JSON_TYPE },
  { method: 'POST', path: '/v2/members', body: '{"PeerURLs":["{peer}"]}', contentType: JSON_TYPE },
  { method: 'POST', path: '/v2/members/{id}', body: '{"peerURLs":["{peer}"]}', contentType: JSON_TYPE },
  { method: 'POST', path: '/v2/members', body: '{"peerURLs":["{peer}/"]}', contentType: JSON_TYPE },
  { method: 'POST', path: '/v2/members', body: '{"peerURLs":["{peer}/x"]}', contentType: JSON_TYPE },
  { method: 'POST', path: '/v2/members', body: '{"peerURLs":["ftp://127.0.0.1:1"]}', contentType: JSON_TYPE },
  { method: 'POST', path: '/v2/members', body: '{"peerURLs":["http://127.0.0.1"]}', contentType: JSON_TYPE },
  { method: 'POST', path: '/v2/members', body: '{"peerURLs":["not a url"]}', contentType: JSON_TYPE },
  { method: 'POST', path: '/v2/members', body: '{"peerURLs":[]}', contentType: JSON_TYPE },
  { method: 'POST', path: '/v2/members', body: '{}', contentType: JSON_TYPE },
  { method: 'POST', path: '/v2/members', body: 'null', contentType: JSON_TYPE },
  { method: 'POST', path: '/v2/members', body: '', contentType: JSON_TYPE },
  { method: 'POST', path: '/v2/members', body: '{bad', contentType: JSON_TYPE },
  { method: 'POST', path: '/v2/members', body: '[]', contentType: JSON_TYPE },
  { method: 'POST', path: '/v2/members', body: '{"peerURLs":"x"}', contentType: 'application/json; charset=utf-8' },
  { method: 'POST', path: '/v2/members', body: '{"peerURLs":[1]}', contentType: JSON_TYPE },
  { method: 'POST', path: '/v2/members', body: '{"peerURLs":["http://127.0.0.1:9"]}', contentType: 'application/x-www-form-urlencoded' },
  { method: 'POST', path: '/v2/members', body: '{"peerURLs":["http://127.0.0.1:9"]}' },
  // DELETE: ids.
  { method: 'DELETE', path: '/v2/members/0000000000000abc' },
  { method: 'DELETE', path: '/v2/members/ABC' },
  { method: 'DELETE', path: '/v2/members/zzz' },
  { method: 'DELETE', path: '/v2/members/10000000000000000' },
  { method: 'DELETE', path: '/v2/members' },
  { method: 'DELETE', path: '/v2/members/' },
  // The only member may not go (not enough started members would be left).
  { method: 'DELETE', path: '/v2/members/{id}' },
  // PUT.
  { method: 'PUT', path: '/v2/members/0000000000000abc', body: '{"peerURLs":["http://127.0.0.1:9"]}', contentType: JSON_TYPE },
  { method: 'PUT', path: '/v2/members/{id}', body: '{"peerURLs":["{peer}"]}', contentType: JSON_TYPE },
  { method: 'PUT', path: '/v2/members/{id}', body: '{bad', contentType: JSON_TYPE },
  { method: 'PUT', path: '/v2/members/{id}', body: '{"peerURLs":["{peer}"]}', contentType: 'text/plain' },
  { method: 'PUT', path: '/v2/members', body: '{"peerURLs":["{peer}"]}', contentType: JSON_TYPE },
  // GET and others.
  { method: 'GET', path: '/v2/members/{id}' },
  { method: 'GET', path: '/v2/members/leader' },
  { method: 'PATCH', path: '/v2/members' },
  { method: 'PATCH', path: '/v2/members/{id}' },
];

describe('/v2/members writes: Cairn answers as etcd 3.4 does', { skip: skipUnless('etcd'), timeout: 120_000 }, () => {
  let etcd: EtcdServer;
  let cairn: CairnCluster;
  let targets: [Target, Target];
  before(async () => {
    [etcd, cairn] = await Promise.all([startEtcd(), startCairnCluster(1)]);
    targets = [await describeTarget('etcd', etcd.url), await describeTarget('cairn', (cairn.members[0] as { clientUrl: string }).clientUrl)];
  });
  after(async () => {
    await Promise.all([etcd?.stop(), cairn?.destroy()]);
  });

  test('same status, Content-Type, cluster header and body for every request', async () => {
    const diffs: string[] = [];
    for (const c of CASES) {
      const [want, got] = [await ask(targets[0], c), await ask(targets[1], c)];
      try {
        assert.deepEqual(got, want);
      } catch {
        diffs.push(`${c.method} ${c.path} ${c.body ?? ''} (${c.contentType ?? 'no type'}):\n  etcd:  ${JSON.stringify(want)}\n  cairn: ${JSON.stringify(got)}`);
      }
    }
    assert.deepEqual(diffs, [], diffs.join('\n'));
    // Both still serve after all that.
    for (const t of targets) assert.equal((await getJson<unknown>(`${t.url}/v2/members`)).status, 200);
  });
});
