import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.js';
import type { KeyService, MemberInfo } from '../server/key-service.js';
import type { ClusterView } from './cluster-view.js';
import { goJson, goTime } from '../v2store/go-json.js';
import { goDuration } from './go-duration.js';
import { KeysHandler } from './keys-handler.js';
import { MembersHandler } from './members-handler.js';
import { send, sendMethodNotAllowed, sendNotFound, sendText } from './responses.js';

/** The etcd release whose v2 API Cairn speaks; clients check the major/minor. */
export const ETCD_API_VERSION = '3.4.0';

export interface ClientApiOptions {
  readonly service: KeyService;
  readonly member: MemberInfo;
  readonly clusterId: string;
  readonly logger: Logger;
  readonly startedAt?: number;
  /** A replicated cluster's members, leader and stats; without it the server reports a single node. */
  readonly cluster?: ClusterView;
}

/** The client-facing HTTP API: /v2/keys, /v2/members, /v2/stats/*, /version, /health. */
export function createClientServer(options: ClientApiOptions): Server {
  const keys = new KeysHandler({ service: options.service, clusterId: options.clusterId, logger: options.logger });
  const startedAt = options.startedAt ?? Date.now();
  const { service, member, logger, cluster } = options;
  const members = new MembersHandler({ member, cluster, clusterId: options.clusterId, logger });

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const rawQuery = q === -1 ? '' : url.slice(q + 1);
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      // Go's server refuses an unparsable URL before any handler (so before CORS) runs.
      req.resume();
      res.writeHead(400, ['Content-Type', 'text/plain; charset=utf-8', 'Connection', 'close']);
      res.end('400 Bad Request');
      return;
    }
    if (req.method === 'OPTIONS') {
      req.resume();
      send(res, 200, [], '');
      return;
    }
    const clean = cleanUrlPath(path);
    if (clean !== path) {
      // Go's ServeMux redirects unclean paths rather than guessing.
      req.resume();
      const location = rawQuery === '' ? escapeUrlPath(clean) : `${escapeUrlPath(clean)}?${rawQuery}`;
      // Go's http.Redirect: an HTML hint for GET and HEAD, a bare Location otherwise.
      if (req.method === 'GET' || req.method === 'HEAD') {
        send(res, 301, ['Content-Type', 'text/html; charset=utf-8', 'Location', location], `<a href="${escapeHtml(location)}">Moved Permanently</a>.\n\n`);
      } else {
        send(res, 301, ['Location', location], '');
      }
      return;
    }

    if (path === '/v2/keys' || path.startsWith('/v2/keys/')) {
      await keys.handle(req, res, path.slice('/v2/keys'.length), rawQuery);
      return;
    }
    if (path === '/v2/members' || path.startsWith('/v2/members/')) {
      await members.handle(req, res, path.slice('/v2/members'.length));
      return;
    }
    req.resume();
    switch (path) {
      case '/version':
        if (!allow(req, res, ['GET'])) return;
        sendRawJson(res, { etcdserver: ETCD_API_VERSION, etcdcluster: ETCD_API_VERSION });
        return;
      case '/health':
        if (!allow(req, res, ['GET'])) return;
        if (cluster !== undefined && !cluster.healthy()) {
          // etcd answers with http.Error: the JSON as text, a newline, 503.
          sendText(res, 503, '{"health":"false"}\n');
          return;
        }
        // etcd writes this body raw, labelled as text.
        send(res, 200, ['Content-Type', 'text/plain; charset=utf-8'], '{"health":"true"}');
        return;
      case '/v2/machines':
        if (!allow(req, res, ['GET', 'HEAD'])) return;
        send(res, 200, ['Content-Type', 'text/plain; charset=utf-8'], (cluster?.members() ?? [member]).flatMap((m) => m.clientURLs).join(', '));
        return;
      case '/v2/stats/store':
        if (!allow(req, res, ['GET'])) return;
        sendRawJson(res, service.store.stats.toJson(service.store.watcherCount));
        return;
      case '/v2/stats/self': {
        if (!allow(req, res, ['GET'])) return;
        if (cluster !== undefined) {
          sendRawJson(res, cluster.selfStats());
          return;
        }
        const now = Date.now();
        sendRawJson(res, {
          name: member.name,
          id: member.id,
          state: 'StateLeader',
          startTime: goTime(startedAt),
          leaderInfo: { leader: member.id, uptime: goDuration(now - startedAt), startTime: goTime(startedAt) },
          recvAppendRequestCnt: 0,
          sendAppendRequestCnt: 0,
        });
        return;
      }
      case '/v2/stats/leader': {
        if (!allow(req, res, ['GET'])) return;
        if (cluster === undefined) {
          sendRawJson(res, { leader: member.id, followers: {} });
          return;
        }
        const stats = cluster.leaderStats();
        if (stats === undefined) sendHttpError(res, 403, 'not current leader');
        else sendRawJson(res, stats);
        return;
      }
      default:
        sendNotFound(res);
    }
  };

  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    route(req, res).catch((err: unknown) => {
      logger.error({ err }, 'request failed');
      if (!res.headersSent) sendText(res, 500, 'internal error\n');
      else res.end();
    });
  });
  // Long polls may wait for hours; only idle keep-alive sockets time out.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.on('clientError', (err, socket) => {
    logger.debug({ err }, 'malformed HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  return server;
}

/** etcd's httptypes.HTTPError: `{"message":…}` as JSON, no trailing newline. */
function sendHttpError(res: ServerResponse, status: number, message: string): void {
  send(res, status, ['Content-Type', 'application/json'], goJson({ message }));
}

/** etcd writes pre-encoded JSON for /version and /v2/stats/*: no trailing newline, unlike its Encoder output. */
function sendRawJson(res: ServerResponse, value: unknown): void {
  send(res, 200, ['Content-Type', 'application/json'], goJson(value));
}

function allow(req: IncomingMessage, res: ServerResponse, methods: readonly string[]): boolean {
  if (methods.includes(req.method ?? '')) return true;
  sendMethodNotAllowed(res, methods);
  return false;
}

/** Go's URL path escaping: unreserved characters and $&+,/:;=@ stay, the rest become %XX. */
function escapeUrlPath(path: string): string {
  let out = '';
  for (const byte of Buffer.from(path, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+,/:;=@]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');
}

/** Go's ServeMux cleanPath: path.Clean, keeping one trailing slash. */
function cleanUrlPath(path: string): string {
  if (path === '') return '/';
  if (path.startsWith('/') && !path.includes('//') && !path.includes('/.')) return path;
  const rooted = path.startsWith('/') ? path : `/${path}`;
  const parts: string[] = [];
  for (const part of rooted.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  let clean = `/${parts.join('/')}`;
  if (rooted.endsWith('/') && clean !== '/') clean += '/';
  return clean;
}
