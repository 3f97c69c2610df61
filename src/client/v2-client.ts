import { posix } from 'node:path';
import { HttpExchanger, parseEndpoints, type ClientTls, type TransportKind } from './http-exchange.js';
import { CairnError, errorMessage } from '../util/errors.js';

/** A node as the v2 API returns it. */
export interface V2Node {
  readonly key?: string;
  readonly value?: string;
  readonly dir?: boolean;
  readonly nodes?: readonly V2Node[];
  readonly createdIndex?: number;
  readonly modifiedIndex?: number;
  readonly expiration?: string;
  readonly ttl?: number;
}

/** A successful /v2/keys answer: the body plus the index headers. */
export interface V2Result {
  readonly action: string;
  readonly node: V2Node;
  readonly prevNode?: V2Node;
  /** X-Etcd-Index: the store index when the answer was made (for a watch: when the watch started). */
  readonly etcdIndex: number;
  readonly raftIndex: number | undefined;
  readonly raftTerm: number | undefined;
  /** The endpoint that answered. */
  readonly endpoint: string;
}

/** Any HTTP answer, for callers that need the raw status and text (ctl's -o json, members, stats). */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  readonly endpoint: string;
}

/** The server answered with an etcd error body (errorCode/message/cause/index). */
export class V2ApiError extends CairnError {
  readonly errorCode: number;
  readonly reason: string;
  readonly errorCause: string | undefined;
  readonly index: number;
  readonly status: number;

  constructor(status: number, body: { errorCode: number; message: string; cause?: string; index?: number }) {
    super(
      'CAIRN_V2_API',
      `${body.errorCode}: ${body.message}${body.cause === undefined ? '' : ` (${body.cause})`} [${body.index ?? 0}]`,
    );
    this.errorCode = body.errorCode;
    this.reason = body.message;
    this.errorCause = body.cause;
    this.index = body.index ?? 0;
    this.status = status;
  }
}

/** Why one endpoint gave no answer; `cause` is the transport error itself (absent for a timeout). */
export interface EndpointFailure {
  readonly endpoint: string;
  readonly error: string;
  readonly cause?: unknown;
}

/** No endpoint gave an answer; `failures` says what went wrong with each. */
export class EndpointsUnavailableError extends CairnError {
  readonly failures: readonly EndpointFailure[];

  constructor(failures: readonly EndpointFailure[]) {
    super(
      'CAIRN_ENDPOINTS_UNAVAILABLE',
      `no endpoint answered: ${failures.map((f) => `${f.endpoint}: ${f.error}`).join('; ')}`,
    );
    this.failures = failures;
  }
}

/** The server answered, but not with something the v2 API would send. */
export class V2ProtocolError extends CairnError {
  constructor(message: string) {
    super('CAIRN_V2_PROTOCOL', message);
  }
}

export type V2ClientTls = ClientTls;

export interface V2ClientOptions {
  /** Base URLs, tried in order; the last one that answered is tried first. */
  readonly endpoints: readonly string[];
  readonly tls?: V2ClientTls;
  readonly username?: string;
  readonly password?: string;
  /** Per-attempt limit for ordinary requests; watches wait as long as the caller's signal allows. */
  readonly requestTimeoutMs?: number;
  /**
   * How requests travel: undici (the default, pooled, for long-running
   * processes) or node:http, which a one-shot command like `cairn ctl`
   * starts much faster with. Either is loaded on the first request.
   */
  readonly transport?: TransportKind;
}

export type QueryValue = string | number | boolean | undefined;

export interface RequestOptions {
  readonly query?: Readonly<Record<string, QueryValue>>;
  /** Sent as application/x-www-form-urlencoded. */
  readonly form?: Readonly<Record<string, QueryValue>>;
  /** A body sent as is (instead of `form`), e.g. JSON for /v2/members. */
  readonly body?: string;
  /** The Content-Type header, sent even without a body (etcd's Go client labels its DELETEs); defaults to the form's. */
  readonly contentType?: string;
  readonly signal?: AbortSignal;
  /** A long poll: no request timeout, only the signal ends it. */
  readonly longPoll?: boolean;
  /** Per-attempt timeout overriding the client's. */
  readonly timeoutMs?: number;
}

export interface GetOptions {
  readonly recursive?: boolean;
  readonly sorted?: boolean;
  readonly quorum?: boolean;
  readonly signal?: AbortSignal;
}

export interface SetOptions {
  readonly ttl?: number;
  readonly dir?: boolean;
  readonly prevExist?: boolean;
  readonly prevValue?: string;
  readonly prevIndex?: number;
  readonly refresh?: boolean;
  readonly signal?: AbortSignal;
}

