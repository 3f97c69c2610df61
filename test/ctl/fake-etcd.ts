/**
 * A scriptable stand-in for an etcd v2 server, for what a real one will not
 * do on demand: answer 5xx, send broken bodies, stall, redirect, report
 * unhealthy members. It records every request, so the test can also check
 * that `cairn ctl` sends what etcdctl sends.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface FakeRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The client certificate's common name, on TLS connections that sent one. */
  readonly clientCn: string | undefined;
}

export interface FakeReply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Wait this long before sending anything (to trip client timeouts). */
  readonly delayMs?: number;
}

/** Decides the reply; `self` is the server's own base URL. */
export type FakeHandler = (req: FakeRequest, self: string) => FakeReply | undefined;

export interface FakeEtcd {
  readonly url: string;
  readonly requests: FakeRequest[];
  close(): Promise<void>;
}

export const FAKE_MEMBER_ID = 'a1b2c3d4e5f60718';

/** A single healthy member whose client URL is the server itself, and a fixed key event for everything else. */
export function etcdLike(overrides: FakeHandler = () => undefined): FakeHandler {
  return (req, self) => {
    const own = overrides(req, self);
    if (own !== undefined) return own;
    const path = req.url.split('?')[0] ?? '';
    const member = { id: FAKE_MEMBER_ID, name: 'fake', peerURLs: ['http://127.0.0.1:2380'], clientURLs: [self] };
    if (path === '/v2/members' && req.method === 'GET') return json(200, { members: [member] });
    if (path === '/v2/members/leader') return json(200, member);
    if (path === '/health') return json(200, { health: 'true' });
    if (path.startsWith('/v2/keys')) {
      const key = decodeURIComponent(path.slice('/v2/keys'.length)) || '/';
      return json(200, { action: req.method === 'DELETE' ? 'delete' : req.method === 'GET' ? 'get' : 'set', node: { key, value: 'v', modifiedIndex: 7, createdIndex: 7 }, prevNode: { key, value: 'old', modifiedIndex: 6, createdIndex: 6 } }, { 'X-Etcd-Index': '7' });
    }
    return { status: 404, body: '404 page not found\n' };
  };
}

export function json(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): FakeReply {
  return { status, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } };
}

export async function startFakeEtcd(handler: FakeHandler, tls?: ServerOptions): Promise<FakeEtcd> {
  const requests: FakeRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let self = '';
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const cert = tls === undefined ? undefined : (req.socket as TLSSocket).getPeerCertificate();
      const cn = cert?.subject?.CN;
      const recorded: FakeRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        clientCn: typeof cn === 'string' ? cn : undefined,
      };
      requests.push(recorded);
      const reply = handler(recorded, self) ?? { status: 500, body: 'no reply scripted' };
      const send = (): void => {
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      };
      if (reply.delayMs === undefined) send();
      else {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!res.destroyed) send();
        }, reply.delayMs);
        timers.add(timer);
      }
    });
  };
  const server: Server = tls === undefined ? createHttpServer(serve) : createHttpsServer(tls, serve);
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake etcd has no port');
  self = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${address.port}`;
  return {
    url: self,
    requests,
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
