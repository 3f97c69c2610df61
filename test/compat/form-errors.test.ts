import { after, before, describe, test } from 'node:test';
import { startCompatServers, type CompatServers } from '../support/compat-servers.js';
import type { DiffSession } from '../support/http-diff.js';
import { skipUnless } from '../support/require-tool.js';
import { del, get, post, put } from '../support/v2-steps.js';

/*
 * The 2xx form errors (HTTP 400 with index 0) etcd raises while parsing a
 * request, which one wins when several parameters are bad, and the
 * spellings it accepts.
 */
describe('v2 form errors: etcd vs cairn', { skip: skipUnless('etcd'), timeout: 120_000 }, () => {
  let servers: CompatServers;
  let p: string;
  before(async () => {
    servers = await startCompatServers();
  });
  after(async () => {
    await servers?.stop();
  });
  const session = async (name: string): Promise<DiffSession> => {
    p = `/${servers.prefix(name)}`;
    const s = servers.session(name);
    await s.begin();
    await s.send(put(`${p}/k`, { value: 'v' }), { status: 201 });
    return s;
  };

  test('201: prevValue present but empty, in the query or the body, on PUT and DELETE', async () => {
    const s = await session('e201');
    await s.send(put(`${p}/k?prevValue=`, { value: 'x' }), { status: 400, errorCode: 201 });
    await s.send(put(`${p}/k`, { value: 'x', prevValue: '' }), { status: 400, errorCode: 201 });
    await s.send(del(`${p}/k?prevValue=`), { status: 400, errorCode: 201 });
    await s.send(post(`${p}/k?prevValue=`), { status: 400, errorCode: 201 });
    await s.send(get(`${p}/k?prevValue=`), { status: 400, errorCode: 201 });
    s.assertClean();
  });

  test('202: TTLs that are not unsigned integers', async () => {
    const s = await session('e202');
    for (const ttl of ['abc', '-1', '1e3', '1.5', '+5', ' 5', '0x10', '99999999999999999999', '18446744073709551616']) {
      await s.send(put(`${p}/k?ttl=${encodeURIComponent(ttl)}`, { value: 'x' }), { status: 400, errorCode: 202 });
    }
    await s.send(put(`${p}/k`, { value: 'x', ttl: 'abc' }), { status: 400, errorCode: 202 });
    await s.send(post(`${p}/q?ttl=-1`, { value: 'x' }), { status: 400, errorCode: 202 });
    await s.send(put(`${p}/d?dir=true&ttl=x`), { status: 400, errorCode: 202 });
    // a TTL on GET and DELETE is parsed (and rejected) too
    await s.send(get(`${p}/k?ttl=abc`), { status: 400, errorCode: 202 });
    await s.send(del(`${p}/k?ttl=abc`), { status: 400, errorCode: 202 });
    // leading zeros are a number
    await s.send(put(`${p}/k?ttl=0100`, { value: 'x' }), { status: 200 });
    await s.send(put(`${p}/k`, { value: 'permanent again' }), { status: 200 });
    // a refresh of a key under a missing directory names the first missing segment
    await s.send(put(`${p}/missing/k?refresh=true&ttl=100`), { status: 404, errorCode: 100 });
    await s.send(put(`${p}/k/under-a-key?refresh=true&ttl=100`), {});
    s.assertClean();
  });

  test('203: prevIndex and waitIndex that are not unsigned integers', async () => {
    const s = await session('e203');
    for (const bad of ['x', '-1', '1.0', '1e3', '', '99999999999999999999']) {
      const q = encodeURIComponent(bad);
      await s.send(put(`${p}/k?prevIndex=${q}`, { value: 'x' }), {});
      await s.send(del(`${p}/k?prevIndex=${q}`), {});
      await s.send(get(`${p}/k?wait=true&waitIndex=${q}`), {});
    }
    await s.send(put(`${p}/k?prevIndex=x`, { value: 'x' }), { status: 400, errorCode: 203 });
    await s.send(get(`${p}/k?wait=true&waitIndex=x`), { status: 400, errorCode: 203 });
    await s.send(get(`${p}/k?waitIndex=x`), { status: 400, errorCode: 203 });
    s.assertClean();
  });

  test('209: booleans other than Go ParseBool spellings, prevExist cause without quotes', async () => {
    const s = await session('e209');
    await s.send(get(`${p}/k?recursive=maybe`), { status: 400, errorCode: 209 });
    await s.send(get(`${p}/k?sorted=yes`), { status: 400, errorCode: 209 });
    await s.send(get(`${p}/k?wait=2`), { status: 400, errorCode: 209 });
    await s.send(get(`${p}/k?quorum=x`), { status: 400, errorCode: 209 });
    await s.send(get(`${p}/k?stream=on`), { status: 400, errorCode: 209 });
    await s.send(put(`${p}/k?dir=x`), { status: 400, errorCode: 209 });
    await s.send(put(`${p}/k?prevExist=x`, { value: 'x' }), { status: 400, errorCode: 209 });
    await s.send(put(`${p}/k?prevExist=`, { value: 'x' }), {});
    await s.send(put(`${p}/k?refresh=nope&ttl=5`), { status: 400, errorCode: 209 });
    await s.send(put(`${p}/k?noValueOnSuccess=maybe`, { value: 'x' }), { status: 400, errorCode: 209 });
    await s.send(get(`${p}/k?recursive=`), {});
    await s.send(get(`${p}/k?recursive`), {});
    await s.send(del(`${p}/k?recursive=maybe`), { status: 400, errorCode: 209 });
    // wait on a write, stream without wait
    await s.send(put(`${p}/k?wait=true`, { value: 'x' }), {});
    await s.send(get(`${p}/k?stream=true`), {});
    s.assertClean();
  });

  test('210: malformed %-escapes in the query or the form body', async () => {
    const s = await session('e210');
    await s.send(get(`${p}/k?x=%zz`), { status: 400, errorCode: 210 });
    await s.send(get(`${p}/k?recursive=%`), { status: 400, errorCode: 210 });
    await s.send(put(`${p}/k?value=%e`), { status: 400, errorCode: 210 });
    await s.send({ method: 'PUT', path: `/v2/keys${p}/k`, body: 'value=%zz', contentType: 'application/x-www-form-urlencoded' }, { status: 400, errorCode: 210 });
    await s.send({ method: 'POST', path: `/v2/keys${p}/q`, body: 'value=ok&x=%G0', contentType: 'application/x-www-form-urlencoded' }, { status: 400, errorCode: 210 });
    // the cause quotes the bad escape the way Go's %q does (\x00, \a, \x80, unicode kept)
    for (const bad of ['value=%\u0000', 'value=%c\u0007', 'value=%\u0080x', 'value=%é', 'value=%\u007f', 'value=%"\\']) {
      await s.send({ method: 'PUT', path: `/v2/keys${p}/k`, body: Buffer.from(bad, 'latin1'), contentType: 'application/x-www-form-urlencoded' }, { status: 400, errorCode: 210 });
    }
    await s.send({ method: 'PUT', path: `/v2/keys${p}/k`, body: Buffer.from('value=%\u00e9', 'utf8'), contentType: 'application/x-www-form-urlencoded' }, { status: 400, errorCode: 210 });
    // Go parses a form body only for POST, PUT and PATCH: this DELETE succeeds
    await s.send({ method: 'DELETE', path: `/v2/keys${p}/k`, body: '%%%', contentType: 'application/x-www-form-urlencoded' }, { status: 200 });
    // a bad escape in a body that is not a form is never parsed
    await s.send({ method: 'PUT', path: `/v2/keys${p}/k`, body: 'value=%zz', contentType: 'text/plain' }, { status: 201 });
    // semicolons used to separate pairs; Go 1.17+ rejects them
    await s.send(get(`${p}/k?recursive=true;sorted=true`), {});
    await s.send({ method: 'PUT', path: `/v2/keys${p}/k`, body: 'value=a;b', contentType: 'application/x-www-form-urlencoded' }, {});
    s.assertClean();
  });

  test('211 and 212: refresh with a value, refresh without a TTL', async () => {
    const s = await session('e211');
    await s.send(put(`${p}/k?refresh=true`, { value: 'x' }), { status: 400, errorCode: 211 });
    await s.send(put(`${p}/k?refresh=true&ttl=5`, { value: 'x' }), { status: 400, errorCode: 211 });
    await s.send(put(`${p}/k?refresh=true&value=x`), { status: 400, errorCode: 211 });
    await s.send(put(`${p}/k?refresh=true`), { status: 400, errorCode: 212 });
    await s.send(put(`${p}/k?refresh=true&ttl=`), { status: 400, errorCode: 212 });
    // an empty value is no value
    await s.send(put(`${p}/k?refresh=true&ttl=100`, { value: '' }), { status: 200 });
    await s.send(put(`${p}/k`, { value: 'permanent again' }), { status: 200 });
    // a refresh of a key under a missing directory names the first missing segment
    await s.send(put(`${p}/missing/k?refresh=true&ttl=100`), { status: 404, errorCode: 100 });
    await s.send(put(`${p}/k/under-a-key?refresh=true&ttl=100`), {});
    s.assertClean();
  });

  test('which error wins when several parameters are bad', async () => {
    const s = await session('order');
    const combos = [
      'prevIndex=x&ttl=abc',
      'ttl=abc&prevIndex=x',
      'waitIndex=x&recursive=maybe',
      'recursive=maybe&prevValue=',
      'prevValue=&ttl=abc',
      'ttl=abc&prevExist=x',
      'prevExist=x&refresh=true',
      'refresh=true&ttl=abc',
      'noValueOnSuccess=x&ttl=abc',
      'prevValue=&noValueOnSuccess=x',
      'sorted=x&wait=x&dir=x',
      'x=%zz&ttl=abc',
      'refresh=true&value=v&prevExist=x',
    ];
    for (const c of combos) await s.send(put(`${p}/k?${c}`), {});
    for (const c of combos) await s.send(get(`${p}/k?${c}`), {});
    await s.send(get(`${p}/k`), { status: 200 });
    s.assertClean();
  });
});
