import { CairnError } from '../util/errors.js';
import {
  encodeBytes,
  int64,
  int64Text,
  parseHeader,
  parseKeyValues,
  type V3Header,
  type V3KeyValue,
} from './etcd-v3-codec.js';
import { apiError, EtcdV3ApiError, EtcdV3ProtocolError, GRPC } from './etcd-v3-errors.js';
import { openWatchStream, type WatchCreate, type WatchStream } from './etcd-v3-watch-stream.js';
import { HttpExchanger, parseEndpoints, type ClientTls, type TransportKind } from './http-exchange.js';
import { describeTransportError, EndpointsUnavailableError, isTransportError, type EndpointFailure } from './v2-client.js';

export type EtcdV3Tls = ClientTls;

export interface EtcdV3ClientOptions {
  /** Client URLs of the members, tried in order; the one that answered last is tried first. */
  readonly endpoints: readonly string[];
  readonly tls?: EtcdV3Tls;
  /** etcd v3 auth: the client authenticates once, sends the token, and authenticates again when etcd says it is stale. */
  readonly username?: string;
  readonly password?: string;
  /** Per-attempt limit for unary requests (default 5 s). */
  readonly requestTimeoutMs?: number;
  /**
   * How unary requests travel: undici (pooled, for long-running processes)
   * or node:http, which a one-shot run starts faster with. Watch streams
   * always use undici, loaded when the first one opens.
   */
  readonly transport?: TransportKind;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** Ask this endpoint only, with no failover (liveness probes). */
  readonly endpoint?: string;
}

export interface RangeResult {
  readonly header: V3Header;
  readonly kvs: readonly V3KeyValue[];
  readonly endpoint: string;
}

/** One comparison of a transaction, in the gateway's JSON. */
export type TxnCompare =
  | { readonly key: string; readonly target: 'VALUE'; readonly value: string }
  | { readonly key: string; readonly target: 'LEASE'; readonly lease: string };

export type TxnOp =
  | { readonly range: { readonly key: string } }
  | { readonly put: { readonly key: string; readonly value: string; readonly lease?: string } }
  | { readonly deleteRange: { readonly key: string } };

export interface TxnResult {
  readonly succeeded: boolean;
  readonly header: V3Header;
  /** The key-values read by the range operations of the branch that ran, in order. */
  readonly ranges: readonly (readonly V3KeyValue[])[];
  /** How many keys the delete operations of the branch that ran removed. */
  readonly deleted: number;
  readonly endpoint: string;
}

const DEFAULT_TIMEOUT_MS = 5_000;

/** gRPC codes that mean "this member cannot serve now" (no leader, request timed out inside etcd): try another. */
const MEMBER_UNAVAILABLE = new Set<number>([GRPC.unavailable, GRPC.deadlineExceeded]);

/** etcd refused the token: expired or unknown, or issued before users or roles changed (clientv3 authenticates again for these too). */
function isStaleToken(err: unknown): boolean {
  if (!(err instanceof EtcdV3ApiError)) return false;
  return err.grpcCode === GRPC.unauthenticated || /auth store is old|user name is empty/.test(err.message);
}

function rangeOp(key: string, rangeEnd?: string): Record<string, unknown> {
  return { key: encodeBytes(key), ...(rangeEnd === undefined ? {} : { range_end: encodeBytes(rangeEnd) }) };
}

function txnOp(op: TxnOp): Record<string, unknown> {
  if ('range' in op) return { request_range: rangeOp(op.range.key) };
  if ('put' in op) {
    const { key, value, lease } = op.put;
    return { request_put: { key: encodeBytes(key), value: encodeBytes(value), ...(lease === undefined ? {} : { lease }) } };
  }
  return { request_delete_range: rangeOp(op.deleteRange.key) };
}

function txnCompare(c: TxnCompare): Record<string, unknown> {
  const base = { key: encodeBytes(c.key), result: 'EQUAL', target: c.target };
  return c.target === 'VALUE' ? { ...base, value: encodeBytes(c.value) } : { ...base, lease: c.lease };
}

/**
 * A client for etcd's v3 API through its JSON gateway (grpc-gateway, served
 * on the client URLs of etcd 3.4): unary calls are `POST /v3/...` with a JSON
 * body whose bytes are base64; a watch is one long streaming POST. It fails
 * over between members when a request gets no answer or the member cannot
 * serve (no leader), and sticks to the one that answered last. Errors:
 * EtcdV3ApiError for an etcd error body, EndpointsUnavailableError when no
 * member answered, an AbortError when the caller's signal fired.
 */
