/**
 * The shared v2 client against a real `cairn serve` and a real etcd 3.4
 * (results, index headers, errors, watches), and against small loopback
 * servers that refuse, reset, hang or misbehave on purpose (failover,
 * stickiness, timeouts, aborts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { createServer as createNetServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { EndpointsUnavailableError, keyPath, V2ApiError, V2Client } from '../../src/client/v2-client.js';
import { CairnError } from '../../src/util/errors.js';
import { startCairn, type CairnServer } from '../support/cairn.js';
import { startEtcd, type EtcdServer } from '../support/etcd.js';
import { freePort } from '../support/ports.js';
import { haveTool } from '../support/require-tool.js';
import { storeIndex, watcherCount } from '../support/v2-probe.js';
import { waitFor } from '../support/wait.js';
import { TLS_FILES } from '../register/tls-etcd.js';

/** A TCP server that accepts and then either resets at once or never answers. */
async function tcpServer(mode: 'reset' | 'silent'): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createNetServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    if (mode === 'reset') socket.resetAndDestroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface SeenRequest {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** An HTTP server whose answers the test writes; `seen` records every request. */
async function httpServer(
  handler: (req: SeenRequest, res: import('node:http').ServerResponse) => void,
  port = 0,
): Promise<{ url: string; seen: SeenRequest[]; close: () => Promise<void>; server: HttpServer }> {
  const seen: SeenRequest[] = [];
  const server = createHttpServer((req, res) => {
    const request = { url: req.url ?? '', headers: req.headers };
    seen.push(request);
    handler(request, res);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    seen,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Answers every request with a v2 "get" of one key whose value names the server. */
function answerAs(name: string) {
  return (_req: SeenRequest, res: import('node:http').ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-etcd-index': '7' });
    res.end(JSON.stringify({ action: 'get', node: { key: '/k', value: name, modifiedIndex: 7, createdIndex: 7 } }));
  };
}

function isAbort(err: unknown): boolean {
  return (err as { name?: unknown }).name === 'AbortError';
}

const servers: { name: string; url: () => string; skip: string | false }[] = [];
let cairn: CairnServer;
let etcd: EtcdServer | undefined;
const etcdPresent = haveTool('etcd');
servers.push({ name: 'cairn', url: () => cairn.url, skip: false });
servers.push({ name: 'etcd 3.4', url: () => (etcd as EtcdServer).url, skip: etcdPresent ? false : 'etcd is not installed' });

before(async () => {
  [cairn, etcd] = await Promise.all([startCairn(), etcdPresent ? startEtcd() : Promise.resolve(undefined)]);
});
after(async () => {
  await Promise.all([cairn?.destroy(), etcd?.stop()]);
});

for (const target of servers) {
  describe(`against ${target.name}`, { skip: target.skip }, () => {
    let client: V2Client;
    const prefix = '/client-test';
    before(() => {
      client = new V2Client({ endpoints: [target.url()] });
    });
    after(() => client.close());

    test('set, get, refresh, compare-and-swap, in-order create and delete: bodies and index headers', async () => {
      const url = target.url();
      const key = `${prefix}/crud/a`;
      const created = await client.set(key, 'one');
      assert.equal(created.action, 'set');
      assert.equal(created.node.key, key);
      assert.equal(created.node.value, 'one');
      assert.equal(created.node.createdIndex, created.etcdIndex);
      assert.equal(created.node.modifiedIndex, created.etcdIndex);
      assert.equal(created.prevNode, undefined);
      assert.equal(typeof created.raftIndex, 'number');
      assert.equal(typeof created.raftTerm, 'number');
      assert.equal(created.endpoint, url);

      const got = await client.get(key);
      assert.equal(got.action, 'get');
      assert.equal(got.node.value, 'one');
      assert.equal(got.node.modifiedIndex, created.etcdIndex);
      assert.ok(got.etcdIndex >= created.etcdIndex);

      const refreshed = await client.set(key, undefined, { refresh: true, prevExist: true, ttl: 100 });
      assert.equal(refreshed.action, 'update');
      assert.equal(refreshed.node.value, 'one', 'a refresh keeps the value');
      assert.equal(refreshed.node.ttl, 100);
      assert.equal(typeof refreshed.node.expiration, 'string');
      assert.equal(refreshed.etcdIndex, created.etcdIndex + 1);

      const swapped = await client.set(key, 'two', { prevValue: 'one' });
      assert.equal(swapped.action, 'compareAndSwap');
      assert.equal(swapped.prevNode?.value, 'one');
      assert.equal(swapped.node.ttl, undefined, 'a write without ttl clears it');

      const queued = await client.createInOrder(`${prefix}/crud/queue`, 'job', { ttl: 100 });
      assert.equal(queued.action, 'create');
      assert.match(queued.node.key ?? '', new RegExp(`^${prefix}/crud/queue/\\d+$`));

      const listing = await client.get(`${prefix}/crud`, { recursive: true, sorted: true });
      assert.equal(listing.node.dir, true);
      assert.deepEqual(listing.node.nodes?.map((n) => n.key), [key, `${prefix}/crud/queue`]);
      assert.equal(listing.node.nodes?.[1]?.nodes?.[0]?.value, 'job');

      const deleted = await client.delete(key, { prevValue: 'two' });
      assert.equal(deleted.action, 'compareAndDelete');
      assert.equal(deleted.prevNode?.value, 'two');
      assert.equal(deleted.node.modifiedIndex, deleted.etcdIndex);
      const dir = await client.delete(`${prefix}/crud`, { dir: true, recursive: true });
      assert.equal(dir.action, 'delete');
      assert.equal(dir.node.dir, true);
    });

    test('keys are escaped per segment and cleaned as etcdctl cleans them', async () => {
      const odd = `${prefix}/escape/a b?c#d%e&f=g+h`;
      assert.equal((await client.set(odd, 'x')).node.key, odd);
      assert.equal((await client.get(odd)).node.value, 'x');
      const messy = await client.set(`${prefix}/escape//dup/./dot/../y`, 'y');
      assert.equal(messy.node.key, `${prefix}/escape/dup/y`);
      assert.equal((await client.get(`${prefix}/escape/dup/y`)).node.value, 'y');
      await client.delete(`${prefix}/escape`, { recursive: true });
    });

    test('V2ApiError carries the error body and the HTTP status', async () => {
      const key = `${prefix}/errors/k`;
      await client.set(key, 'two');
      // The cause names the first missing node on the path; here the key itself.
      const missing = `${prefix}/errors/missing`;
      const index = await storeIndex(target.url());
      const notFound = await client.get(missing).then(
        () => assert.fail('expected an error'),
        (err: unknown) => err,
      );
      assert.ok(notFound instanceof V2ApiError);
      assert.ok(notFound instanceof CairnError);
      assert.equal(notFound.code, 'CAIRN_V2_API');
      assert.equal(notFound.errorCode, 100);
      assert.equal(notFound.reason, 'Key not found');
      assert.equal(notFound.errorCause, missing);
      assert.equal(notFound.index, index);
      assert.equal(notFound.status, 404);
      assert.equal(notFound.message, `100: Key not found (${missing}) [${index}]`);

      await assert.rejects(client.set(key, 'three', { prevValue: 'nope' }), (err: unknown) => {
        assert.ok(err instanceof V2ApiError);
        assert.equal(err.errorCode, 101);
        assert.equal(err.reason, 'Compare failed');
        assert.equal(err.errorCause, '[nope != two]');
        assert.equal(err.status, 412);
        return true;
      });
      await assert.rejects(client.set(key, 'three', { prevExist: false }), (err: unknown) => {
        assert.ok(err instanceof V2ApiError);
        assert.equal(err.errorCode, 105);
        assert.equal(err.status, 412);
        return true;
      });
      await assert.rejects(client.set(key, 'x', { refresh: true, ttl: 5 }), (err: unknown) => {
        assert.ok(err instanceof V2ApiError);
        assert.equal(err.errorCode, 211);
        assert.equal(err.reason, 'Value provided on refresh');
        assert.equal(err.status, 400);
        return true;
      });
      await client.delete(`${prefix}/errors`, { recursive: true });
    });

    test('watch: the next event, a past event from history, and a recursive watch', async () => {
      const key = `${prefix}/watch/k`;
      const first = await client.set(key, 'v1');
      const next = client.watch(key, { waitIndex: first.etcdIndex + 1 });
      const second = await client.set(key, 'v2');
      const event = await next;
      assert.equal(event.action, 'set');
      assert.equal(event.node.value, 'v2');
      assert.equal(event.prevNode?.value, 'v1');
      assert.equal(event.node.modifiedIndex, second.etcdIndex);
      // X-Etcd-Index of a watch is the index when it began, never past the event for a live one.
      assert.ok(event.etcdIndex >= first.etcdIndex && event.etcdIndex <= second.etcdIndex, `${event.etcdIndex}`);

      const past = await client.watch(key, { waitIndex: first.etcdIndex });
      assert.equal(past.node.value, 'v1');
      assert.equal(past.node.modifiedIndex, first.etcdIndex);

      const below = client.watch(`${prefix}/watch`, { recursive: true, waitIndex: second.etcdIndex + 1 });
      await client.set(`${prefix}/watch/deeper/leaf`, 'z');
      const deep = await below;
      assert.equal(deep.node.key, `${prefix}/watch/deeper/leaf`);
      await client.delete(`${prefix}/watch`, { recursive: true });
    });
  });
}

describe('endpoints', () => {
  test('fails over from an endpoint that resets connections to a live one, and sticks to it', async (t) => {
    const reset = await tcpServer('reset');
    t.after(() => reset.close());
    const client = new V2Client({ endpoints: [reset.url, cairn.url] });
    t.after(() => client.close());
    assert.equal(client.currentEndpoint, reset.url);
    for (let i = 0; i < 4; i++) {
      const res = await client.get('/');
      assert.equal(res.endpoint, cairn.url);
      assert.equal(client.currentEndpoint, cairn.url);
    }
    assert.equal(reset.connections(), 1, 'the failing endpoint is not retried while the live one answers');
  });

  test('moves on when its endpoint stops answering and stays there when the first comes back', async (t) => {
    const a = await httpServer(answerAs('a'));
    const b = await httpServer(answerAs('b'));
    t.after(() => Promise.all([a.close(), b.close()]));
    const client = new V2Client({ endpoints: [a.url, b.url] });
    t.after(() => client.close());
    assert.equal((await client.get('/k')).node.value, 'a');
    const portA = Number(new URL(a.url).port);
    await a.close();
    assert.equal((await client.get('/k')).node.value, 'b');
    const again = await httpServer(answerAs('a again'), portA);
    t.after(() => again.close());
    assert.equal((await client.get('/k')).node.value, 'b');
    assert.equal(again.seen.length, 0);
  });

  test('EndpointsUnavailableError names every endpoint and what failed', async (t) => {
    const dead = [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`];
    const client = new V2Client({ endpoints: dead });
    t.after(() => client.close());
    await assert.rejects(client.get('/x'), (err: unknown) => {
      assert.ok(err instanceof EndpointsUnavailableError);
      assert.equal(err.code, 'CAIRN_ENDPOINTS_UNAVAILABLE');
      assert.deepEqual(err.failures.map((f) => f.endpoint), dead);
      for (const failure of err.failures) assert.match(failure.error, /ECONNREFUSED/);
      return true;
    });
  });

  test('aborting a long-poll watch rejects with the abort reason and tries no other endpoint', async (t) => {
    const spare = await tcpServer('reset');
    t.after(() => spare.close());
    const client = new V2Client({ endpoints: [cairn.url, spare.url] });
    t.after(() => client.close());
    const watchers = await watcherCount(cairn.url);
    const controller = new AbortController();
    const watch = client.watch('/client-test/abort', { signal: controller.signal });
    await waitFor(async () => (await watcherCount(cairn.url)) === watchers + 1, { what: 'the watch to reach the server' });
    controller.abort();
    await assert.rejects(watch, isAbort);
    // The server sees the connection go and drops its watcher.
    await waitFor(async () => (await watcherCount(cairn.url)) === watchers, { what: 'the server to drop the watcher' });

    const reason = new Error('shutting down');
    const second = new AbortController();
    const watch2 = client.watch('/client-test/abort', { signal: second.signal });
    second.abort(reason);
    await assert.rejects(watch2, (err: unknown) => err === reason);

    await assert.rejects(client.get('/', { signal: AbortSignal.abort() }), isAbort);
    assert.equal(spare.connections(), 0);
  });

  test('a request timeout counts as no answer and fails over; long polls are exempt', async (t) => {
    const silent = await tcpServer('silent');
    t.after(() => silent.close());
    const alone = new V2Client({ endpoints: [silent.url], requestTimeoutMs: 300 });
    t.after(() => alone.close());
    await assert.rejects(alone.get('/'), (err: unknown) => {
      assert.ok(err instanceof EndpointsUnavailableError);
      assert.deepEqual(err.failures.map((f) => f.error), ['no answer within 300 ms']);
      return true;
    });
    await assert.rejects(alone.raw('GET', '/v2/keys/', { timeoutMs: 150 }), (err: unknown) => {
      assert.ok(err instanceof EndpointsUnavailableError);
      assert.deepEqual(err.failures.map((f) => f.error), ['no answer within 150 ms']);
      return true;
    });

    // Generous enough for a loaded machine's live answer, still short for the silent one.
    const pair = new V2Client({ endpoints: [silent.url, cairn.url], requestTimeoutMs: 1_000 });
    t.after(() => pair.close());
    assert.equal((await pair.get('/')).endpoint, cairn.url);

    const watcher = new V2Client({ endpoints: [cairn.url], requestTimeoutMs: 200 });
    t.after(() => watcher.close());
    // Writes go through a client with the default timeout: an fsync on a loaded machine may take 200 ms.
    const writer = new V2Client({ endpoints: [cairn.url] });
    t.after(() => writer.close());
    const start = await writer.set('/client-test/slow', 'a');
    const watch = watcher.watch('/client-test/slow', { waitIndex: start.etcdIndex + 1 });
    let settled = false;
    void watch.then(() => (settled = true), () => (settled = true));
    const began = Date.now();
    await waitFor(() => Date.now() - began > 3 * 200, { what: 'three request timeouts to pass', intervalMs: 50 });
    assert.equal(settled, false);
    await writer.set('/client-test/slow', 'b');
    assert.equal((await watch).node.value, 'b');
  });
});

describe('protocol details', () => {
  test('a watch the server ends without an event is polled again from where it stood', async (t) => {
    let calls = 0;
    const server = await httpServer((_req, res) => {
      calls++;
      if (calls === 1) {
        // What etcd and Cairn send when they drop a watcher: headers, then an empty body.
        res.writeHead(200, { 'content-type': 'application/json', 'x-etcd-index': '41' });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-etcd-index': '41' });
      res.end(JSON.stringify({ action: 'set', node: { key: '/w', value: 'v', modifiedIndex: 42, createdIndex: 42 } }));
    });
    t.after(() => server.close());
    const client = new V2Client({ endpoints: [server.url] });
    t.after(() => client.close());
    const event = await client.watch('/w');
    assert.equal(event.node.value, 'v');
    assert.deepEqual(server.seen.map((r) => r.url), ['/v2/keys/w?wait=true', '/v2/keys/w?wait=true&waitIndex=42']);

    server.seen.length = 0;
    calls = 0;
    await client.watch('/w', { waitIndex: 5 });
    assert.deepEqual(server.seen.map((r) => r.url), ['/v2/keys/w?wait=true&waitIndex=5', '/v2/keys/w?wait=true&waitIndex=5']);
  });

  test('basic authentication goes in the Authorization header', async (t) => {
    const server = await httpServer(answerAs('x'));
    t.after(() => server.close());
    const client = new V2Client({ endpoints: [server.url], username: 'root', password: 'pa:ss' });
    t.after(() => client.close());
    await client.get('/k');
    assert.equal(server.seen[0]?.headers.authorization, `Basic ${Buffer.from('root:pa:ss').toString('base64')}`);
  });

  test('keyPath percent-encodes segments and cleans the path without leaving the keys prefix', () => {
    assert.equal(keyPath('/a b/c%d'), '/v2/keys/a%20b/c%25d');
    assert.equal(keyPath('a'), '/v2/keys/a');
    assert.equal(keyPath('/dir/'), '/v2/keys/dir/');
    assert.equal(keyPath('/a//b/./c'), '/v2/keys/a/b/c');
    assert.equal(keyPath('/../../v2/members'), '/v2/keys/v2/members');
    assert.equal(keyPath(''), '/v2/keys/');
    assert.equal(keyPath('/'), '/v2/keys/');
  });

  test('TLS: the CA and client certificate are used; a failed handshake counts as no answer', async (t) => {
    const server = createHttpsServer(
      { cert: readFileSync(TLS_FILES.serverCert), key: readFileSync(TLS_FILES.serverKey), ca: readFileSync(TLS_FILES.ca), requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.writeHead(200, { 'content-type': 'application/json', 'x-etcd-index': '1' });
        res.end(JSON.stringify({ action: 'get', node: { key: '/k', value: String(peer.subject?.CN ?? 'anonymous') } }));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    const tls = { ca: readFileSync(TLS_FILES.ca), cert: readFileSync(TLS_FILES.clientCert), key: readFileSync(TLS_FILES.clientKey) };

    const trusted = new V2Client({ endpoints: [url], tls });
    t.after(() => trusted.close());
    assert.equal((await trusted.get('/k')).node.value, 'cairn-test-client');

    const plain = await httpServer(answerAs('plain'));
    t.after(() => plain.close());
    // No CA: the server's certificate cannot be verified, so the next endpoint is tried.
    const untrusting = new V2Client({ endpoints: [url, plain.url] });
    t.after(() => untrusting.close());
    assert.equal((await untrusting.get('/k')).node.value, 'plain');
    const alone = new V2Client({ endpoints: [url] });
    t.after(() => alone.close());
    await assert.rejects(alone.get('/k'), (err: unknown) => {
      assert.ok(err instanceof EndpointsUnavailableError, String(err));
      assert.match(err.failures[0]?.error ?? '', /certificate/);
      return true;
    });
    // https to a plain HTTP endpoint.
    const mismatched = new V2Client({ endpoints: [plain.url.replace('http:', 'https:')], tls });
    t.after(() => mismatched.close());
    await assert.rejects(mismatched.get('/k'), (err: unknown) => {
      assert.ok(err instanceof EndpointsUnavailableError, String(err));
      assert.match(err.failures[0]?.error ?? '', /SSL/);
      return true;
    });
  });
});
