import type { RawResponse } from '../client/v2-client.js';
import type { CallOptions, ClusterClient } from './cluster-client.js';
import { CtlClientError, ERR_EMPTY_BODY, ERR_INVALID_JSON, EtcdError } from './go-errors.js';
import { goEncodeValues } from './go-url.js';

/**
 * The v2 keys API as etcd's Go client (client/keys.go) speaks it: the same
 * query and form parameters (so the server sees what it sees from etcdctl)
 * and the same decoding of answers into a Response and its Nodes.
 */

/** A node as the Go client holds it: absent fields take Go's zero values. */
export interface GoNode {
  readonly key: string;
  readonly dir: boolean;
  readonly value: string;
  /** null when the answer had no "nodes" (Go's nil slice). */
  readonly nodes: readonly GoNode[] | null;
  readonly createdIndex: number;
  readonly modifiedIndex: number;
  /** The server's text, re-emitted unchanged. */
  readonly expiration: string | undefined;
  readonly ttl: number;
}

export interface KeysResponse {
  readonly action: string;
  readonly node: GoNode | null;
  readonly prevNode: GoNode | null;
  /** X-Etcd-Index. */
  readonly index: number;
}

const KEYS_PREFIX = '/v2/keys';

function keyPath(key: string): string {
  return `${KEYS_PREFIX}${key !== '' && !key.startsWith('/') ? '/' : ''}${key}`;
}

function toNode(raw: unknown): GoNode | null {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const o = raw as Record<string, unknown>;
  const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
  return {
    key: typeof o['key'] === 'string' ? o['key'] : '',
    dir: o['dir'] === true,
    value: typeof o['value'] === 'string' ? o['value'] : '',
    nodes: Array.isArray(o['nodes']) ? o['nodes'].map((n) => toNode(n)).filter((n): n is GoNode => n !== null) : null,
    createdIndex: num(o['createdIndex']),
    modifiedIndex: num(o['modifiedIndex']),
    expiration: typeof o['expiration'] === 'string' ? o['expiration'] : undefined,
    ttl: num(o['ttl']),
  };
}

class EmptyBodyError extends CtlClientError {
  constructor() {
    super(ERR_EMPTY_BODY);
  }
}

/** unmarshalHTTPResponse: 200 and 201 carry an event, anything else an etcd error body. */
export function decodeKeysResponse(res: RawResponse): KeysResponse {
  if (res.status === 200 || res.status === 201) {
    if (res.text === '') throw new EmptyBodyError();
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      throw new CtlClientError(ERR_INVALID_JSON);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new CtlClientError(ERR_INVALID_JSON);
    const o = body as Record<string, unknown>;
    const header = res.headers['x-etcd-index'];
    const indexText = Array.isArray(header) ? header[0] : header;
    let index = 0;
    if (indexText !== undefined && indexText !== '') {
      if (!/^[0-9]+$/.test(indexText)) throw new CtlClientError(`strconv.ParseUint: parsing ${JSON.stringify(indexText)}: invalid syntax`);
      index = Number(indexText);
    }
    return {
      action: typeof o['action'] === 'string' ? o['action'] : '',
      node: toNode(o['node']),
      prevNode: toNode(o['prevNode']),
      index,
    };
  }
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    throw new CtlClientError(ERR_INVALID_JSON);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new CtlClientError(ERR_INVALID_JSON);
  throw new EtcdError(body as Record<string, unknown>);
}

export interface SetOptions {
  readonly ttl?: number;
  readonly prevValue?: string;
  readonly prevIndex?: number;
  /** "true", "false" or absent, as the Go client's PrevExistType. */
  readonly prevExist?: 'true' | 'false';
  readonly dir?: boolean;
}

export interface DeleteOptions {
  readonly prevValue?: string;
  readonly prevIndex?: number;
  readonly dir?: boolean;
  readonly recursive?: boolean;
}