export class EtcdV3Client {
  readonly endpoints: readonly string[];
  readonly #username: string | undefined;
  readonly #password: string;
  readonly #timeoutMs: number;
  readonly #http: HttpExchanger;
  #token: string | undefined;
  #authenticating: Promise<string> | undefined;
  #preferred = 0;
  readonly #alive = new Map<string, { at: number; pending: Promise<void> | undefined }>();

  constructor(options: EtcdV3ClientOptions) {
    this.endpoints = parseEndpoints(options.endpoints);
    this.#username = options.username;
    this.#password = options.password ?? '';
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#http = new HttpExchanger({ tls: options.tls, connectTimeoutMs: this.#timeoutMs, transport: options.transport ?? 'undici' });
  }

  /** The endpoint tried first on the next request. */
  get currentEndpoint(): string {
    return this.endpoints[this.#preferred] as string;
  }

  /**
   * Moves past `endpoint` if it is the one tried first: its stream broke, and
   * a member that hangs rather than refuses would cost a whole timeout.
   */
  avoid(endpoint: string): void {
    if (this.endpoints.length > 1 && this.currentEndpoint === endpoint) this.#preferred = (this.#preferred + 1) % this.endpoints.length;
  }

  /** One unary exchange with one endpoint: the HTTP status and the parsed JSON body. */
  async #post(endpoint: string, path: string, body: unknown, headers: Record<string, string>, signal: AbortSignal): Promise<{ status: number; json: Record<string, unknown> }> {
    const text = JSON.stringify(body);
    const allHeaders = { 'content-type': 'application/json', ...headers };
    const { status, text: answer } = await this.#http.exchange({ origin: endpoint, path, method: 'POST', headers: allHeaders, body: text, signal });
    let json: unknown;
    try {
      json = JSON.parse(answer);
    } catch {
      throw new EtcdV3ProtocolError(`POST ${path} at ${endpoint}: HTTP ${status} with a body that is not JSON: ${answer.slice(0, 200)}`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new EtcdV3ProtocolError(`POST ${path} at ${endpoint}: HTTP ${status} with an unexpected body`);
    return { status, json: json as Record<string, unknown> };
  }

  /**
   * The auth token to send, authenticating at `endpoint` first when there is
   * none yet. Concurrent requests share one authentication: each costs etcd
   * a bcrypt hash and a Raft round, and the token is valid on every member.
   */
  async #authHeaders(endpoint: string): Promise<Record<string, string>> {
    if (this.#username === undefined) return {};
    if (this.#token === undefined) {
      // Not tied to one caller's signal: the others wait on the same answer.
      this.#authenticating ??= this.#authenticate(endpoint, this.#username).finally(() => {
        this.#authenticating = undefined;
      });
      this.#token = await this.#authenticating;
    }
    // The gateway passes Authorization on as the token metadata etcd reads.
    return { authorization: this.#token };
  }

  async #authenticate(endpoint: string, name: string): Promise<string> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    let answer;
    try {
      answer = await this.#post(endpoint, '/v3/auth/authenticate', { name, password: this.#password }, {}, timeout);
    } catch (err) {
      // Shaped like a socket timeout, so that the caller moves on to the next endpoint.
      if (timeout.aborted) throw Object.assign(new Error(`authenticate: no answer within ${this.#timeoutMs} ms`), { code: 'ETIMEDOUT' });
      throw err;
    }
    const { status, json } = answer;
    const error = apiError(status, json, endpoint);
    if (error !== undefined) throw error;
    if (typeof json['token'] !== 'string') throw new EtcdV3ProtocolError(`authenticate at ${endpoint}: no token in the answer`);
    return json['token'];
  }

