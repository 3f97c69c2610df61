import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { Message } from '../raft/types.js';
import { CairnError, errorMessage } from '../util/errors.js';
import { decodeMessages } from './codec.js';
import { CLUSTER_HEADER, ETCD_CLUSTER_HEADER, FROM_HEADER, MEMBERS_PATH, MESSAGES_PATH, SNAPSHOT_PATH } from './paths.js';
import { encodePeerMembers } from './peer-members.js';
import type { PeerMembership } from './transport.js';

const MAX_MESSAGES_BYTES = 256 << 20;
const MAX_SNAPSHOT_BYTES = 2 ** 31 - 1;

export interface PeerServerOptions {
  readonly clusterId: string;
  readonly logger: Logger;
  /** Called with each decoded batch, in arrival order; `bytes` is the request body size. */
  onMessages(messages: Message[], bytes: number): void;
  readonly membership?: PeerMembership;
}

/** etcd's words to a removed member; it logs them before it stops. */
export const REMOVED_MESSAGE = 'the member has been permanently removed from the cluster';

export class PeerListenError extends CairnError {
  constructor(url: string, cause: unknown) {
    super('CAIRN_PEER_LISTEN', `cannot listen for peers on ${url}: ${errorMessage(cause)}`, { cause });
  }
}

class BodyTooLargeError extends CairnError {
  constructor(limit: number) {
    super('CAIRN_PEER_BODY_TOO_LARGE', `peer request body over ${limit} bytes`);
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

/** The peer-facing HTTP listeners (--listen-peer-urls): they receive Raft messages and hand them on. */
export class PeerServer {
  readonly #opts: PeerServerOptions;
  readonly #servers: Server[] = [];
  #warnedForeign = false;

  constructor(options: PeerServerOptions) {
    this.#opts = options;
  }

  /** Listens on every URL; resolves with the URLs actually bound (port 0 resolved). */
  async listen(urls: readonly string[]): Promise<string[]> {
    const bound: string[] = [];
    for (const text of urls) {
      const url = new URL(text);
      if (url.protocol !== 'http:') throw new PeerListenError(text, new Error('only http peer listeners are supported'));
      const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
        this.#handle(req, res).catch((err: unknown) => {
          this.#opts.logger.warn({ err }, 'peer request failed');
          if (!res.headersSent) res.writeHead(500).end();
          else res.end();
        });
      });
      server.requestTimeout = 0;
      const host = url.hostname.replace(/^\[|\]$/g, '');
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(Number(url.port || 2380), host, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        await this.close();
        throw new PeerListenError(text, err);
      }
      this.#servers.push(server);
      bound.push(`${url.protocol}//${url.hostname}:${(server.address() as AddressInfo).port}`);
    }
    return bound;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#servers.splice(0).map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    if (path === MEMBERS_PATH && this.#opts.membership !== undefined) {
      this.#serveMembers(req, res, this.#opts.membership);
      return;
    }
    if (req.method !== 'POST' || (path !== MESSAGES_PATH && path !== SNAPSHOT_PATH)) {
      req.resume();
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const cluster = req.headers[CLUSTER_HEADER];
    if (cluster !== this.#opts.clusterId) {
      req.resume();
      if (!this.#warnedForeign) {
        this.#warnedForeign = true;
        this.#opts.logger.warn({ remote: req.socket.remoteAddress, cluster }, 'refusing peer messages from another cluster');
      }
      res.writeHead(412, { 'content-type': 'text/plain', connection: 'close' }).end(`cluster id mismatch (this is ${this.#opts.clusterId})\n`);
      return;
    }
    const from = req.headers[FROM_HEADER];
    if (typeof from === 'string' && this.#opts.membership?.isRemoved(from) === true) {
      req.resume();
      this.#opts.logger.warn({ peer: from }, 'refusing messages from a removed member');
      res.writeHead(410, { 'content-type': 'text/plain', connection: 'close' }).end(`${REMOVED_MESSAGE}\n`);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, path === SNAPSHOT_PATH ? MAX_SNAPSHOT_BYTES : MAX_MESSAGES_BYTES);
    } catch (err) {
      res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end(`${errorMessage(err)}\n`);
      return;
    }
    let messages: Message[];
    try {
      messages = decodeMessages(body);
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`${errorMessage(err)}\n`);
      return;
    }
    this.#opts.onMessages(messages, body.length);
    res.writeHead(204).end();
  }

  /** etcd's peer GET /members: the member list and the cluster id, for members joining and for proxies. */
  #serveMembers(req: IncomingMessage, res: ServerResponse, membership: PeerMembership): void {
    req.resume();
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
      return;
    }
    const body = encodePeerMembers(membership.members());
    res.writeHead(200, { 'content-type': 'application/json', [ETCD_CLUSTER_HEADER]: this.#opts.clusterId }).end(`${body}\n`);
  }
}
