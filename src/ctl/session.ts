import { readFileSync } from 'node:fs';
import type { V2ClientTls } from '../client/v2-client.js';
import { DEFAULT_ENDPOINTS } from './cli-spec.js';
import { ClusterClient } from './cluster-client.js';
import { CtlExit, EXIT, fail, failPlain } from './exit.js';
import type { FlagValues } from './go-flag-set.js';
import { CtlClientError, ERR_NO_ENDPOINTS, isConnectionError } from './go-errors.js';
import { GoUrlError, goUrlString, parseGoUrl, type GoUrl } from './go-url.js';
import type { CtlIo } from './io.js';
import { KeysApi } from './keys-api.js';
import { MembersApi } from './members-api.js';

const DEFAULT_TIMEOUT_MS = 2_000;
const DEFAULT_TOTAL_TIMEOUT_MS = 5_000;
const MAX_DIAL_MS = 30_000;

/**
 * Everything a command needs from the global flags and the environment,
 * resolved as etcdctl's util.go resolves it. Each ETCDCTL_* variable
 * etcdctl reads may also be given as CAIRNCTL_*, which wins.
 */
export class CtlSession {
  readonly io: CtlIo;
  readonly global: FlagValues;
  readonly #clients: ClusterClient[] = [];

  constructor(io: CtlIo, global: FlagValues) {
    this.io = io;
    this.global = global;
  }

  get output(): string {
    return this.global.has('output') ? this.global.string('output') : 'simple';
  }

  get totalTimeoutMs(): number {
    return this.global.duration('total-timeout', DEFAULT_TOTAL_TIMEOUT_MS);
  }

  /** contextWithTotalTimeout: a fresh --total-timeout deadline. */
  deadline(): AbortSignal {
    const ms = this.totalTimeoutMs;
    return ms <= 0 ? AbortSignal.abort() : AbortSignal.timeout(Math.ceil(ms));
  }

  env(name: string): string {
    return this.io.env[`CAIRNCTL_${name}`] || this.io.env[`ETCDCTL_${name}`] || '';
  }

  /** getPeersFlagValue + getEndpoints: the first non-empty source wins, then each entry is parsed as a URL. */
  endpoints(): GoUrl[] {
    const sources = [
      () => this.global.string('endpoints'),
      () => this.env('ENDPOINTS'),
      () => this.global.string('endpoint'),
      () => this.env('ENDPOINT'),
      () => this.global.string('peers'),
      () => this.env('PEERS'),
    ];
    let list = '';
    for (const source of sources) {
      list = source();
      if (list !== '') break;
    }
    if (list === '') list = DEFAULT_ENDPOINTS;
    return list.split(',').map((entry) => {
      const u = parseGoUrl(entry);
      // etcdctl fills in a missing scheme, prints the URL and the client parses that text again.
      return parseGoUrl(goUrlString(u.scheme === '' ? { ...u, scheme: 'http' } : u));
    });
  }

  /** getTransport's TLS files; errors are worded like Go's os.Open. */
  tls(): V2ClientTls | undefined {
    const ca = this.global.string('ca-file') || this.env('CA_FILE');
    const cert = this.global.string('cert-file') || this.env('CERT_FILE');
    const key = this.global.string('key-file') || this.env('KEY_FILE');
    if (ca === '' && cert === '' && key === '') return undefined;
    if ((cert !== '' || key !== '') && (cert === '' || key === '')) {
      throw new CtlClientError(`KeyFile and CertFile must both be present[key: ${key}, cert: ${cert}]`);
    }
    return {
      ...(ca === '' ? {} : { ca: readGoFile(ca) }),
      ...(cert === '' ? {} : { cert: readGoFile(cert), key: readGoFile(key) }),
    };
  }

  /** newClient: endpoints, TLS and credentials; a problem is printed bare and exits 1, as etcdctl does. */
  newClient(tlsOverride?: V2ClientTls): ClusterClient {
    try {
      const endpoints = this.endpoints();
      const tls = tlsOverride ?? this.tls();
      const user = this.global.string('username') || this.env('USERNAME');
      let credentials: { username: string; password: string } | undefined;
      if (user !== '') {
        const colon = user.indexOf(':');
        credentials =
          colon < 0
            ? { username: user, password: this.io.readPassword('Password: ') }
            : { username: user.slice(0, colon), password: user.slice(colon + 1) };
      }
      const debug = this.global.bool('debug');
      const client = new ClusterClient(endpoints, {
        headerTimeoutMs: this.global.duration('timeout', DEFAULT_TIMEOUT_MS),
        dialTimeoutMs: Math.ceil(this.totalTimeoutMs > 0 && this.totalTimeoutMs < MAX_DIAL_MS ? this.totalTimeoutMs : MAX_DIAL_MS),
        ...(tls === undefined ? {} : { tls }),
        ...(credentials === undefined ? {} : credentials),
        ...(debug ? { debug: (line: string) => this.io.err(`${line}\n`) } : {}),
      });
      this.#clients.push(client);
      return client;
    } catch (err) {
      if (err instanceof CtlExit) throw err;
      if (err instanceof GoUrlError || err instanceof Error) failPlain(this.io, EXIT.badArgs, err.message);
      throw err;
    }
  }

  /** mustNewClient: a client that first learns the members' client URLs, unless --no-sync. */
  async syncedClient(): Promise<ClusterClient> {
    const client = this.newClient();
    const debug = this.global.bool('debug');
    if (!this.global.bool('no-sync')) {
      if (debug) this.io.err(`start to sync cluster using endpoints(${client.endpoints().join(',')})\n`);
      const members = new MembersApi(client);
      const deadline = this.deadline();
      try {
        await client.sync(() => members.list(deadline));
      } catch (err) {
        if (err instanceof Error && err.message === ERR_NO_ENDPOINTS) {
          this.io.err('etcd cluster has no published client endpoints.\n');
          this.io.err(`Try '--no-sync' if you want to access non-published client endpoints(${client.endpoints().join(',')}).\n`);
          fail(this.io, EXIT.serverError, err);
        }
        if (isConnectionError(err)) fail(this.io, EXIT.badConnection, err);
      }
      if (debug) this.io.err(`got endpoints(${client.endpoints().join(',')}) after sync\n`);
    }
    if (debug) this.io.err(`Cluster-Endpoints: ${client.endpoints().join(', ')}\n`);
    return client;
  }

  async keys(): Promise<KeysApi> {
    return new KeysApi(await this.syncedClient());
  }

  async members(): Promise<MembersApi> {
    return new MembersApi(await this.syncedClient());
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#clients.map((c) => c.close()));
  }
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
};

/** Reads a file, failing with Go's "open <path>: no such file or directory" wording. */
function readGoFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = String((err as { code?: unknown }).code);
    const op = code === 'EISDIR' ? 'read' : 'open';
    throw new CtlClientError(`${op} ${path}: ${ERRNO_TEXT[code] ?? (err as Error).message}`);
  }
}
