import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ClientTls } from './http-exchange.js';

/**
 * One HTTP exchange over node:http, for short-lived processes (`cairn ctl`)
 * where loading undici would cost more than the request itself. Errors keep
 * Node's socket error shape (code, syscall, address, port), like undici's.
 */

/** TLS material for https endpoints. */
export type NodeHttpTls = ClientTls;

export interface NodeHttpExchange {
  readonly origin: string;
  readonly path: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
  readonly connectTimeoutMs: number;
}

export interface NodeHttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** Keep-alive agents per protocol, so consecutive requests of one command share a connection. */
export class NodeHttpTransport {
  readonly #tls: NodeHttpTls | undefined;
  #http: HttpAgent | undefined;
  #https: HttpsAgent | undefined;

  constructor(tls: NodeHttpTls | undefined) {
    this.#tls = tls;
  }

  request(exchange: NodeHttpExchange): Promise<NodeHttpAnswer> {
    const url = new URL(exchange.origin);
    const secure = url.protocol === 'https:';
    const agent = secure ? (this.#https ??= new HttpsAgent({ keepAlive: true, ...this.#tls })) : (this.#http ??= new HttpAgent({ keepAlive: true }));
    const send = secure ? httpsRequest : httpRequest;
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
    return new Promise((resolve, reject) => {
      const req = send(
        {
          hostname,
          port,
          method: exchange.method,
          path: exchange.path,
          headers: exchange.body === undefined ? exchange.headers : { ...exchange.headers, 'content-length': String(Buffer.byteLength(exchange.body)) },
          agent,
          ...(exchange.signal === undefined ? {} : { signal: exchange.signal }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => {
          const err = Object.assign(new Error(`connect ETIMEDOUT ${hostname}:${port}`), { code: 'ETIMEDOUT', syscall: 'connect', address: hostname, port });
          req.destroy(err);
        }, exchange.connectTimeoutMs);
        socket.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      req.end(exchange.body);
    });
  }

  close(): void {
    this.#http?.destroy();
    this.#https?.destroy();
  }
}
