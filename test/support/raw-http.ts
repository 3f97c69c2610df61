import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/**
 * One HTTP request exactly as written: the path goes on the wire unparsed
 * (`..`, `//`, `%zz` stay), unlike fetch, which would normalize it first.
 */
export interface RawRequest {
  readonly method: string;
  /** Path plus query string, e.g. `/v2/keys/a?wait=true`. Non-ASCII must be %-encoded. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ', '. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly text: string;
  /** Wall clock (ms) when the request was sent and when the body ended. */
  readonly sentAt: number;
  readonly receivedAt: number;
}

/** A request whose response may take a while (a watch); it can be inspected before it ends. */
export interface PendingRequest {
  /** Resolves once the status line and headers arrived (etcd flushes them at once for watches). */
  readonly headers: Promise<{ status: number; headers: Readonly<Record<string, string>> }>;
  readonly response: Promise<RawResponse>;
  isDone(): boolean;
  /** The response once it fully arrived, else undefined. */
  settled(): RawResponse | undefined;
  /** The body received so far (a streaming watch never ends). */
  partial(): string;
  /** Closes the connection; `response` then rejects (unless it already ended). */
  abort(): void;
}

function flattenHeaders(raw: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * Sends `req` to `baseUrl` on a fresh connection. A fresh connection per
 * request avoids reusing a keep-alive socket the server is closing at that
 * instant (a source of spurious ECONNRESET on loaded machines).
 */
export function startRaw(baseUrl: string, req: RawRequest, timeoutMs = 30_000): PendingRequest {
  const url = new URL(baseUrl);
  const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
  const headers: Record<string, string> = { ...req.headers };
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
    headers['Content-Length'] = String(body.length);
  }
  let done = false;
  let result: RawResponse | undefined;
  const chunks: Buffer[] = [];
  let resolveHeaders!: (v: { status: number; headers: Record<string, string> }) => void;
  let rejectHeaders!: (err: Error) => void;
  const headersPromise = new Promise<{ status: number; headers: Record<string, string> }>((res, rej) => {
    resolveHeaders = res;
    rejectHeaders = rej;
  });
  // A watch that is never awaited must not crash the run with an unhandled rejection.
  headersPromise.catch(() => undefined);
  const sentAt = Date.now();
  const clientReq = httpRequest({
    host: url.hostname,
    port: url.port,
    method: req.method,
    // Node refuses to send raw non-ASCII or spaces; encode just those, keep every other byte as given.
    path: req.path.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c)),
    headers,
    agent: false,
    setHost: true,
  });
  const response = new Promise<RawResponse>((resolve, reject) => {
    const timer = setTimeout(() => {
      clientReq.destroy(new Error(`no complete response to ${req.method} ${req.path} within ${timeoutMs} ms`));
    }, timeoutMs);
    clientReq.on('response', (res) => {
      const flat = flattenHeaders(res.headers);
      resolveHeaders({ status: res.statusCode ?? 0, headers: flat });
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        done = true;
        const buf = Buffer.concat(chunks);
        result = {
          status: res.statusCode ?? 0,
          headers: flat,
          body: buf,
          text: buf.toString('utf8'),
          sentAt,
          receivedAt: Date.now(),
        };
        resolve(result);
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        done = true;
        reject(err);
      });
    });
    clientReq.on('error', (err) => {
      clearTimeout(timer);
      done = true;
      rejectHeaders(err);
      reject(err);
    });
  });
  response.catch(() => undefined);
  if (body !== undefined) clientReq.end(body);
  else clientReq.end();
  return {
    headers: headersPromise,
    response,
    isDone: () => done,
    settled: () => result,
    partial: () => Buffer.concat(chunks).toString('utf8'),
    abort: () => {
      clientReq.destroy(new Error('aborted by test'));
    },
  };
}

export async function sendRaw(baseUrl: string, req: RawRequest, timeoutMs?: number): Promise<RawResponse> {
  return startRaw(baseUrl, req, timeoutMs).response;
}
