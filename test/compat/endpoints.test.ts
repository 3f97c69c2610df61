import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCompatServers, type CompatServers } from '../support/compat-servers.js';
import type { DiffTarget } from '../support/http-diff.js';
import { sendRaw } from '../support/raw-http.js';
import { skipUnless } from '../support/require-tool.js';
import { get, put } from '../support/v2-steps.js';

/*
 * Everything around the keys API: /version, /health, members, stats, the
 * legacy /v2/machines, unknown paths (404), wrong methods (405 + Allow),
 * CORS, and how Go's HTTP server treats paths it cannot route.
 */
describe('v2 endpoints: etcd vs cairn', { skip: skipUnless('etcd'), timeout: 120_000 }, () => {
  let servers: CompatServers;
  before(async () => {
    servers = await startCompatServers();
  });
  after(async () => {
    await servers?.stop();
  });

  test('version, health, members and stats have etcd shape', async () => {
    const s = servers.session('shapes');
    await s.begin();
    await s.send({ path: '/version', compare: 'shape' }, { status: 200 });
    await s.send({ path: '/health' }, { status: 200 });
    await s.send({ path: '/v2/members', compare: 'shape' }, { status: 200 });
    await s.send({ path: '/v2/members/', compare: 'shape' }, { status: 200 });
    await s.send({ path: '/v2/stats/self', compare: 'shape' }, { status: 200 });
    await s.send({ path: '/v2/stats/store', compare: 'shape' }, { status: 200 });
    await s.send({ path: '/v2/stats/leader', compare: 'shape' }, { status: 200 });
    await s.send({ path: '/v2/members/0123456789abcdef', compare: 'shape' }, {});
    s.assertClean();
  });

  test('each server describes itself consistently: member id, name, URL, leader', async () => {
    const check = async (t: DiffTarget, name: string): Promise<void> => {
      const members = JSON.parse((await sendRaw(t.url, { method: 'GET', path: '/v2/members' })).text) as {
        members: { id: string; name: string; clientURLs: string[]; peerURLs: string[] }[];
      };
      assert.equal(members.members.length, 1, `${t.name}: one member`);
      const me = members.members[0];
      assert.ok(me !== undefined);
      assert.match(me.id, /^[0-9a-f]{1,16}$/, `${t.name}: member id is hex`);
      assert.equal(me.name, name, `${t.name}: member name`);
      assert.deepEqual(me.clientURLs, [t.url], `${t.name}: clientURLs`);
      const self = JSON.parse((await sendRaw(t.url, { method: 'GET', path: '/v2/stats/self' })).text) as {
        name: string; id: string; state: string; leaderInfo: { leader: string };
      };
      assert.equal(self.id, me.id, `${t.name}: stats/self id`);
      assert.equal(self.name, name, `${t.name}: stats/self name`);
      assert.equal(self.state, 'StateLeader', `${t.name}: a lone member leads`);
      assert.equal(self.leaderInfo.leader, me.id, `${t.name}: leaderInfo.leader`);
      const leader = JSON.parse((await sendRaw(t.url, { method: 'GET', path: '/v2/stats/leader' })).text) as { leader: string };
      assert.equal(leader.leader, me.id, `${t.name}: stats/leader`);
      // go-etcd and other old clients discover endpoints through /v2/machines
      const machines = await sendRaw(t.url, { method: 'GET', path: '/v2/machines' });
      assert.equal(machines.status, 200, `${t.name}: /v2/machines`);
      assert.equal(machines.text, t.url, `${t.name}: /v2/machines lists the client URL`);
      const version = JSON.parse((await sendRaw(t.url, { method: 'GET', path: '/version' })).text) as Record<string, string>;
      assert.match(version['etcdserver'] ?? '', /^3\.4\.\d+$/, `${t.name}: etcdserver version`);
      assert.equal(version['etcdcluster'], '3.4.0', `${t.name}: etcdcluster version`);
    };
    await check(servers.ref, 'ref');
    // startEtcd names its member 'ref', startCairn names its node 'test'
    await check(servers.cand, servers.cairn === undefined ? 'ref' : 'test');
  });

  test('stats/store counters move the same way for the same requests', async () => {
    const p = `/${servers.prefix('stats')}`;
    type Counters = Record<string, number>;
    const read = async (t: DiffTarget): Promise<Counters> =>
      JSON.parse((await sendRaw(t.url, { method: 'GET', path: '/v2/stats/store' })).text) as Counters;
    const [ref0, cand0] = await Promise.all([read(servers.ref), read(servers.cand)]);
    const s = servers.session('stats');
    await s.begin();
    await s.send(put(`${p}/a`, { value: '1' }), { status: 201 });
    await s.send(put(`${p}/a?prevExist=false`, { value: '1' }), { status: 412 });
    await s.send(put(`${p}/a?prevExist=true`, { value: '2' }), { status: 200 });
    await s.send(put(`${p}/a?prevValue=2`, { value: '3' }), { status: 200 });
    await s.send(put(`${p}/a?prevValue=9`, { value: '3' }), { status: 412 });
    await s.send(get(`${p}/a`), { status: 200 });
    await s.send(get(`${p}/missing`), { status: 404 });
    await s.send({ method: 'POST', path: `/v2/keys${p}/q`, form: { value: 'j' } }, { status: 201 });
    await s.send({ method: 'DELETE', path: `/v2/keys${p}/a?prevValue=9` }, { status: 412 });
    await s.send({ method: 'DELETE', path: `/v2/keys${p}/a?prevValue=3` }, { status: 200 });
    await s.send({ method: 'DELETE', path: `/v2/keys${p}/a` }, { status: 404 });
    const watch = s.start(get(`${p}/w?wait=true`));
    await watch.ready;
    const [ref1, cand1] = await Promise.all([read(servers.ref), read(servers.cand)]);
    s.abort(watch);
    s.assertClean();
    // Left out, as observed on etcd 3.4.23: getsFail grows by more than the
    // failed GETs a client sent (14 for the one above), and a compare-and-delete
    // whose compare failed is counted as compareAndDeleteSuccess.
    const skipped = new Set(['getsFail', 'compareAndDeleteSuccess', 'compareAndDeleteFail']);
    const deltas = (a: Counters, b: Counters): Counters =>
      Object.fromEntries(Object.keys(b).filter((k) => !skipped.has(k))
        .map((k) => [k, k === 'watchers' ? (b[k] ?? 0) : (b[k] ?? 0) - (a[k] ?? 0)]));
    assert.deepEqual(deltas(cand0, cand1), deltas(ref0, ref1), 'stats/store deltas (cand vs etcd), watchers absolute');
  });

  test('unknown paths answer 404 with Go\'s text', async () => {
    const s = servers.session('404');
    await s.begin();
    for (const path of ['/', '/v2', '/v2/', '/v2/nothing', '/v2/stats', '/v2/stats/', '/v2/stats/nope', '/version/', '/health/',
      '/v2/keysx', '/v1/keys/a', '/V2/keys/a', '/v2/admin/config', '/favicon.ico']) {
      await s.send({ path }, {});
    }
    await s.send({ method: 'PUT', path: '/v2/nothing', form: { value: 'x' } }, { status: 404 });
    await s.send({ method: 'DELETE', path: '/nope' }, { status: 404 });
    s.assertClean();
  });

  test('405 with an Allow header for methods an endpoint does not take', async () => {
    const s = servers.session('405');
    await s.begin();
    // Only methods Node's HTTP parser knows: Cairn cannot see others (see fuzz.test.ts).
    for (const method of ['PATCH', 'TRACE', 'PROPFIND', 'MKCOL', 'COPY', 'PURGE', 'LOCK']) {
      await s.send({ method, path: '/v2/keys/a' }, { status: 405 });
    }
    await s.send({ method: 'POST', path: '/version' }, {});
    await s.send({ method: 'PUT', path: '/health' }, {});
    await s.send({ method: 'DELETE', path: '/v2/stats/self' }, {});
    await s.send({ method: 'POST', path: '/v2/stats/store' }, {});
    await s.send({ method: 'PUT', path: '/v2/stats/leader' }, {});
    await s.send({ method: 'POST', path: '/v2/machines' }, {});
    await s.send({ method: 'PATCH', path: '/v2/members' }, {});
    await s.send({ method: 'HEAD', path: '/version' }, {});
    await s.send({ method: 'HEAD', path: '/health' }, {});
    await s.send({ method: 'HEAD', path: '/v2/members' }, {});
    await s.send({ method: 'HEAD', path: '/v2/machines' }, {});
    s.assertClean();
  });

  test('CORS: headers on every answer, and preflight OPTIONS', async () => {
    const s = servers.session('cors');
    await s.begin();
    const origin = { Origin: 'http://example.com' };
    await s.send({ method: 'OPTIONS', path: '/v2/keys/a', headers: { ...origin, 'Access-Control-Request-Method': 'PUT' } }, { status: 200 });
    await s.send({ method: 'OPTIONS', path: '/v2/keys/' }, { status: 200 });
    await s.send({ method: 'OPTIONS', path: '/version', headers: origin }, {});
    await s.send({ method: 'OPTIONS', path: '/v2/members', headers: origin }, {});
    await s.send({ method: 'OPTIONS', path: '/nope', headers: origin }, {});
    await s.send({ method: 'GET', path: '/v2/keys/', headers: origin }, { status: 200 });
    await s.send({ method: 'GET', path: '/v2/keys/cors-missing', headers: origin }, { status: 404 });
    await s.send({ method: 'GET', path: '/health', headers: origin }, { status: 200 });
    s.assertClean();
  });

  test('paths Go cleans or rejects before routing: redirects and bad escapes', async () => {
    const s = servers.session('paths');
    await s.begin();
    for (const path of ['/v2/keys/a/../b', '/v2/keys/./a', '/v2/keys//a', '/v2//keys/a', '/v2/keys/a/..', '/v2/keys/..',
      '/version/../health', '//version', '/v2/keys/a/%2e%2e/b', '/v2/keys/a?x=1&y=/../', '/v2/keys/../../etc/passwd',
      // the redirect target must be re-escaped (non-ASCII, %2F) and the HTML body escaped (&)
      '/v2/keys//%E6%97%A5', '/v2/keys/%D0%BA/../%D0%BB?a=1&b=2', '/v2/keys/x/./y?recursive=true&sorted=true', '/v2/keys/%2F/a',
      '/v2/keys/a%20b/../c%3Fd', '/v2/keys/a/..?q=<script>']) {
      await s.send({ path }, {});
      await s.send({ method: 'PUT', path, form: { value: 'x' } }, {});
      await s.send({ method: 'HEAD', path }, {});
    }
    for (const path of ['/v2/keys/a%zz', '/v2/keys/%', '/v2/keys/a%2', '/version%zz']) {
      await s.send({ path }, {});
    }
    s.assertClean();
  });
});
