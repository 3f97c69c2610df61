import { after, before, describe, test } from 'node:test';
import { startCompatServers, type CompatServers } from '../support/compat-servers.js';
import { skipUnless } from '../support/require-tool.js';
import { del, get, put } from '../support/v2-steps.js';

/*
 * The curl flows of the seed tutorials (/work/shared/seeds), with their own
 * key names, sent unchanged to real etcd and to Cairn. This file owns its
 * servers, so the tutorials' top-level keys (/message, /foo-service, ...)
 * are used as written.
 */
describe('seed tutorial curl flows: etcd vs cairn', { skip: skipUnless('etcd'), timeout: 120_000 }, () => {
  let servers: CompatServers;
  before(async () => {
    servers = await startCompatServers();
  });
  after(async () => {
    await servers?.stop();
  });

  test('root listing of an empty store, then of the tutorials keys (coreos getting started)', async () => {
    const s = servers.session('root listing');
    await s.begin();
    // `curl http://127.0.0.1:2379/v2/keys/` before anything was written.
    await s.send(get('/'), { status: 200, action: 'get' });
    await s.send(put('/coreos.com/network/config', { value: '{"Network":"10.1.0.0/16"}' }), { status: 201, action: 'set' });
    await s.send(get('/'), { status: 200 });
    // The trailing slash is optional for the root.
    await s.send({ method: 'GET', path: '/v2/keys' }, { status: 200 });
    await s.send(del('/coreos.com?recursive=true'), { status: 200, action: 'delete' });
    s.assertClean();
  });

  test('hidden directories like /_etcd/machines are readable but left out of listings (etcdctl tutorial)', async () => {
    const s = servers.session('hidden root');
    await s.begin();
    await s.send(put('/_etcd/machines/2ddbdb7c872b4bc59dd1969ac166501e', { value: 'raft=http://10.0.0.1:7001&etcd=http://10.0.0.1:4001' }), { status: 201 });
    await s.send(put('/_coreos.com/fleet/lease/engine-leader', { value: '{"semaphore":1,"max":1,"holders":null}' }), { status: 201 });
    await s.send(get('/'), { status: 200 });
    await s.send(get('/?recursive=true'), { status: 200 });
    await s.send(get('/_etcd/machines?recursive=true'), { status: 200 });
    await s.send(get('/_etcd/machines/2ddbdb7c872b4bc59dd1969ac166501e'), { status: 200 });
    await s.send(get('/_coreos.com?recursive=true&sorted=true'), { status: 200 });
    s.assertClean();
  });

  test('set, get, delete /message with curl (coreos getting started)', async () => {
    const s = servers.session('message');
    await s.begin();
    await s.send(put('/message', { value: 'Hello' }), { status: 201, action: 'set' });
    await s.send(get('/message'), { status: 200, action: 'get' });
    await s.send(del('/message'), { status: 200, action: 'delete' });
    await s.send(get('/message'), { status: 404, errorCode: 100 });
    s.assertClean();
  });

  test('message2 with curl -L: set over an existing key shows prevNode (getting started with etcd)', async () => {
    const s = servers.session('message2');
    await s.begin();
    await s.send(put('/message1', { value: 'Book1' }), { status: 201 });
    await s.send(put('/message2', { value: 'Book1' }), { status: 201 });
    await s.send(put('/message2', { value: 'Book2' }), { status: 200, action: 'set' });
    await s.send(get('/message2'), { status: 200 });
    await s.send(del('/message1'), { status: 200 });
    await s.send(del('/message2'), { status: 200 });
    // Keys put inside a directory create it implicitly.
    await s.send(put('/foo-directory/foo-key', { value: 'somekey' }), { status: 201 });
    await s.send(get('/foo-directory?recursive=true'), { status: 200 });
    await s.send(get('/foo-directory/foo-key'), { status: 200 });
    s.assertClean();
  });

  test('foo-service proxy example: mkdir, announce, list, recursive watch wakes on a new container', async () => {
    const s = servers.session('foo-service');
    await s.begin();
    await s.send(put('/foo-service?dir=true'), { status: 201, action: 'set' });
    // etcdctl mkdir asks with prevExist=false, so a second mkdir is refused with 105.
    await s.send(put('/foo-service?dir=true&prevExist=false'), { status: 412, errorCode: 105 });
    await s.send(put('/foo-service/container1', { value: 'localhost:1111' }), { status: 201, action: 'set' });
    await s.send(get('/foo-service'), { status: 200 });
    const watch = s.start(get('/foo-service?wait=true&recursive=true'));
    await watch.ready;
    await s.send(put('/foo-service/container2', { value: 'localhost:2222' }), { status: 201 });
    await s.finish(watch, { status: 200, action: 'set' });
    // exec-watch's loop: the next event after the one it saw, by waitIndex.
    const next = s.start((ctx) => get(`/foo-service?wait=true&recursive=true&waitIndex=${ctx.lastIndex + 1}`));
    await next.ready;
    await s.send(put('/foo-service/container3', { value: 'localhost:2222' }), { status: 201 });
    await s.finish(next, { status: 200, action: 'set' });
    s.assertClean();
  });

  test('test and set: prevValue swap succeeds, then fails with the cause', async () => {
    const s = servers.session('test-and-set');
    await s.begin();
    await s.send(put('/message', { value: 'Hello' }), { status: 201 });
    await s.send(put('/message?prevValue=Hello', { value: 'Hi' }), { status: 200, action: 'compareAndSwap' });
    await s.send(put('/message?prevValue=Hello', { value: 'Hi' }), { status: 412, errorCode: 101 });
    s.assertClean();
  });

  test('TTL: set /foo?ttl=20 shows expiration and ttl; a short TTL expires into error 100', async () => {
    const s = servers.session('ttl');
    await s.begin();
    await s.send(put('/foo?ttl=20', { value: 'bar' }), { status: 201 });
    await s.send(get('/foo'), { status: 200 });
    await s.send(put('/foo?ttl=1', { value: 'Expiring Soon' }), { status: 200 });
    await s.sendWhen(get('/foo'), (res) => res.status === 404, 'the TTL key /foo to expire', { status: 404, errorCode: 100 });
    s.assertClean();
  });

  test('svclocation (coreos continued): set, get, consistent recursive unsorted listing', async () => {
    const s = servers.session('svclocation');
    await s.begin();
    await s.send(put('/svclocation', { value: '10.1.1.20:80' }), { status: 201 });
    await s.send(get('/svclocation'), { status: 200 });
    await s.send(get('/?consistent=true&recursive=true&sorted=false'), { status: 200 });
    s.assertClean();
  });

  test('version, stats and 0.4-era admin endpoints from the etcdctl tutorial', async () => {
    const s = servers.session('tutorial endpoints');
    await s.begin();
    await s.send({ path: '/version', compare: 'shape' }, { status: 200 });
    await s.send({ path: '/v2/stats/leader', compare: 'shape' }, { status: 200 });
    await s.send({ path: '/v2/stats/self', compare: 'shape' }, { status: 200 });
    await s.send({ path: '/v2/stats/store', compare: 'shape' }, { status: 200 });
    // etcd 0.4's admin API is gone in 3.4; the tutorial's URLs now answer 404.
    await s.send({ path: '/v2/admin/config' }, { status: 404 });
    await s.send({ path: '/v2/admin/machines' }, { status: 404 });
    s.assertClean();
  });
});