export interface DeleteOptions {
  readonly dir?: boolean;
  readonly recursive?: boolean;
  readonly prevValue?: string;
  readonly prevIndex?: number;
  readonly signal?: AbortSignal;
}

export interface WatchOptions {
  readonly recursive?: boolean;
  readonly waitIndex?: number;
  readonly signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 5_000;
/** A server that keeps ending watches at once is broken, not busy: give up rather than spin. */
const MAX_EMPTY_WATCH_ANSWERS = 10;

/**
 * The URL path of a key. It is cleaned first, as etcd's Go client (and so
 * etcdctl) cleans it: `//`, `.` and `..` resolved and a trailing slash kept;
 * servers answer an unclean path with a redirect, not with the key. Unlike
 * the Go client, `..` cannot climb out of /v2/keys. Then each segment is
 * percent-encoded so that `/` stays the only separator.
 */
export function keyPath(key: string): string {
  const cleaned = posix.normalize(`/${key}`);
  return `/v2/keys${cleaned.split('/').map(encodeURIComponent).join('/')}`;
}

function encodeParams(params: Readonly<Record<string, QueryValue>> | undefined): string {
  if (params === undefined) return '';
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) search.append(name, String(value));
  }
  return search.toString();
}

function headerNumber(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** True when the request never reached a server that could have acted on it, or the answer was cut off. */
export function isTransportError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  // Socket errors (ECONNREFUSED), undici's, and TLS ones: OpenSSL's (ERR_SSL_WRONG_VERSION_NUMBER
  // when an endpoint speaks plain HTTP), Node's (ERR_TLS_CERT_ALTNAME_INVALID) and certificate
  // verification failures, which carry OpenSSL's X509_V_ERR names (UNABLE_TO_VERIFY_LEAF_SIGNATURE).
  return /^(E[A-Z]+|UND_ERR_\w+|ERR_(SSL|TLS)_\w+)$/.test(code) || /CERT|^UNABLE_TO_|^HOSTNAME_MISMATCH$|^INVALID_(CA|PURPOSE)$/.test(code);
}

export function describeTransportError(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const detail = typeof cause?.code === 'string' ? cause.code : typeof code === 'string' ? code : '';
  const message = errorMessage(err);
  return detail !== '' && !message.includes(detail) ? `${message} (${detail})` : message;
}

/**
 * A client for the etcd v2 keys API over undici, shared by the agent's
 * `etcd` backend, `cairn ctl` and `cairn register`. It fails over between
 * endpoints when a request gets no answer, and sticks to the one that
 * answered last. Errors: V2ApiError for an etcd error body,
 * EndpointsUnavailableError when nobody answered, an AbortError when the
 * caller's signal fired.
 */
export class V2Client {
  readonly endpoints: readonly string[];
  readonly #http: HttpExchanger;
  readonly #authorization: string | undefined;
  readonly #timeoutMs: number;
  #preferred = 0;

