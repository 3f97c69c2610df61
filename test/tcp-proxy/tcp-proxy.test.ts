import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from '../support/ports.js';
import { startTcpProxy, type TcpProxy, type TcpProxyOptions } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

interface EchoServer {
  port: number;
  /** Server-side sockets, open or closed, in accept order. */
  accepted: Socket[];
  close(): Promise<void>;
}

async function startEchoServer(t: TestContext): Promise<EchoServer> {
  const accepted: Socket[] = [];
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    accepted.push(socket);
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const close = async (): Promise<void> => {
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.after(close);
  return { port: address.port, accepted, close };
}

async function proxyTo(t: TestContext, port: number, extra: Partial<TcpProxyOptions> = {}): Promise<TcpProxy> {
  const proxy = await startTcpProxy({ targetHost: '127.0.0.1', targetPort: port, ...extra });
  t.after(() => proxy.close());
  return proxy;
}

interface Client {
  socket: Socket;
  received(): Buffer;
  closed(): boolean;
  ended(): boolean;
  errorCode(): string | undefined;
}

async function dial(t: TestContext, port: number): Promise<Client> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  t.after(() => {
    socket.destroy();
  });
  const chunks: Buffer[] = [];
  let closed = false;
  let ended = false;
  let errorCode: string | undefined;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('end', () => (ended = true));
  socket.on('close', () => (closed = true));
  socket.on('error', (err: NodeJS.ErrnoException) => (errorCode = err.code));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => Buffer.concat(chunks), closed: () => closed, ended: () => ended, errorCode: () => errorCode };
}

/** Connects and waits for the socket to close; the error code it closed with. A reset may even beat the
 * client's own view of the handshake, so this does not wait for 'connect'. */
async function dialUntilClosed(port: number): Promise<string | undefined> {
  const socket = connect({ host: '127.0.0.1', port });
  let code: string | undefined;
  socket.on('error', (err: NodeJS.ErrnoException) => (code = err.code));
  await new Promise((resolve) => socket.once('close', resolve));
  return code;
}

async function roundTrip(client: Client, text: string): Promise<void> {
  const before = client.received().length;
  client.socket.write(text);
  await waitFor(() => client.received().subarray(before).toString() === text, { what: `echo of ${text}` });
}

