import { posix } from 'node:path';
import { EndpointsUnavailableError, V2Client, type RawResponse } from '../client/v2-client.js';
import type { Logger } from '../log/logger.js';
import { backoffDelay, sleep, type BackoffPolicy } from '../util/backoff.js';
import { errorMessage } from '../util/errors.js';
import {
  BadDiscoveryEndpointError,
  BadSizeKeyError,
  DuplicateIdError,
  DuplicateNameError,
  FullClusterError,
  InvalidUrlError,
  SizeNotFoundError,
} from './errors.js';

/*
 * etcd's v2 discovery protocol, against any v2 keyspace (a Cairn, an etcd,
 * discovery.etcd.io). Under the discovery URL's path:
 *
 *   _config/size     how many founding members to wait for (set by the operator)
 *   <member id>      one key per member, value "name=peer-url[,name=peer-url]"
 *
 * A member reads the size, gives up at once if `size` others registered
 * before it, registers itself (create-only), and waits until `size` members
 * are registered. The founding cluster is the first `size` registrations in
 * creation order, so every member derives the same --initial-cluster.
 */

export interface DiscoveryOptions {
  /** The discovery URL; its path is the registry directory. */
  readonly url: string;
  readonly logger: Logger;
  /** Ends the wait (shutdown while peers are still missing). */
  readonly signal?: AbortSignal;
  readonly requestTimeoutMs?: number;
  /** Backoff while the discovery service cannot be reached (etcd retries for ever). */
  readonly retry?: BackoffPolicy;
}

export interface Registration {
  /** This member's id as etcd prints it (hex, no leading zeros): the key it registers under. */
  readonly id: string;
  /** "name=peer-url,…" for this member. */
  readonly value: string;
}

interface RegistryNode {
  readonly key: string;
  readonly value: string;
  readonly createdIndex: number;
}

const CONFIG_KEY = '_config';
const DEFAULT_RETRY: BackoffPolicy = { baseMs: 1000, capMs: 30_000 };

class Registry {
  readonly #client: V2Client;
  readonly #base: string;
  readonly #o: DiscoveryOptions;

  constructor(options: DiscoveryOptions) {
    const url = new URL(options.url);
    this.#o = options;
    this.#base = url.pathname.replace(/\/+$/, '');
    this.#client = new V2Client({ endpoints: [url.origin], requestTimeoutMs: options.requestTimeoutMs ?? 5_000 });
  }

  get url(): string {
    return this.#o.url;
  }

  close(): Promise<void> {
    return this.#client.close();
  }

  /** One request, retried with backoff while the service does not answer at all. */
  async #request(method: string, path: string, options: Parameters<V2Client['raw']>[2] = {}): Promise<RawResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#client.raw(method, path, { ...options, ...(this.#o.signal === undefined ? {} : { signal: this.#o.signal }) });
      } catch (err) {
        if (!(err instanceof EndpointsUnavailableError)) throw err;
        const ms = backoffDelay(this.#o.retry ?? DEFAULT_RETRY, attempt, Math.random);
        this.#o.logger.warn({ url: this.#o.url, err: errorMessage(err), retryInMs: Math.round(ms) }, 'discovery service unreachable; retrying');
        await sleep(ms, this.#o.signal);
        this.#o.signal?.throwIfAborted();
      }
    }
  }

  #json(res: RawResponse): Record<string, unknown> {
    try {
      const value = JSON.parse(res.text) as unknown;
      if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
    } catch {
      // fall through
    }
    throw new BadDiscoveryEndpointError(`HTTP ${res.status} from ${res.endpoint} is not a v2 keys answer`);
  }

  async size(): Promise<number> {
    const res = await this.#request('GET', `${this.#base}/${CONFIG_KEY}/size`);
    const body = this.#json(res);
    if (body['errorCode'] === 100) throw new SizeNotFoundError();
    const value = (body['node'] as { value?: unknown } | undefined)?.value;
    if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) < 1) throw new BadSizeKeyError();
    return Number(value);
  }

  /** The registered members in creation order, and the index to watch from. */
  async list(): Promise<{ nodes: RegistryNode[]; index: number }> {
    const res = await this.#request('GET', this.#base);
    const body = this.#json(res);
    if (typeof body['errorCode'] === 'number') throw new BadDiscoveryEndpointError(`listing ${this.#base}: ${String(body['message'])}`);
    const children = ((body['node'] as { nodes?: unknown } | undefined)?.nodes ?? []) as Record<string, unknown>[];
    const nodes = children.filter(isMemberNode).map(toNode).sort((a, b) => a.createdIndex - b.createdIndex);
    return { nodes, index: Number(res.headers['x-etcd-index'] ?? 0) };
  }

  async register(self: Registration): Promise<void> {
    const res = await this.#request('PUT', `${this.#base}/${self.id}`, {
      query: { prevExist: false },
      form: { value: self.value },
    });
    const body = this.#json(res);
    if (body['errorCode'] === 105) throw new DuplicateIdError();
    if (res.status !== 201 && res.status !== 200) throw new BadDiscoveryEndpointError(`registering: HTTP ${res.status} ${res.text.trim()}`);
  }

  /**
   * Waits for the next change under the registry at or after `waitIndex`.
   * Undefined when the index has left the service's history (re-list).
   */
  async next(waitIndex: number): Promise<{ action: string; node: RegistryNode | undefined; index: number } | undefined> {
    for (;;) {
      const res = await this.#request('GET', this.#base, { query: { wait: true, recursive: true, waitIndex }, longPoll: true });
      // A server that drops the watcher ends the long poll with no body: ask again.
      if (res.status === 200 && res.text === '') continue;
      const body = this.#json(res);
      if (body['errorCode'] === 401) return undefined;
      if (typeof body['errorCode'] === 'number') throw new BadDiscoveryEndpointError(`watching ${this.#base}: ${String(body['message'])}`);
      const raw = body['node'] as Record<string, unknown> | undefined;
      const modified = Number(raw?.['modifiedIndex'] ?? waitIndex);
      return { action: String(body['action']), node: raw !== undefined && isMemberNode(raw) ? toNode(raw) : undefined, index: modified };
    }
  }
}