  constructor(options: V2ClientOptions) {
    this.endpoints = parseEndpoints(options.endpoints);
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#http = new HttpExchanger({ tls: options.tls, connectTimeoutMs: this.#timeoutMs, transport: options.transport ?? 'undici' });
    this.#authorization =
      options.username === undefined
        ? undefined
        : `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
  }

  /** The endpoint tried first on the next request. */
  get currentEndpoint(): string {
    return this.endpoints[this.#preferred] as string;
  }

  /** Sends one request, failing over between endpoints when there is no answer. Any HTTP status resolves. */
  async raw(method: string, path: string, options: RequestOptions = {}): Promise<RawResponse> {
    const query = encodeParams(options.query);
    const body = options.body ?? (options.form === undefined ? undefined : encodeParams(options.form));
    const contentType = options.contentType ?? (options.form === undefined ? undefined : 'application/x-www-form-urlencoded');
    const failures: EndpointFailure[] = [];
    for (let attempt = 0; attempt < this.endpoints.length; attempt++) {
      const slot = (this.#preferred + attempt) % this.endpoints.length;
      const endpoint = this.endpoints[slot] as string;
      options.signal?.throwIfAborted();
      const signals: AbortSignal[] = [];
      if (options.signal !== undefined) signals.push(options.signal);
      if (options.longPoll !== true) signals.push(AbortSignal.timeout(options.timeoutMs ?? this.#timeoutMs));
      const signal = signals.length === 0 ? undefined : AbortSignal.any(signals);
      try {
        const headers: Record<string, string> = {};
        if (contentType !== undefined) headers['content-type'] = contentType;
        if (this.#authorization !== undefined) headers['authorization'] = this.#authorization;
        const res = await this.#http.exchange({ origin: endpoint, path: `${path}${query === '' ? '' : `?${query}`}`, method, headers, body, signal });
        this.#preferred = slot;
        return { ...res, endpoint };
      } catch (err) {
        if (options.signal?.aborted === true) throw options.signal.reason;
        const timedOut = signal?.aborted === true;
        if (!timedOut && !isTransportError(err)) throw err;
        failures.push(
          timedOut
            ? { endpoint, error: `no answer within ${options.timeoutMs ?? this.#timeoutMs} ms` }
            : { endpoint, error: describeTransportError(err), cause: err },
        );
      }
    }
    throw new EndpointsUnavailableError(failures);
  }

  /** A /v2/keys request; resolves with the event body, rejects with V2ApiError for an etcd error. */
  async keys(method: string, key: string, options: RequestOptions = {}): Promise<V2Result> {
    return this.#keysResult(method, key, await this.raw(method, keyPath(key), options));
  }

  #keysResult(method: string, key: string, res: RawResponse): V2Result {
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.text);
    } catch {
      throw new V2ProtocolError(`${method} ${key} at ${res.endpoint}: HTTP ${res.status} with a body that is not JSON: ${res.text.slice(0, 200)}`);
    }
    if (typeof parsed !== 'object' || parsed === null) {
      throw new V2ProtocolError(`${method} ${key} at ${res.endpoint}: HTTP ${res.status} with an unexpected body`);
    }
    const body = parsed as Record<string, unknown>;
    if (typeof body['errorCode'] === 'number') {
      throw new V2ApiError(res.status, body as unknown as { errorCode: number; message: string; cause?: string; index?: number });
    }
    if (typeof body['action'] !== 'string' || typeof body['node'] !== 'object') {
      throw new V2ProtocolError(`${method} ${key} at ${res.endpoint}: HTTP ${res.status} without action and node`);
    }
    const etcdIndex = headerNumber(res.headers['x-etcd-index']);
    if (etcdIndex === undefined) throw new V2ProtocolError(`${method} ${key} at ${res.endpoint}: no X-Etcd-Index header`);
    return {
      action: body['action'],
      node: body['node'] as V2Node,
      ...(body['prevNode'] === undefined ? {} : { prevNode: body['prevNode'] as V2Node }),
      etcdIndex,
      raftIndex: headerNumber(res.headers['x-raft-index']),
      raftTerm: headerNumber(res.headers['x-raft-term']),
      endpoint: res.endpoint,
    };
  }

  get(key: string, options: GetOptions = {}): Promise<V2Result> {
    return this.keys('GET', key, {
      query: {
        recursive: options.recursive === true ? true : undefined,
        sorted: options.sorted === true ? true : undefined,
        quorum: options.quorum === true ? true : undefined,
      },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  /** PUT; value undefined with dir=true makes a directory, with refresh=true only resets the TTL. */
  set(key: string, value: string | undefined, options: SetOptions = {}): Promise<V2Result> {
    return this.keys('PUT', key, {
      form: {
        value,
        ttl: options.ttl,
        dir: options.dir === true ? true : undefined,
        prevExist: options.prevExist,
        prevValue: options.prevValue,
        prevIndex: options.prevIndex,
        refresh: options.refresh === true ? true : undefined,
      },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  /** POST: an in-order key under the directory `key`. */
  createInOrder(key: string, value: string, options: { ttl?: number; signal?: AbortSignal } = {}): Promise<V2Result> {
    return this.keys('POST', key, {
      form: { value, ttl: options.ttl },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  delete(key: string, options: DeleteOptions = {}): Promise<V2Result> {
    return this.keys('DELETE', key, {
      query: {
        dir: options.dir === true ? true : undefined,
        recursive: options.recursive === true ? true : undefined,
        prevValue: options.prevValue,
        prevIndex: options.prevIndex,
      },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  /** One long poll: resolves with the first event at or after waitIndex. */
  async watch(key: string, options: WatchOptions = {}): Promise<V2Result> {
    let waitIndex = options.waitIndex;
    for (let empty = 0; ; empty++) {
      const res = await this.raw('GET', keyPath(key), {
        query: { wait: true, recursive: options.recursive === true ? true : undefined, waitIndex },
        longPoll: true,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      // etcd and Cairn end a long poll with headers and an empty body when they drop the
      // watcher; etcd's Go client polls again. Without a waitIndex, poll from the index the
      // server stood at (X-Etcd-Index) so that nothing written in between is missed.
      if (res.status !== 200 || res.text !== '' || empty >= MAX_EMPTY_WATCH_ANSWERS) return this.#keysResult('GET', key, res);
      if (waitIndex === undefined) {
        const index = headerNumber(res.headers['x-etcd-index']);
        if (index !== undefined) waitIndex = index + 1;
      }
    }
  }

  close(): Promise<void> {
    return this.#http.close();
  }
}
