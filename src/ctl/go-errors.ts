import { getServers } from 'node:dns';
import { CairnError } from '../util/errors.js';

/**
 * Errors worded as etcd's Go v2 client words them, because etcdctl prints
 * them verbatim ("Error:  client: etcd cluster is unavailable or
 * misconfigured; error #0: dial tcp 127.0.0.1:1: connect: connection
 * refused") and scripts grep for them. `connection` mirrors etcdctl's
 * isConnectionError, which picks exit code 2 over 4.
 */

/** A failure `cairn ctl` reports in the Go client's words; the message is what etcdctl would print. */
export class CtlClientError extends CairnError {
  constructor(message: string, code = 'CAIRN_CTL_CLIENT') {
    super(code, message);
  }
}

/** One endpoint's failure. */
export class EndpointError extends CtlClientError {
  readonly connection: boolean;
  /** The request never left this machine, so trying another endpoint cannot apply a write twice. */
  readonly notSent: boolean;

  constructor(message: string, options: { connection?: boolean; notSent?: boolean } = {}) {
    super(message, 'CAIRN_CTL_ENDPOINT');
    this.connection = options.connection ?? false;
    this.notSent = options.notSent ?? false;
  }
}

/** Every endpoint failed (client.ClusterError). */
export class ClusterError extends CtlClientError {
  readonly errors: readonly Error[];

  constructor(errors: readonly Error[]) {
    super(`client: etcd cluster is unavailable or misconfigured${errors.map((e, i) => `; error #${i}: ${e.message}\n`).join('')}`, 'CAIRN_CTL_CLUSTER_UNAVAILABLE');
    this.errors = errors;
  }

  /** What etcdctl prints under the error line. */
  detail(): string {
    return this.errors.map((e, i) => `error #${i}: ${e.message}\n`).join('');
  }
}

/** --total-timeout ran out (Go's context.DeadlineExceeded, which counts as a connection error). */
export class DeadlineError extends CtlClientError {
  constructor() {
    super('context deadline exceeded', 'CAIRN_CTL_DEADLINE');
  }
}

/** An etcd v2 error body, printed as Go's client.Error prints it. */
export class EtcdError extends CtlClientError {
  readonly errorCode: number;
  readonly reason: string;
  readonly errorCause: string;
  readonly index: number;

  constructor(body: { errorCode?: unknown; message?: unknown; cause?: unknown; index?: unknown }) {
    const code = typeof body.errorCode === 'number' ? body.errorCode : 0;
    const message = typeof body.message === 'string' ? body.message : '';
    const cause = typeof body.cause === 'string' ? body.cause : '';
    const index = typeof body.index === 'number' ? body.index : 0;
    super(`${code}: ${message} (${cause}) [${index}]`, 'CAIRN_CTL_ETCD_ERROR');
    this.errorCode = code;
    this.reason = message;
    this.errorCause = cause;
    this.index = index;
  }
}

export const ERR_INVALID_JSON = 'client: response is invalid json. The endpoint is probably not valid etcd cluster endpoint';
export const ERR_EMPTY_BODY = 'client: response body is empty';
export const ERR_NO_ENDPOINTS = 'client: no endpoints available';

/** net.JoinHostPort. */
export function joinHostPort(host: string, port: string | number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** host:port of a URL host as Go dials it (default ports filled in, IPv6 brackets kept). */
export function dialAddress(host: string, scheme: string): string {
  const bracket = host.startsWith('[') ? host.indexOf(']') : -1;
  const hasPort = bracket >= 0 ? host.slice(bracket + 1).startsWith(':') : host.includes(':');
  if (hasPort && !host.endsWith(':')) return host;
  const bare = host.endsWith(':') ? host.slice(0, -1) : host;
  return `${bare}:${scheme === 'https' ? 443 : 80}`;
}

/** " on 10.0.0.53:53": the DNS server Go's resolver names in lookup errors (the first in resolv.conf). */
function resolverSuffix(): string {
  const server = getServers()[0];
  if (server === undefined) return '';
  const bracketed = /^\[(.*)\]:(\d+)$/.exec(server);
  if (bracketed !== null) return ` on ${joinHostPort(bracketed[1] as string, bracketed[2] as string)}`;
  const hostPort = /^([^:]+):(\d+)$/.exec(server);
  if (hostPort !== null) return ` on ${server}`;
  return ` on ${joinHostPort(server, 53)}`;
}

interface NodeNetError {
  code?: unknown;
  syscall?: unknown;
  address?: unknown;
  port?: unknown;
  hostname?: unknown;
  message?: unknown;
  cause?: unknown;
}

const CONNECT_ERRNO: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network is unreachable',
  EHOSTDOWN: 'host is down',
  EADDRNOTAVAIL: 'cannot assign requested address',
};

const UNKNOWN_AUTHORITY = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
]);

/**
 * A Node/undici transport error as Go's net/http would have reported the
 * same failure. `dialTarget` is the URL's host:port, used when the error
 * does not say which address it tried.
 */
export function goTransportError(err: unknown, dialTarget: string): EndpointError {
  const e = (err ?? {}) as NodeNetError;
  const code = typeof e.code === 'string' ? e.code : '';
  const address = typeof e.address === 'string' && e.port !== undefined ? joinHostPort(e.address, String(e.port)) : dialTarget;
  const connectReason = CONNECT_ERRNO[code];
  if (connectReason !== undefined) {
    return new EndpointError(`dial tcp ${address}: connect: ${connectReason}`, { connection: true, notSent: true });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    const host = typeof e.hostname === 'string' ? e.hostname : dialTarget.replace(/:[0-9]*$/, '');
    const reason = code === 'EAI_AGAIN' ? 'server misbehaving' : 'no such host';
    return new EndpointError(`dial tcp: lookup ${host}${resolverSuffix()}: ${reason}`, { connection: true, notSent: true });
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || (code === 'ETIMEDOUT' && e.syscall === 'connect')) {
    return new EndpointError(`dial tcp ${address}: i/o timeout`, { connection: true, notSent: true });
  }
  if (UNKNOWN_AUTHORITY.has(code)) {
    return new EndpointError('x509: certificate signed by unknown authority');
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return new EndpointError('x509: certificate has expired or is not yet valid');
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new EndpointError(`x509: ${String(e.message)}`);
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED') {
    return new EndpointError(code === 'ECONNRESET' && e.syscall === 'read' ? `read tcp ${address}: read: connection reset by peer` : 'EOF', {
      connection: code === 'ECONNRESET' && e.syscall === 'read',
    });
  }
  const message = typeof e.message === 'string' ? e.message : String(err);
  return new EndpointError(message);
}

/** Go's http.StatusText for the 5xx codes the v2 client names. */
export function statusText(status: number): string {
  const texts: Readonly<Record<number, string>> = {
    500: 'Internal Server Error',
    501: 'Not Implemented',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout',
    505: 'HTTP Version Not Supported',
    506: 'Variant Also Negotiates',
    507: 'Insufficient Storage',
    508: 'Loop Detected',
    510: 'Not Extended',
    511: 'Network Authentication Required',
  };
  return texts[status] ?? '';
}

/** etcdctl's isConnectionError: every failure was a dial/read error or a timeout. */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof ClusterError) return err.errors.every((e) => isConnectionError(e));
  if (err instanceof EndpointError) return err.connection;
  return err instanceof DeadlineError;
}