describe('tcp fault proxy', () => {
  test('forwards bytes both ways, intact and in order, and passes a half-close on', async (t) => {
    const echo = await startEchoServer(t);
    const proxy = await proxyTo(t, echo.port);
    const client = await dial(t, proxy.port);
    const payload = randomBytes(1024 * 1024);
    for (let offset = 0; offset < payload.length; offset += 64 * 1024) client.socket.write(payload.subarray(offset, offset + 64 * 1024));
    client.socket.end();
    await waitFor(() => client.ended(), { what: 'the echoed end of stream' });
    assert.ok(client.received().equals(payload));
    await waitFor(() => client.closed() && proxy.liveConnections() === 0, { what: 'both sides to close' });
    assert.equal(client.errorCode(), undefined);
  });

  test('block() resets live connections on both sides at once', async (t) => {
    const echo = await startEchoServer(t);
    const proxy = await proxyTo(t, echo.port);
    const client = await dial(t, proxy.port);
    await roundTrip(client, 'before');
    assert.equal(proxy.liveConnections(), 1);
    proxy.block();
    assert.equal(proxy.isBlocked(), true);
    assert.equal(proxy.liveConnections(), 0);
    await waitFor(() => client.closed(), { what: 'the client side to be cut' });
    await waitFor(() => echo.accepted[0]?.destroyed === true, { what: 'the server side to be cut' });
    // A reset, not a clean end: a peer mid-message must see an error.
    assert.equal(client.errorCode(), 'ECONNRESET');
    assert.equal(client.ended(), false);
  });

  test('while blocked, new connections are held silently, then spliced through on unblock()', async (t) => {
    const echo = await startEchoServer(t);
    const proxy = await proxyTo(t, echo.port);
    proxy.block();
    const client = await dial(t, proxy.port);
    client.socket.write('sent during the partition');
    await waitFor(() => proxy.heldConnections() === 1, { what: 'the connection to be held' });
    // Held means not even dialled upstream, so nothing can have reached the server or come back.
    assert.equal(echo.accepted.length, 0);
    assert.equal(client.received().length, 0);
    assert.equal(client.closed(), false);
    proxy.unblock();
    assert.equal(proxy.heldConnections(), 0);
    await waitFor(() => client.received().toString() === 'sent during the partition', { what: 'the delayed bytes to arrive' });
    await roundTrip(client, 'after');
    assert.equal(echo.accepted.length, 1);
  });

  test('a held connection the client gave up on is not resurrected by unblock()', async (t) => {
    const echo = await startEchoServer(t);
    const proxy = await proxyTo(t, echo.port);
    proxy.block();
    const client = await dial(t, proxy.port);
    await waitFor(() => proxy.heldConnections() === 1, { what: 'the connection to be held' });
    client.socket.destroy();
    proxy.unblock();
    // A held socket is not read, so the proxy learns of the hang-up only once spliced; then it closes at once.
    await waitFor(() => proxy.liveConnections() === 0 && proxy.heldConnections() === 0, { what: 'the abandoned connection to go' });
  });

  test('unblock() restores service for new connections', async (t) => {
    const echo = await startEchoServer(t);
    const proxy = await proxyTo(t, echo.port);
    const first = await dial(t, proxy.port);
    await roundTrip(first, 'one');
    proxy.block();
    await waitFor(() => first.closed(), { what: 'the cut' });
    proxy.unblock();
    assert.equal(proxy.isBlocked(), false);
    const second = await dial(t, proxy.port);
    await roundTrip(second, 'two');
    await roundTrip(second, 'three');
  });

  test("whenBlocked: 'reset' refuses new connections during a partition instead of holding them", async (t) => {
    const echo = await startEchoServer(t);
    const proxy = await proxyTo(t, echo.port, { whenBlocked: 'reset' });
    proxy.block();
    assert.equal(await dialUntilClosed(proxy.port), 'ECONNRESET');
    assert.equal(proxy.heldConnections(), 0);
    assert.equal(echo.accepted.length, 0);
    proxy.unblock();
    await roundTrip(await dial(t, proxy.port), 'back');
  });

  test('delay() adds latency each way and keeps the byte order', async (t) => {
    const echo = await startEchoServer(t);
    const proxy = await proxyTo(t, echo.port);
    const client = await dial(t, proxy.port);
    proxy.delay(150);
    const started = Date.now();
    const parts = Array.from({ length: 20 }, (_, i) => `<${i}>`);
    for (const part of parts) client.socket.write(part);
    await waitFor(() => client.received().toString() === parts.join(''), { what: 'the delayed echo' });
    // Timers never fire early by more than clock granularity; two legs of 150 ms each.
    assert.ok(Date.now() - started >= 290, `round trip took ${Date.now() - started} ms`);
    proxy.delay(0);
    await roundTrip(client, 'undelayed');
  });

  test('a dead target makes the proxied connection fail as a dead port would', async (t) => {
    const proxy = await proxyTo(t, await freePort());
    assert.equal(await dialUntilClosed(proxy.port), 'ECONNRESET');
    await waitFor(() => proxy.liveConnections() === 0, { what: 'the link to be dropped' });
  });

  test('close() destroys live and held connections and frees the port', async (t) => {
    const echo = await startEchoServer(t);
    const proxy = await startTcpProxy({ targetHost: '127.0.0.1', targetPort: echo.port });
    const live = await dial(t, proxy.port);
    await roundTrip(live, 'x');
    proxy.block();
    proxy.unblock();
    const again = await dial(t, proxy.port);
    await roundTrip(again, 'y');
    proxy.block();
    const held = await dial(t, proxy.port);
    await waitFor(() => proxy.heldConnections() === 1, { what: 'the held connection' });
    await proxy.close();
    await waitFor(() => held.closed() && again.closed(), { what: 'every client socket to close' });
    await waitFor(() => echo.accepted.every((s) => s.destroyed), { what: 'every upstream socket to close' });
    const reuse = createServer();
    await new Promise<void>((resolve, reject) => {
      reuse.once('error', reject);
      reuse.listen(proxy.port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => reuse.close(() => resolve()));
    await proxy.close(); // idempotent
  });

  test('listens on a requested port', async (t) => {
    const echo = await startEchoServer(t);
    const port = await freePort();
    const proxy = await proxyTo(t, echo.port, { listenPort: port });
    assert.equal(proxy.port, port);
    await roundTrip(await dial(t, port), 'fixed');
  });
});
