import { EndpointsUnavailableError, V2Client, type RawResponse, type V2ClientTls } from '../client/v2-client.js';
import {
  ClusterError,
  CtlClientError,
  DeadlineError,
  dialAddress,
  EndpointError,
  ERR_NO_ENDPOINTS,
  goTransportError,
  statusText,
} from './go-errors.js';
import { canonicalUrlPath, goEncodeValues, goEscapePath, goUrlString, parseGoUrl, type GoUrl } from './go-url.js';
import { goQuote } from './go-values.js';

function requestBody(action: HttpAction): { body?: string; contentType?: string } {
  const contentType = action.contentType ?? (action.body === undefined ? undefined : 'application/x-www-form-urlencoded');
  return { ...(action.body === undefined ? {} : { body: action.body }), ...(contentType === undefined ? {} : { contentType }) };
}

/** Read through a call so that TypeScript does not narrow it across an await. */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** One request as etcd's Go client builds it, relative to an endpoint. */
export interface HttpAction {
  readonly method: string;
  /** Unescaped path below the endpoint's own path, e.g. "/v2/keys" + key; it is cleaned like Go cleans it. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  /** Present for PUT and POST (Go always sends one for them, maybe empty). */
  readonly body?: string;
  /** Defaults to the form type when there is a body. */
  readonly contentType?: string;
}

export interface CallOptions {
  /** --total-timeout, as an abort signal; absent for watches. */
  readonly deadline?: AbortSignal;
  /** Writes that must not be replayed on another member after an ambiguous failure (etcd's oneShot). */
  readonly oneShot?: boolean;
  /** A long poll: no per-request header timeout. */
  readonly wait?: boolean;
}

export interface ClusterClientOptions {
  readonly tls?: V2ClientTls;
  readonly username?: string;
  readonly password?: string;
  /** --timeout; 0 means none. */
  readonly headerTimeoutMs: number;
  /** The dial limit: the smaller of 30 s and --total-timeout. */
  readonly dialTimeoutMs: number;
  /** Receives each "cURL Command: …" line when --debug is on. */
  readonly debug?: (line: string) => void;
}

interface Endpoint {
  readonly url: GoUrl;
  readonly text: string;
  /** Why requests to it cannot even be tried (bad scheme, no host); else a client for its origin. */
  readonly broken: string | undefined;
  readonly client: V2Client | undefined;
}

/**
 * A port of the request loop of etcd's Go v2 client (httpClusterClient):
 * requests go to the pinned endpoint first and move on to the next on a
 * transport error or a 5xx answer, so a dead member is skipped; Sync
 * replaces the endpoints with the client URLs the cluster publishes.
 *
 * One deliberate difference: etcd's client never retries a create-only or
 * delete request on another endpoint (it might have been applied already);
 * here such a request does move on when the failure proves it never left
 * this machine (connection refused, no such host, connect timeout).
 */
export class ClusterClient {
  readonly #options: ClusterClientOptions;
  #endpoints: Endpoint[];
  #pinned = 0;

  constructor(endpoints: readonly GoUrl[], options: ClusterClientOptions) {
    this.#options = options;
    this.#endpoints = endpoints.map((u) => this.#endpoint(u));
  }

  #endpoint(url: GoUrl): Endpoint {
    const text = goUrlString(url);
    let broken: string | undefined;
    if (url.scheme !== 'http' && url.scheme !== 'https') broken = `unsupported protocol scheme ${goQuote(url.scheme)}`;
    else if (url.host === '') broken = 'http: no Host in request URL';
    let client: V2Client | undefined;
    if (broken === undefined) {
      try {
        client = new V2Client({
          endpoints: [`${url.scheme}://${url.host}`],
          transport: 'node-http',
          requestTimeoutMs: this.#options.dialTimeoutMs,
          ...(this.#options.tls === undefined ? {} : { tls: this.#options.tls }),
          ...(this.#options.username === undefined ? {} : { username: this.#options.username, password: this.#options.password ?? '' }),
        });
      } catch {
        broken = `dial tcp: address ${url.host}: invalid address`;
      }
    }
    return { url, text, broken, client };
  }

  /** The endpoints as etcdctl prints them in --debug output. */
  endpoints(): string[] {
    return this.#endpoints.map((e) => e.text);
  }

  /** The full URL of `action` at `ep`, as Go's URL.String() gives it. */
  #requestUrl(ep: Endpoint, action: HttpAction): { url: string; path: string } {
    const path = goEscapePath(canonicalUrlPath(ep.url.path + action.path));
    const query = action.query === undefined ? '' : goEncodeValues(action.query);
    const tail = `${path}${query === '' ? '' : `?${query}`}`;
    return { url: `${ep.url.scheme}://${ep.url.host}${tail}`, path: tail };
  }

