import type { Dispatcher } from 'undici';
import { CairnError } from '../util/errors.js';
import type { NodeHttpTransport } from './node-http-transport.js';

/** Client TLS material, as PEM text or bytes. */
export interface ClientTls {
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly ca?: string | Buffer;
}

export type TransportKind = 'undici' | 'node-http';

export interface Exchange {
  readonly origin: string;
  readonly path: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface ExchangeAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
}

/** Endpoint URLs without trailing slashes; throws CAIRN_CONFIG for an empty list, a non-URL or a scheme other than http(s). */
export function parseEndpoints(endpoints: readonly string[]): string[] {
  if (endpoints.length === 0) throw new CairnError('CAIRN_CONFIG', 'at least one endpoint is required');
  const cleaned = endpoints.map((e) => e.replace(/\/+$/, ''));
  for (const endpoint of cleaned) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new CairnError('CAIRN_CONFIG', `endpoint ${JSON.stringify(endpoint)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new CairnError('CAIRN_CONFIG', `endpoint ${endpoint}: only http and https are supported`);
    }
  }
  return cleaned;
}

/**
 * One request/answer over undici (pooled, for long-running processes) or
 * node:http (which a one-shot command starts much faster with). Both are
 * loaded on first use, so building a client costs nothing at start-up.
 * Shared by the v2 and v3 clients.
 */
export class HttpExchanger {
  readonly #tls: ClientTls | undefined;
  readonly #connectTimeoutMs: number;
  readonly #transport: TransportKind;
  #dispatcher: Promise<Dispatcher> | undefined;
  #nodeHttp: Promise<NodeHttpTransport> | undefined;

  constructor(options: { tls: ClientTls | undefined; connectTimeoutMs: number; transport: TransportKind }) {
    this.#tls = options.tls;
    this.#connectTimeoutMs = options.connectTimeoutMs;
    this.#transport = options.transport;
  }

  /** The undici agent, for callers that stream (v3 watches) whatever the configured transport. */
  undici(): Promise<Dispatcher> {
    this.#dispatcher ??= import('undici').then(({ Agent }) => {
      const tls = this.#tls;
      return new Agent({
        keepAliveTimeout: 30_000,
        // Long polls and streams last as long as the caller wants: signals bound them, not the socket.
        headersTimeout: 0,
        bodyTimeout: 0,
        connect: {
          timeout: this.#connectTimeoutMs,
          ...(tls?.ca === undefined ? {} : { ca: tls.ca }),
          ...(tls?.cert === undefined ? {} : { cert: tls.cert }),
          ...(tls?.key === undefined ? {} : { key: tls.key }),
        },
      });
    });
    return this.#dispatcher;
  }

  async exchange(request: Exchange): Promise<ExchangeAnswer> {
    const optional = {
      ...(request.body === undefined ? {} : { body: request.body }),
      ...(request.signal === undefined ? {} : { signal: request.signal }),
    };
    if (this.#transport === 'node-http') {
      this.#nodeHttp ??= import('./node-http-transport.js').then(({ NodeHttpTransport }) => new NodeHttpTransport(this.#tls));
      const transport = await this.#nodeHttp;
      return transport.request({
        origin: request.origin,
        path: request.path,
        method: request.method,
        headers: request.headers,
        connectTimeoutMs: this.#connectTimeoutMs,
        ...optional,
      });
    }
    const res = await (await this.undici()).request({
      origin: request.origin,
      path: request.path,
      method: request.method as Dispatcher.HttpMethod,
      headers: request.headers,
      ...optional,
    });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  async close(): Promise<void> {
    if (this.#nodeHttp !== undefined) (await this.#nodeHttp).close();
    if (this.#dispatcher !== undefined) await (await this.#dispatcher).destroy();
  }
}