function isMemberNode(raw: Record<string, unknown>): boolean {
  return typeof raw['key'] === 'string' && posix.basename(raw['key']) !== CONFIG_KEY && raw['dir'] !== true;
}

function toNode(raw: Record<string, unknown>): RegistryNode {
  return { key: String(raw['key']), value: typeof raw['value'] === 'string' ? raw['value'] : '', createdIndex: Number(raw['createdIndex'] ?? 0) };
}

/** "name=url,…" from the first `size` registrations; checks them as etcd's nodesToCluster does. */
function toInitialCluster(nodes: readonly RegistryNode[], size: number): string {
  const text = nodes.map((n) => n.value).join(',');
  const names = new Set<string>();
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidUrlError();
    try {
      new URL(pair.slice(eq + 1));
    } catch {
      throw new InvalidUrlError();
    }
    names.add(pair.slice(0, eq));
  }
  if (names.size !== size) throw new DuplicateNameError();
  return text;
}

/** Is the registry full before `selfId` (undefined: a proxy, which never registers)? */
function fullBefore(nodes: readonly RegistryNode[], size: number, selfId: string | undefined): boolean {
  for (let i = 0; i < nodes.length; i++) {
    if (selfId !== undefined && posix.basename((nodes[i] as RegistryNode).key) === selfId) return false;
    if (i >= size - 1) return true;
  }
  return false;
}

async function waitForMembers(registry: Registry, size: number, logger: Logger, first: { nodes: RegistryNode[]; index: number }): Promise<RegistryNode[]> {
  let { nodes, index } = first;
  const seen = new Set(nodes.map((n) => n.key));
  let waitIndex = index + 1;
  while (nodes.length < size) {
    logger.info({ url: registry.url, found: nodes.length, needed: size - nodes.length }, 'found peers from discovery; waiting for more');
    const change = await registry.next(waitIndex);
    if (change === undefined) {
      // The registry moved on past our index: list it again.
      ({ nodes, index } = await registry.list());
      for (const n of nodes) seen.add(n.key);
      waitIndex = index + 1;
      continue;
    }
    waitIndex = change.index + 1;
    const node = change.node;
    if (node !== undefined && (change.action === 'create' || change.action === 'set') && !seen.has(node.key)) {
      seen.add(node.key);
      nodes = [...nodes, node];
      logger.info({ url: registry.url, peer: posix.basename(node.key) }, 'found peer from discovery');
    }
  }
  return nodes.slice(0, size);
}

/**
 * Registers this member and resolves with the founding --initial-cluster
 * once `size` members have registered. Throws FullClusterError if the
 * cluster was complete without it.
 */
export async function joinDiscovery(options: DiscoveryOptions, self: Registration): Promise<string> {
  const registry = new Registry(options);
  try {
    const size = await registry.size();
    // Fast path: no registration when the founding members are all there.
    if (fullBefore((await registry.list()).nodes, size, self.id)) throw new FullClusterError();
    await registry.register(self);
    options.logger.info({ url: options.url, id: self.id, size }, 'registered with the discovery service');
    const listed = await registry.list();
    if (fullBefore(listed.nodes, size, self.id)) throw new FullClusterError();
    const nodes = await waitForMembers(registry, size, options.logger, { nodes: listed.nodes.slice(0, size), index: listed.index });
    options.logger.info({ url: options.url, found: nodes.length }, 'found all founding members from discovery');
    return toInitialCluster(nodes, size);
  } finally {
    await registry.close();
  }
}

/** The founding --initial-cluster without registering (a proxy's view); waits until it is complete. */
export async function readDiscoveredCluster(options: DiscoveryOptions): Promise<string> {
  const registry = new Registry(options);
  try {
    const size = await registry.size();
    const listed = await registry.list();
    const nodes = await waitForMembers(registry, size, options.logger, { nodes: listed.nodes.slice(0, size), index: listed.index });
    return toInitialCluster(nodes, size);
  } finally {
    await registry.close();
  }
}
