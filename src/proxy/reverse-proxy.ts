import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { BodyTooLargeError, readBody } from '../http/body.js';
import type { Logger } from '../log/logger.js';
import { neverConnected } from '../transport/connect-errors.js';
import { errorMessage } from '../util/errors.js';
import type { Director } from './director.js';

// Hop-by-hop headers belong to one connection, not to the request (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade']);
/** Larger than any body a member takes (it answers 413 itself), small enough not to hoard memory. */
const MAX_BODY_BYTES = 8 << 20;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface ReverseProxyOptions {
  readonly director: Director;
  readonly logger: Logger;
  readonly dialTimeoutMs: number;
  /** 0: a request may take as long as it likes (long-poll watches). */
  readonly readTimeoutMs: number;
  /** --proxy readonly: only GETs are forwarded. */
  readonly readonly: boolean;
}

/** etcd's httptypes.HTTPError body: `{"message":…}`, no trailing newline. */
function httpError(res: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ message });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

function forwardHeaders(headers: IncomingHttpHeaders, remote: string | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const named = new Set((typeof headers.connection === 'string' ? headers.connection : '').split(',').map((h) => h.trim().toLowerCase()));
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name) || name === 'host' || name === 'content-length') continue;
    out[name] = value;
  }
  if (remote !== undefined) {
    const prior = headers['x-forwarded-for'];
    out['x-forwarded-for'] = prior === undefined ? remote : `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remote}`;
  }
  return out;
}

function responseHeaders(headers: Dispatcher.ResponseData['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * etcd v2's proxy: every client request goes to the first member that
 * answers, in the director's order; a member that gives no answer is
 * left out for the failure wait. Safe methods are retried on the next
 * member after any failure; writes only when the connection was never
 * made, since a write that reached a member that then failed may have
 * been applied. Answers stream through as they come, so long polls and
 * streaming watches work.
 */
export class ReverseProxy {
  readonly #o: ReverseProxyOptions;
  readonly #agent: Agent;

  constructor(options: ReverseProxyOptions) {
    this.#o = options;
    this.#agent = new Agent({
      connect: { timeout: options.dialTimeoutMs },
      keepAliveTimeout: 30_000,
      headersTimeout: options.readTimeoutMs,
      bodyTimeout: options.readTimeoutMs,
    });
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    if (this.#o.readonly && method !== 'GET') {
      req.resume();
      res.writeHead(501, { 'content-length': 0 }).end();
      return;
    }
    let body: Buffer | undefined;
    if (method !== 'GET' && method !== 'HEAD') {
      try {
        body = await readBody(req, MAX_BODY_BYTES);
      } catch (err) {
        if (err instanceof BodyTooLargeError) {
          httpError(res, 413, `httpproxy: ${err.message}`);
          return;
        }
        httpError(res, 500, `httpproxy: failed to read request body: ${errorMessage(err)}`);
        return;
      }
    } else {
      req.resume();
    }
    const endpoints = this.#o.director.available();
    if (endpoints.length === 0) {
      this.#o.logger.warn('proxy: zero endpoints currently available');
      httpError(res, 503, 'httpproxy: zero endpoints currently available');
      return;
    }
    const abort = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) abort.abort();
    };
    res.on('close', onClose);
    const headers = forwardHeaders(req.headers, req.socket.remoteAddress);
    try {
      for (const endpoint of endpoints) {
        let upstream: Dispatcher.ResponseData;
        try {
          upstream = await this.#agent.request({
            origin: endpoint,
            path: req.url ?? '/',
            method: method as Dispatcher.HttpMethod,
            headers,
            ...(body === undefined ? {} : { body }),
            signal: abort.signal,
          });
        } catch (err) {
          if (abort.signal.aborted) return;
          this.#o.director.failed(endpoint);
          this.#o.logger.warn({ endpoint, err: errorMessage(err) }, 'proxy: failed to direct request');
          if (SAFE_METHODS.has(method) || neverConnected(err)) continue;
          break;
        }
        this.#o.director.succeeded(endpoint);
        await this.#relay(upstream, res, endpoint);
        return;
      }
      httpError(res, 502, `httpproxy: unable to get response from ${endpoints.length} endpoint(s)`);
    } finally {
      res.off('close', onClose);
    }
  }

  async #relay(upstream: Dispatcher.ResponseData, res: ServerResponse, endpoint: string): Promise<void> {
    res.writeHead(upstream.statusCode, responseHeaders(upstream.headers));
    // Long polls: the member sent its headers early so that clients know the watch is set; pass them on now.
    res.flushHeaders();
    try {
      for await (const chunk of upstream.body) {
        if (!res.write(chunk as Buffer)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
        if (res.destroyed) break;
      }
      res.end();
    } catch (err) {
      // The member went away mid-answer: the client's request is broken too (it re-watches, or retries).
      this.#o.logger.debug({ endpoint, err: errorMessage(err) }, 'proxy: upstream answer cut off');
      res.destroy();
      upstream.body.destroy();
    }
  }

  close(): Promise<void> {
    return this.#agent.destroy();
  }
}
