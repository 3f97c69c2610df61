import { after, before, describe, test } from 'node:test';
import { startCompatServers, type CompatServers } from '../support/compat-servers.js';
import { skipUnless } from '../support/require-tool.js';
import { del, get, head, post, put } from '../support/v2-steps.js';

/*
 * The v2 keys API, request by request, against real etcd and Cairn: keys and
 * directories, the 1xx errors, conditional writes, TTLs, in-order keys,
 * hidden keys, HEAD and noValueOnSuccess. Each test works under its own
 * prefix, so the servers are shared by the whole file.
 */
describe('v2 keys API: etcd vs cairn', { skip: skipUnless('etcd'), timeout: 120_000 }, () => {
  let servers: CompatServers;
  let p: string;
  before(async () => {
    servers = await startCompatServers();
  });
  after(async () => {
    await servers?.stop();
  });
  const session = async (name: string) => {
    p = `/${servers.prefix(name)}`;
    const s = servers.session(name);
    await s.begin();
    return s;
  };

  test('implicit directories, listings, recursive and sorted', async () => {
    const s = await session('dirs');
    await s.send(put(`${p}/a/b/c`, { value: '1' }), { status: 201, action: 'set' });
    await s.send(put(`${p}/a/b2`, { value: '2' }), { status: 201 });
    await s.send(put(`${p}/z`, { value: 'last' }), { status: 201 });
    await s.send(put(`${p}/m`, { value: 'middle' }), { status: 201 });
    await s.send(put(`${p}/b/x`, { value: 'bx' }), { status: 201 });
    // Without recursive, child directories are listed without their nodes.
    await s.send(get(p), { status: 200, action: 'get' });
    await s.send(get(`${p}/a`), { status: 200 });
    await s.send(get(`${p}/a/b`), { status: 200 });
    await s.send(get(`${p}?recursive=true`), { status: 200 });
    await s.send(get(`${p}?sorted=true`), { status: 200 });
    await s.send(get(`${p}?recursive=true&sorted=true`), { status: 200 });
    await s.send(get(`${p}/`), { status: 200 });
    await s.send(get(`${p}/a/b/c`), { status: 200 });
    // A path through a key, and a missing key below a missing directory.
    await s.send(get(`${p}/a/b/c/d`), { status: 400, errorCode: 104 });
    await s.send(get(`${p}/nope/deeper`), { status: 404, errorCode: 100 });
    // Go's strconv.ParseBool spellings are all accepted by etcd.
    await s.send(get(`${p}?recursive=1&sorted=t`), { status: 200 });
    await s.send(get(`${p}?recursive=TRUE&sorted=True`), { status: 200 });
    await s.send(get(`${p}?recursive=F&sorted=0`), { status: 200 });
    s.assertClean();
  });

  test('dir=true, and the errors 102, 104, 105 around keys and directories', async () => {
    const s = await session('mkdir');
    await s.send(put(`${p}/d?dir=true`), { status: 201, action: 'set' });
    await s.send(get(`${p}/d`), { status: 200 });
    // set on an existing directory, with and without dir=true
    await s.send(put(`${p}/d?dir=true`), { status: 403, errorCode: 102 });
    await s.send(put(`${p}/d`, { value: 'x' }), { status: 403, errorCode: 102 });
    await s.send(put(`${p}/d/k`, { value: 'v' }), { status: 201 });
    // a key under a key
    await s.send(put(`${p}/d/k/sub`, { value: 'x' }), { status: 400, errorCode: 104 });
    await s.send(post(`${p}/d/k`, { value: 'x' }), { status: 400, errorCode: 104 });
    await s.send(put(`${p}/d/k/sub?dir=true`), { status: 400, errorCode: 104 });
    // mkdir (prevExist=false) over a key and over a directory
    await s.send(put(`${p}/d/k?dir=true&prevExist=false`), { status: 412, errorCode: 105 });
    await s.send(put(`${p}/d?dir=true&prevExist=false`), { status: 412, errorCode: 105 });
    await s.send(put(`${p}/d/k?prevExist=false`, { value: 'again' }), { status: 412, errorCode: 105 });
    // a plain set with dir=true replaces a key with a directory
    await s.send(put(`${p}/d/k?dir=true`), { status: 200, action: 'set' });
    await s.send(get(`${p}/d?recursive=true`), { status: 200 });
    // dir=true with a value: the value is dropped
    await s.send(put(`${p}/d2?dir=true`, { value: 'ignored?' }), { status: 201 });
    await s.send(get(`${p}/d2`), { status: 200 });
    // etcdctl mkdir = dir=true&prevExist=false: a create
    await s.send(put(`${p}/made/by/mkdir?dir=true&prevExist=false`), { status: 201, action: 'create' });
    // etcdctl setdir = set dir=true on a missing path creates the parents too
    await s.send(put(`${p}/x/y/z?dir=true`), { status: 201 });
    await s.send(get(`${p}/x?recursive=true`), { status: 200 });
    s.assertClean();
  });

  test('the root is read only (107), and writes addressed at it', async () => {
    const s = await session('root');
    await s.send({ method: 'DELETE', path: '/v2/keys/' }, { status: 400, errorCode: 107 });
    await s.send({ method: 'DELETE', path: '/v2/keys/?recursive=true' }, { status: 400, errorCode: 107 });
    await s.send({ method: 'DELETE', path: '/v2/keys/?dir=true' }, { status: 400, errorCode: 107 });
    await s.send({ method: 'DELETE', path: '/v2/keys' }, { status: 400, errorCode: 107 });
    await s.send({ method: 'PUT', path: '/v2/keys/', form: { value: 'x' } }, { status: 400, errorCode: 107 });
    await s.send({ method: 'PUT', path: '/v2/keys/?dir=true' }, { status: 400, errorCode: 107 });
    await s.send({ method: 'PUT', path: '/v2/keys/?prevValue=a', form: { value: 'x' } }, {});
    await s.send({ method: 'DELETE', path: '/v2/keys/?prevValue=a' }, {});
    s.assertClean();
  });

  test('delete: keys, dir=true on empty and non-empty directories (108), recursive, missing (100)', async () => {
    const s = await session('delete');
    await s.send(put(`${p}/k`, { value: 'v' }), { status: 201 });
    await s.send(put(`${p}/full/a`, { value: '1' }), { status: 201 });
    await s.send(put(`${p}/full/sub/b`, { value: '2' }), { status: 201 });
    await s.send(put(`${p}/empty?dir=true`), { status: 201 });
    await s.send(del(`${p}/full`), { status: 403, errorCode: 102 });
    await s.send(del(`${p}/full?dir=true`), { status: 403, errorCode: 108 });
    await s.send(del(`${p}/empty`), { status: 403, errorCode: 102 });
    await s.send(del(`${p}/empty?dir=true`), { status: 200, action: 'delete' });
    await s.send(del(`${p}/empty?dir=true`), { status: 404, errorCode: 100 });
    // dir=true on a key still deletes the key
    await s.send(del(`${p}/k?dir=true`), {});
    await s.send(get(`${p}/k`), {});
    await s.send(del(`${p}/full?recursive=true`), { status: 200, action: 'delete' });
    await s.send(get(`${p}/full/sub/b`), { status: 404, errorCode: 100 });
    await s.send(del(`${p}/missing`), { status: 404, errorCode: 100 });
    await s.send(del(`${p}/missing?recursive=true`), { status: 404, errorCode: 100 });
    await s.send(put(`${p}/k2`, { value: 'v' }), { status: 201 });
    await s.send(del(`${p}/k2?recursive=true`), { status: 200 });
    await s.send(get(p), { status: 200 });
    s.assertClean();
  });

  test('conditional writes: prevExist, prevValue, prevIndex, both, and their causes', async () => {
    const s = await session('cas');
    await s.send(put(`${p}/m?prevExist=true`, { value: 'x' }), { status: 404, errorCode: 100 });
    await s.send(put(`${p}/m?prevExist=false`, { value: 'Hello' }), { status: 201, action: 'create' });
    await s.send(put(`${p}/m?prevExist=false`, { value: 'again' }), { status: 412, errorCode: 105 });
    await s.send(put(`${p}/m?prevExist=true`, { value: 'Hello' }), { status: 200, action: 'update' });
    await s.send(put(`${p}/m?prevValue=Hi`, { value: 'x' }), { status: 412, errorCode: 101 });
    await s.send(put(`${p}/m?prevValue=Hello`, { value: 'Hi' }), { status: 200, action: 'compareAndSwap' });
    // prevIndex as each server numbers it: the key's current modifiedIndex.
    await s.send(get(`${p}/m`), { status: 200 });
    await s.send((ctx) => put(`${p}/m?prevIndex=${ctx.lastIndex}`, { value: 'byIndex' }), { status: 200, action: 'compareAndSwap' });
    await s.send((ctx) => put(`${p}/m?prevIndex=${ctx.lastIndex - 1}`, { value: 'stale' }), { status: 412, errorCode: 101 });
    await s.send((ctx) => put(`${p}/m?prevIndex=${ctx.lastIndex - 1}&prevValue=wrong`, { value: 's' }), { status: 412, errorCode: 101 });
    await s.send((ctx) => put(`${p}/m?prevIndex=${ctx.lastIndex - 1}&prevValue=byIndex`, { value: 's' }), { status: 412, errorCode: 101 });
    await s.send((ctx) => put(`${p}/m?prevIndex=${ctx.lastIndex}&prevValue=wrong`, { value: 's' }), { status: 412, errorCode: 101 });
    await s.send((ctx) => put(`${p}/m?prevIndex=${ctx.lastIndex}&prevValue=byIndex`, { value: 'both' }), { status: 200, action: 'compareAndSwap' });
    // prevIndex=0 means "no condition"
    await s.send(put(`${p}/m?prevIndex=0`, { value: 'plain' }), { status: 200, action: 'set' });
    // numeric values in the cause are values, not indexes
    await s.send(put(`${p}/n`, { value: '12' }), { status: 201 });
    await s.send(put(`${p}/n?prevValue=13`, { value: '14' }), { status: 412, errorCode: 101 });
    // prevExist=true combined with prevValue: a compareAndSwap
    await s.send(put(`${p}/n?prevExist=true&prevValue=12`, { value: '15' }), { status: 200, action: 'compareAndSwap' });
    await s.send(put(`${p}/n?prevExist=true&prevValue=nope`, { value: '16' }), { status: 412, errorCode: 101 });
    await s.send(put(`${p}/n?prevExist=false&prevValue=15`, { value: '16' }), { status: 412, errorCode: 105 });
    // conditions on a missing key and on a directory
    await s.send(put(`${p}/missing?prevValue=a`, { value: 'b' }), { status: 404, errorCode: 100 });
    await s.send(put(`${p}/dir/k`, { value: 'v' }), { status: 201 });
    await s.send(put(`${p}/dir?prevValue=a`, { value: 'b' }), { status: 403, errorCode: 102 });
    await s.send((ctx) => put(`${p}/dir?prevIndex=${ctx.lastIndex}`, { value: 'b' }), { status: 403, errorCode: 102 });
    await s.send(put(`${p}/dir?prevExist=true`, { value: 'b' }), { status: 403, errorCode: 102 });
    // the values of the conditions may come in the form body too
    await s.send(put(`${p}/n`, { value: '17', prevValue: '15' }), { status: 200, action: 'compareAndSwap' });
    await s.send(put(`${p}/n`, { value: '18', prevExist: 'false' }), { status: 412, errorCode: 105 });
    s.assertClean();
  });

  test('compare-and-delete with prevValue and prevIndex', async () => {
    const s = await session('cad');
    await s.send(put(`${p}/k`, { value: 'one' }), { status: 201 });
    await s.send(del(`${p}/k?prevValue=two`), { status: 412, errorCode: 101 });
    await s.send((ctx) => del(`${p}/k?prevIndex=${ctx.lastIndex - 1}`), { status: 412, errorCode: 101 });
    await s.send((ctx) => del(`${p}/k?prevIndex=${ctx.lastIndex - 1}&prevValue=two`), { status: 412, errorCode: 101 });
    await s.send(del(`${p}/k?prevValue=one`), { status: 200, action: 'compareAndDelete' });
    await s.send(put(`${p}/k`, { value: 'again' }), { status: 201 });
    await s.send((ctx) => del(`${p}/k?prevIndex=${ctx.lastIndex}`), { status: 200, action: 'compareAndDelete' });
    await s.send(del(`${p}/k?prevValue=one`), { status: 404, errorCode: 100 });
    await s.send(put(`${p}/d/k`, { value: 'v' }), { status: 201 });
    await s.send(del(`${p}/d?prevValue=v`), { status: 403, errorCode: 102 });
    await s.send(del(`${p}/d?prevValue=v&recursive=true`), {});
    await s.send(del(`${p}/d/k?prevValue=v&dir=true`), {});
    await s.send(del(`${p}/d/k?prevExist=true`), {});
    s.assertClean();
  });

  test('TTL on keys: expiration and ttl, ttl= clears it, prevExist update keeps or drops it', async () => {
    const s = await session('ttl');
    await s.send(put(`${p}/k?ttl=100`, { value: 'v' }), { status: 201 });
    await s.send(get(`${p}/k`), { status: 200 });
    await s.send(put(`${p}/k?prevExist=true&ttl=200`, { value: 'v2' }), { status: 200, action: 'update' });
    // an update without ttl makes the key permanent, as in etcd
    await s.send(put(`${p}/k?prevExist=true`, { value: 'v3' }), { status: 200, action: 'update' });
    await s.send(get(`${p}/k`), { status: 200 });
    await s.send(put(`${p}/k?ttl=300`, { value: 'v4' }), { status: 200 });
    // ttl= (empty) clears the TTL
    await s.send(put(`${p}/k?ttl=&prevExist=true`, { value: 'v5' }), { status: 200, action: 'update' });
    await s.send(get(`${p}/k`), { status: 200 });
    await s.send(put(`${p}/k`, { value: 'v6', ttl: '400' }), { status: 200 });
    await s.send(put(`${p}/k`, { value: 'v7', ttl: '' }), { status: 200 });
    await s.send(put(`${p}/c?ttl=500`, { value: 'a' }), { status: 201 });
    await s.send(put(`${p}/c?ttl=600&prevValue=a`, { value: 'b' }), { status: 200, action: 'compareAndSwap' });
    await s.send(post(`${p}/q?ttl=700`, { value: 'job' }), { status: 201, action: 'create' });
    await s.send(get(`${p}?recursive=true&sorted=true`), { status: 200 });
    // clean up so no TTL key outlives the test
    await s.send(del(`${p}?recursive=true`), { status: 200 });
    s.assertClean();
  });

  test('TTL on directories: mkdir --ttl, updatedir, ttl= clears, children listed', async () => {
    const s = await session('dir-ttl');
    await s.send(put(`${p}/here/you/go?dir=true&ttl=120`), { status: 201 });
    await s.send(get(`${p}/here/you/go`), { status: 200 });
    await s.send(put(`${p}/here/you/go?dir=true&prevExist=true&ttl=500`), { status: 200, action: 'update' });
    await s.send(get(`${p}/here/you?recursive=true`), { status: 200 });
    await s.send(put(`${p}/here/you/go/k`, { value: 'in a ttl dir' }), { status: 201 });
    await s.send(get(`${p}/here/you/go`), { status: 200 });
    await s.send(put(`${p}/here/you/go?dir=true&prevExist=true&ttl=`), { status: 200, action: 'update' });
    await s.send(get(`${p}/here/you/go`), { status: 200 });
    // updatedir on a key, and on a missing directory
    await s.send(put(`${p}/key`, { value: 'v' }), { status: 201 });
    await s.send(put(`${p}/key?dir=true&prevExist=true&ttl=50`), {});
    await s.send(put(`${p}/nodir?dir=true&prevExist=true&ttl=50`), { status: 404, errorCode: 100 });
    await s.send(del(`${p}?recursive=true`), { status: 200 });
    s.assertClean();
  });

  test('refresh=true renews the TTL and keeps the value', async () => {
    const s = await session('refresh');
    await s.send(put(`${p}/k?ttl=100`, { value: 'keep me' }), { status: 201 });
    await s.send(put(`${p}/k?refresh=true&ttl=300`), { status: 200 });
    await s.send(get(`${p}/k`), { status: 200 });
    await s.send(put(`${p}/k?refresh=true&ttl=400&prevExist=true`), { status: 200 });
    await s.send(put(`${p}/k?refresh=true&ttl=500`, { prevValue: 'keep me' }), { status: 200 });
    await s.send(put(`${p}/k?refresh=true&ttl=500&prevValue=other`), { status: 412, errorCode: 101 });
    await s.send(put(`${p}/missing?refresh=true&ttl=5`), {});
    await s.send(put(`${p}/perm`, { value: 'p' }), { status: 201 });
    await s.send(put(`${p}/perm?refresh=true&ttl=600`), {});
    await s.send(put(`${p}/d?dir=true&ttl=100`), { status: 201 });
    await s.send(put(`${p}/d?refresh=true&ttl=300&dir=true`), {});
    await s.send(put(`${p}/d?refresh=true&ttl=300&dir=true&prevExist=true`), {});
    await s.send(get(`${p}?recursive=true`), { status: 200 });
    await s.send(del(`${p}?recursive=true`), { status: 200 });
    s.assertClean();
  });

  test('POST creates in-order keys; sorted listing returns them in creation order', async () => {
    const s = await session('queue');
    for (const job of ['Job1', 'Job2', 'Job3', 'Job4']) {
      await s.send(post(`${p}/queue`, { value: job }), { status: 201, action: 'create' });
    }
    await s.send(get(`${p}/queue?sorted=true`), { status: 200 });
    await s.send(get(`${p}/queue?recursive=true&sorted=true`), { status: 200 });
    await s.send(post(`${p}/queue?dir=true`), { status: 201 });
    await s.send(get(`${p}/queue?sorted=true`), { status: 200 });
    await s.send(post(`${p}/queue`), { status: 201 });
    // POST with a prevExist or prevValue is still a create
    await s.send(post(`${p}/queue?prevExist=true`, { value: 'pe' }), {});
    await s.send(post(`${p}/queue?prevValue=zz`, { value: 'pv' }), {});
    // POST onto an existing key, onto the root
    await s.send(put(`${p}/file`, { value: 'v' }), { status: 201 });
    await s.send(post(`${p}/file`, { value: 'x' }), { status: 400, errorCode: 104 });
    await s.send(get(`${p}/queue?sorted=true`), { status: 200 });
    s.assertClean();
  });

  test('hidden keys are left out of listings but readable directly', async () => {
    const s = await session('hidden');
    await s.send(put(`${p}/h/_hidden`, { value: 'secret' }), { status: 201 });
    await s.send(put(`${p}/h/visible`, { value: 'shown' }), { status: 201 });
    await s.send(put(`${p}/h/_hdir/k`, { value: 'deep' }), { status: 201 });
    await s.send(put(`${p}/h/dir/_k`, { value: 'hidden leaf' }), { status: 201 });
    await s.send(get(`${p}/h`), { status: 200 });
    await s.send(get(`${p}/h?recursive=true`), { status: 200 });
    await s.send(get(`${p}/h?recursive=true&sorted=true`), { status: 200 });
    await s.send(get(`${p}/h/_hidden`), { status: 200 });
    await s.send(get(`${p}/h/_hdir`), { status: 200 });
    await s.send(get(`${p}/h/_hdir?recursive=true`), { status: 200 });
    await s.send(get(`${p}/h/dir`), { status: 200 });
    await s.send(post(`${p}/h/_q`, { value: 'in-order in a hidden dir' }), { status: 201 });
    await s.send(del(`${p}/h/_hidden`), { status: 200 });
    await s.send(del(`${p}/h/_hdir?recursive=true`), { status: 200 });
    await s.send(get(`${p}/h?recursive=true`), { status: 200 });
    s.assertClean();
  });

  test('HEAD answers like GET without a body', async () => {
    const s = await session('head');
    await s.send(put(`${p}/k`, { value: 'v' }), { status: 201 });
    await s.send(head(`${p}/k`), { status: 200 });
    await s.send(head(p), { status: 200 });
    await s.send(head(`${p}/missing`), { status: 404 });
    await s.send(head(`${p}/k?recursive=maybe`), { status: 400 });
    s.assertClean();
  });

  test('noValueOnSuccess leaves the node out of successful write answers only', async () => {
    const s = await session('novalue');
    await s.send(put(`${p}/k?noValueOnSuccess=true`, { value: 'x' }), { status: 201, action: 'set' });
    await s.send(put(`${p}/k?noValueOnSuccess=true&prevValue=x`, { value: 'y' }), { status: 200, action: 'compareAndSwap' });
    await s.send(put(`${p}/k?noValueOnSuccess=true&prevValue=x`, { value: 'y' }), { status: 412, errorCode: 101 });
    await s.send(post(`${p}/q?noValueOnSuccess=true`, { value: 'x' }), { status: 201, action: 'create' });
    await s.send(get(`${p}/k?noValueOnSuccess=true`), { status: 200, action: 'get' });
    await s.send(del(`${p}/k?noValueOnSuccess=true`), { status: 200, action: 'delete' });
    await s.send(put(`${p}/k?noValueOnSuccess=false`, { value: 'x' }), { status: 201 });
    s.assertClean();
  });

  test('values: empty, unicode, multi-line, form encoding details, value from the query', async () => {
    const s = await session('values');
    await s.send(put(`${p}/empty`, { value: '' }), { status: 201 });
    await s.send(put(`${p}/novalue`), { status: 201 });
    await s.send(put(`${p}/uni`, { value: 'héllo wörld ✓ 日本' }), { status: 201 });
    await s.send(put(`${p}/lines`, { value: 'a\nb\r\nc\t"q"\\' }), { status: 201 });
    await s.send({ method: 'PUT', path: `/v2/keys${p}/plus`, body: 'value=a+b%20c', contentType: 'application/x-www-form-urlencoded' }, { status: 201 });
    await s.send({ method: 'PUT', path: `/v2/keys${p}/q?value=fromquery` }, { status: 201 });
    await s.send({ method: 'PUT', path: `/v2/keys${p}/q?value=fromquery`, form: { value: 'frombody' } }, { status: 200 });
    await s.send({ method: 'PUT', path: `/v2/keys${p}/dup`, form: [['value', 'first'], ['value', 'second']] }, { status: 201 });
    await s.send({ method: 'PUT', path: `/v2/keys${p}/ctype`, body: 'value=x', contentType: 'application/x-www-form-urlencoded; charset=utf-8' }, { status: 201 });
    await s.send({ method: 'PUT', path: `/v2/keys${p}/text`, body: 'value=x', contentType: 'text/plain' }, { status: 201 });
    await s.send({ method: 'PUT', path: `/v2/keys${p}/json`, body: '{"value":"x"}', contentType: 'application/json' }, { status: 201 });
    await s.send({ method: 'PUT', path: `/v2/keys${p}/none`, body: 'value=x' }, { status: 201 });
    await s.send({ method: 'POST', path: `/v2/keys${p}/pq?value=fromquery` }, { status: 201 });
    await s.send(put(`${p}/uni-ключ/ключ`, { value: 'k' }), {});
    await s.send({ method: 'GET', path: `/v2/keys${p}/uni-%D0%BA%D0%BB%D1%8E%D1%87?recursive=true` }, {});
    await s.send(get(`${p}?recursive=true&sorted=true`), { status: 200 });
    // a value just under Cairn's 1.5 MiB body limit is stored and read back whole
    const big = 'b'.repeat(1400 * 1024);
    await s.send(put(`${p}/big`, { value: big }), { status: 201 });
    await s.send(get(`${p}/big`), { status: 200 });
    // a long key name
    await s.send(put(`${p}/${'k'.repeat(4000)}`, { value: 'long' }), { status: 201 });
    await s.send(get(`${p}/${'k'.repeat(4000)}`), { status: 200 });
    s.assertClean();
  });

  test('key paths: trailing slashes, %2F, dot segments and double slashes', async () => {
    const s = await session('paths');
    await s.send(put(`${p}/a/b`, { value: 'v' }), { status: 201 });
    await s.send(get(`${p}/a/b/`), {});
    await s.send(get(`${p}/a%2Fb`), {});
    await s.send(put(`${p}/c%2Fd`, { value: 'slash' }), {});
    await s.send(get(`${p}/c/d`), {});
    await s.send(get(`${p}/a/./b`), {});
    await s.send(get(`${p}/a/../a/b`), {});
    await s.send(get(`${p}//a//b`), {});
    await s.send(put(`${p}/x/../y`, { value: 'v' }), {});
    await s.send(put(`${p}/sp%20ace`, { value: 'v' }), {});
    await s.send(get(`${p}/sp%20ace`), {});
    await s.send(get(`${p}/a%2e%2e`), {});
    await s.send(get(`${p}/%2e%2e/x`), {});
    await s.send(get(`${p}?recursive=true&sorted=true`), { status: 200 });
    s.assertClean();
  });
});