  /**
   * Runs `attempt` against each endpoint in turn, starting with the preferred
   * one, until one answers. An attempt gets a signal that also fires at the
   * per-attempt timeout, and the caller's own signal (for a stream that
   * outlives its opening); it throws a transport error or an API error for
   * an unavailable member to move on. A stale auth token is renewed once per
   * endpoint.
   */
  async #withFailover<T>(
    what: string,
    options: CallOptions,
    attempt: (endpoint: string, headers: Record<string, string>, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const failures: EndpointFailure[] = [];
    const slots = options.endpoint === undefined ? this.endpoints.map((_, i) => (this.#preferred + i) % this.endpoints.length) : [this.endpoints.indexOf(options.endpoint)];
    for (const slot of slots) {
      const endpoint = this.endpoints[slot] ?? (options.endpoint as string);
      for (let renewed = false; ; renewed = true) {
        options.signal?.throwIfAborted();
        const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
        const signals: AbortSignal[] = [];
        if (options.signal !== undefined) signals.push(options.signal);
        const timeout = new AbortController();
        const timer = setTimeout(() => timeout.abort(new CairnError('CAIRN_TIMEOUT', `no answer within ${timeoutMs} ms`)), timeoutMs);
        signals.push(timeout.signal);
        let headers: Record<string, string> = {};
        try {
          const signal = AbortSignal.any(signals);
          headers = await this.#authHeaders(endpoint);
          const result = await attempt(endpoint, headers, signal);
          if (options.endpoint === undefined) this.#preferred = slot;
          return result;
        } catch (err) {
          if (options.signal?.aborted === true) throw options.signal.reason;
          if (this.#username !== undefined && !renewed && isStaleToken(err)) {
            // Simple tokens expire (--auth-token-ttl) and die with a restart: authenticate again,
            // unless a concurrent request already has.
            if (this.#token === headers['authorization']) this.#token = undefined;
            continue;
          }
          if (timeout.signal.aborted) failures.push({ endpoint, error: `no answer within ${timeoutMs} ms` });
          else if (err instanceof EtcdV3ApiError && MEMBER_UNAVAILABLE.has(err.grpcCode)) failures.push({ endpoint, error: err.message, cause: err });
          else if (isTransportError(err)) failures.push({ endpoint, error: describeTransportError(err), cause: err });
          else throw err;
          break;
        } finally {
          clearTimeout(timer);
        }
      }
    }
    throw new EndpointsUnavailableError(failures.length > 0 ? failures : [{ endpoint: '(none)', error: `${what}: no endpoint to ask` }]);
  }

  /** A unary call: `POST /v3/<path>` with failover; resolves with the JSON answer, rejects with EtcdV3ApiError. */
  async call(path: string, body: unknown, options: CallOptions = {}): Promise<{ json: Record<string, unknown>; endpoint: string }> {
    return this.#withFailover(path, options, async (endpoint, headers, signal) => {
      const { status, json } = await this.#post(endpoint, path, body, headers, signal);
      const error = apiError(status, json, endpoint);
      if (error !== undefined) throw error;
      return { json, endpoint };
    });
  }

  /** A linearizable read of [key, rangeEnd) (or of `key` alone). */
  async range(key: string, options: CallOptions & { rangeEnd?: string; revision?: number } = {}): Promise<RangeResult> {
    const body = { ...rangeOp(key, options.rangeEnd), ...(options.revision === undefined ? {} : { revision: String(options.revision) }) };
    const { json, endpoint } = await this.call('/v3/kv/range', body, options);
    return { header: parseHeader(json['header']), kvs: parseKeyValues(json['kvs']), endpoint };
  }

  async put(key: string, value: string, options: CallOptions & { lease?: string } = {}): Promise<{ header: V3Header; endpoint: string }> {
    const body = { key: encodeBytes(key), value: encodeBytes(value), ...(options.lease === undefined ? {} : { lease: options.lease }) };
    const { json, endpoint } = await this.call('/v3/kv/put', body, options);
    return { header: parseHeader(json['header']), endpoint };
  }

  async deleteRange(key: string, options: CallOptions & { rangeEnd?: string } = {}): Promise<{ header: V3Header; deleted: number; endpoint: string }> {
    const { json, endpoint } = await this.call('/v3/kv/deleterange', rangeOp(key, options.rangeEnd), options);
    return { header: parseHeader(json['header']), deleted: int64(json['deleted'], 'deleted'), endpoint };
  }

  /** If every comparison holds, runs `success`, else `failure`; atomically, at one revision. */
  async txn(compare: readonly TxnCompare[], success: readonly TxnOp[], failure: readonly TxnOp[], options: CallOptions = {}): Promise<TxnResult> {
    const body = { compare: compare.map(txnCompare), success: success.map(txnOp), failure: failure.map(txnOp) };
    const { json, endpoint } = await this.call('/v3/kv/txn', body, options);
    const ranges: V3KeyValue[][] = [];
    let deleted = 0;
    const responses = json['responses'];
    for (const response of Array.isArray(responses) ? (responses as Record<string, unknown>[]) : []) {
      const range = response['response_range'] as Record<string, unknown> | undefined;
      if (range !== undefined) ranges.push(parseKeyValues(range['kvs']));
      const del = response['response_delete_range'] as Record<string, unknown> | undefined;
      if (del !== undefined) deleted += int64(del['deleted'], 'deleted');
    }
    return { succeeded: json['succeeded'] === true, header: parseHeader(json['header']), ranges, deleted, endpoint };
  }

  /** Compacts the history up to `revision` (tests and operators; the agent never compacts). */
  async compact(revision: number, options: CallOptions = {}): Promise<void> {
    await this.call('/v3/kv/compaction', { revision: String(revision), physical: true }, options);
  }

  async leaseGrant(ttlSeconds: number, options: CallOptions = {}): Promise<{ id: string; ttl: number; endpoint: string }> {
    const { json, endpoint } = await this.call('/v3/lease/grant', { TTL: String(ttlSeconds) }, options);
    const id = int64Text(json['ID']);
    if (id === '0') throw new EtcdV3ProtocolError(`lease grant at ${endpoint}: no lease ID in the answer`);
    return { id, ttl: int64(json['TTL'], 'TTL'), endpoint };
  }

  /**
   * One keep-alive of a lease; resolves with its fresh TTL in seconds, 0 when
   * the lease is gone (expired or revoked). The gateway serves the keep-alive
   * stream as one answer per request body.
   */
  async leaseKeepAliveOnce(id: string, options: CallOptions = {}): Promise<{ ttl: number; endpoint: string }> {
    const { json, endpoint } = await this.call('/v3/lease/keepalive', { ID: id }, options);
    const result = json['result'];
    if (typeof result !== 'object' || result === null) throw new EtcdV3ProtocolError(`lease keepalive at ${endpoint}: no result in the answer`);
    return { ttl: Math.max(0, int64((result as Record<string, unknown>)['TTL'], 'TTL')), endpoint };
  }

  /** Revokes a lease, deleting the keys attached to it; resolves false when it was already gone. */
  async leaseRevoke(id: string, options: CallOptions = {}): Promise<boolean> {
    try {
      await this.call('/v3/lease/revoke', { ID: id }, options);
      return true;
    } catch (err) {
      if (err instanceof EtcdV3ApiError && err.grpcCode === GRPC.notFound) return false;
      throw err;
    }
  }

  /** A cheap request that one member answers without consensus: is it alive? */
  async status(endpoint: string, options: CallOptions = {}): Promise<{ header: V3Header; leader: string }> {
    const { json } = await this.call('/v3/maintenance/status', {}, { ...options, endpoint });
    return { header: parseHeader(json['header']), leader: typeof json['leader'] === 'string' ? json['leader'] : '' };
  }

  /**
   * Is `endpoint` alive? Every watch stream on a member asks this
   * periodically; one answer within the last half period serves them all,
   * so a hundred prefixes do not mean a hundred probes.
   */
  #probe(endpoint: string, everyMs: number): Promise<void> {
    const last = this.#alive.get(endpoint);
    if (last !== undefined && (last.pending !== undefined || Date.now() - last.at < everyMs / 2)) return last.pending ?? Promise.resolve();
    // Bounded by its own timeout only: the answer is shared, so one stream closing must not fail the others' probe.
    const pending = this.status(endpoint, { timeoutMs: everyMs }).then(
      () => {
        this.#alive.set(endpoint, { at: Date.now(), pending: undefined });
      },
      (err: unknown) => {
        this.#alive.delete(endpoint);
        throw err;
      },
    );
    this.#alive.set(endpoint, { at: last?.at ?? 0, pending });
    return pending;
  }

  /**
   * Opens one watch stream, failing over between members until one accepts
   * it. The stream then stays with that member: when it breaks, the caller
   * opens another from the revision after the last one it saw.
   */
  async watch(create: WatchCreate, options: { signal: AbortSignal; livenessMs?: number }): Promise<WatchStream> {
    const dispatcher = await this.#http.undici();
    return this.#withFailover('watch', { signal: options.signal }, async (endpoint, headers, openSignal) =>
      openWatchStream({
        dispatcher,
        endpoint,
        headers,
        create,
        openSignal,
        signal: options.signal,
        ...(options.livenessMs === undefined ? {} : { liveness: { everyMs: options.livenessMs, probe: () => this.#probe(endpoint, options.livenessMs as number) } }),
      }),
    );
  }

  close(): Promise<void> {
    return this.#http.close();
  }
}