export interface GetOptions {
  readonly recursive?: boolean;
  readonly sort?: boolean;
  readonly quorum?: boolean;
}

export class KeysApi {
  readonly #client: ClusterClient;

  constructor(client: ClusterClient) {
    this.#client = client;
  }

  async get(key: string, opts: GetOptions, deadline: AbortSignal): Promise<KeysResponse> {
    const query = {
      recursive: String(opts.recursive === true),
      sorted: String(opts.sort === true),
      quorum: String(opts.quorum === true),
    };
    return decodeKeysResponse(await this.#client.do({ method: 'GET', path: keyPath(key), query }, { deadline }));
  }

  async set(key: string, value: string, opts: SetOptions, deadline: AbortSignal): Promise<KeysResponse> {
    const query: Record<string, string> = {};
    const form: Record<string, string> = {};
    if (opts.dir === true) query['dir'] = 'true';
    else {
      if (opts.prevValue !== undefined && opts.prevValue !== '') query['prevValue'] = opts.prevValue;
      form['value'] = value;
    }
    if (opts.prevIndex !== undefined && opts.prevIndex !== 0) query['prevIndex'] = unsigned(opts.prevIndex);
    if (opts.prevExist !== undefined) query['prevExist'] = opts.prevExist;
    if (opts.ttl !== undefined && opts.ttl > 0) form['ttl'] = String(opts.ttl);
    const call: CallOptions = { deadline, oneShot: opts.prevExist === 'false' };
    return decodeKeysResponse(await this.#client.do({ method: 'PUT', path: keyPath(key), query, body: goEncodeValues(form) }, call));
  }

  async createInOrder(dir: string, value: string, ttl: number, deadline: AbortSignal): Promise<KeysResponse> {
    const form: Record<string, string> = { value };
    if (ttl > 0) form['ttl'] = String(ttl);
    return decodeKeysResponse(await this.#client.do({ method: 'POST', path: keyPath(dir), body: goEncodeValues(form) }, { deadline }));
  }

  async delete(key: string, opts: DeleteOptions, deadline: AbortSignal): Promise<KeysResponse> {
    const query: Record<string, string> = {};
    if (opts.prevValue !== undefined && opts.prevValue !== '') query['prevValue'] = opts.prevValue;
    if (opts.prevIndex !== undefined && opts.prevIndex !== 0) query['prevIndex'] = unsigned(opts.prevIndex);
    if (opts.dir === true) query['dir'] = 'true';
    if (opts.recursive === true) query['recursive'] = 'true';
    // Go's client labels its body-less DELETE as a form too.
    const action = { method: 'DELETE', path: keyPath(key), query, contentType: 'application/x-www-form-urlencoded' };
    return decodeKeysResponse(await this.#client.do(action, { deadline, oneShot: true }));
  }

  /** A Watcher: each next() is one long poll, resuming after the last event's modifiedIndex. */
  watcher(key: string, afterIndex: number, recursive: boolean): { next(): Promise<KeysResponse> } {
    let waitIndex = afterIndex > 0 ? afterIndex + 1 : 0;
    const client = this.#client;
    return {
      async next() {
        for (;;) {
          const query = { wait: 'true', waitIndex: String(waitIndex), recursive: String(recursive) };
          const res = await client.do({ method: 'GET', path: keyPath(key), query }, { wait: true });
          let event: KeysResponse;
          try {
            event = decodeKeysResponse(res);
          } catch (err) {
            // An empty 200 is a long poll the server ended without an event: poll again.
            if (err instanceof EmptyBodyError) continue;
            throw err;
          }
          waitIndex = (event.node?.modifiedIndex ?? 0) + 1;
          return event;
        }
      },
    };
  }
}

/** Go converts the int flag to uint64: a negative index wraps around. */
function unsigned(n: number): string {
  return n < 0 ? (BigInt(n) + (1n << 64n)).toString() : String(n);
}