  async do(action: HttpAction, options: CallOptions = {}): Promise<RawResponse> {
    const n = this.#endpoints.length;
    if (n === 0) throw new CtlClientError(ERR_NO_ENDPOINTS);
    const errors: Error[] = [];
    const start = this.#pinned;
    for (let i = start; i < start + n; i++) {
      const k = i % n;
      const ep = this.#endpoints[k] as Endpoint;
      let err: Error;
      let sent = false;
      try {
        const res = await this.#send(ep, action, options);
        sent = true;
        if (Math.floor(res.status / 100) !== 5) {
          this.#pinned = k;
          return res;
        }
        err =
          res.status === 500 || res.status === 503
            ? new EndpointError(`client: etcd member ${ep.text} has no leader`)
            : new EndpointError(`client: etcd member ${ep.text} returns server error [${statusText(res.status)}]`);
        errors.push(err);
        err = errors[0] as Error;
      } catch (caught) {
        if (caught instanceof DeadlineError) throw caught;
        if (!(caught instanceof EndpointError)) throw caught;
        err = caught;
        errors.push(err);
      }
      if (options.oneShot === true && (sent || !(err instanceof EndpointError && err.notSent))) {
        this.#pinned = (k + 1) % n;
        throw err;
      }
    }
    // A one-shot request reports its first failure alone, as etcd's client does when it gives up at once.
    if (options.oneShot === true) throw errors[0] as Error;
    throw new ClusterError(errors);
  }

  async #send(ep: Endpoint, action: HttpAction, options: CallOptions): Promise<RawResponse> {
    const { url, path } = this.#requestUrl(ep, action);
    this.#options.debug?.(`cURL Command: curl -X ${action.method} ${url}${action.body === undefined ? '' : ` -d ${goQuote(action.body)}`}`);
    if (ep.broken !== undefined || ep.client === undefined) throw new EndpointError(ep.broken ?? 'no client');
    if (options.deadline?.aborted === true) throw new DeadlineError();
    const header =
      options.wait === true || this.#options.headerTimeoutMs <= 0 ? undefined : AbortSignal.timeout(Math.ceil(this.#options.headerTimeoutMs));
    const signals = [options.deadline, header].filter((s): s is AbortSignal => s !== undefined);
    try {
      let res = await ep.client.raw(action.method, path, {
        longPoll: true,
        ...(signals.length === 0 ? {} : { signal: AbortSignal.any(signals) }),
        ...requestBody(action),
      });
      for (let redirects = 0; Math.floor(res.status / 100) === 3; redirects++) {
        res = await this.#follow(ep, res, action, signals, redirects);
      }
      return res;
    } catch (err) {
      if (aborted(options.deadline)) throw new DeadlineError();
      if (header?.aborted === true) throw new EndpointError(`client: endpoint ${ep.text} exceeded header timeout`);
      if (err instanceof EndpointsUnavailableError) {
        throw goTransportError(err.failures[0]?.cause, dialAddress(ep.url.host, ep.url.scheme));
      }
      throw err;
    }
  }

  /** Follows one redirect the way the Go client does: same request, new URL, at most 10 times. */
  async #follow(ep: Endpoint, res: RawResponse, action: HttpAction, signals: AbortSignal[], redirects: number): Promise<RawResponse> {
    if (redirects >= 10) throw new EndpointError('client: too many redirects');
    const location = res.headers['location'];
    const target = Array.isArray(location) ? location[0] : location;
    if (target === undefined || target === '') throw new EndpointError('location header not set');
    let next: URL;
    try {
      next = new URL(target, `${ep.url.scheme}://${ep.url.host}`);
    } catch {
      throw new EndpointError(`location header not valid URL: ${target}`);
    }
    this.#options.debug?.(`cURL Command: curl -X ${action.method} ${next.href}${action.body === undefined ? '' : ` -d ${goQuote(action.body)}`}`);
    const client = new V2Client({
      endpoints: [next.origin],
      transport: 'node-http',
      requestTimeoutMs: this.#options.dialTimeoutMs,
      ...(this.#options.tls === undefined ? {} : { tls: this.#options.tls }),
      ...(this.#options.username === undefined ? {} : { username: this.#options.username, password: this.#options.password ?? '' }),
    });
    try {
      return await client.raw(action.method, `${next.pathname}${next.search}`, {
        longPoll: true,
        ...(signals.length === 0 ? {} : { signal: AbortSignal.any(signals) }),
        ...requestBody(action),
      });
    } finally {
      void client.close();
    }
  }

  /**
   * Client.Sync: asks the cluster for its members and, when their client
   * URLs differ from the current endpoints, uses those instead.
   */
  async sync(listMembers: () => Promise<readonly { clientURLs: readonly string[] }[]>): Promise<void> {
    const members = await listMembers();
    const urls = members.flatMap((m) => m.clientURLs);
    if (urls.length === 0) throw new CtlClientError(ERR_NO_ENDPOINTS);
    const parsed = urls.map((u) => parseGoUrl(u));
    const current = this.endpoints().sort();
    const next = parsed.map((u) => goUrlString(u)).sort();
    if (current.length === next.length && current.every((u, i) => u === next[i])) return;
    const old = this.#endpoints;
    this.#endpoints = parsed.map((u) => this.#endpoint(u));
    this.#pinned = 0;
    for (const ep of old) void ep.client?.close();
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#endpoints.map((e) => e.client?.close()));
  }
}
