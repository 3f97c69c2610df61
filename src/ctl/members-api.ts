import type { ClusterClient } from './cluster-client.js';
import { goJson } from '../v2store/go-json.js';
import { CtlClientError } from './go-errors.js';
import { parseGoUrl, goUrlString, GoUrlError } from './go-url.js';

/** The v2 members API as etcd's Go client (client/members.go) uses it. */

export interface Member {
  readonly id: string;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
}

const MEMBERS = '/v2/members';

/** The wording of Go's encoding/json for text that is not JSON at all. */
function goJsonError(text: string): Error {
  const first = /\S/.exec(text);
  if (first === null) return new CtlClientError('unexpected end of JSON input');
  return new CtlClientError(`invalid character '${first[0]}' looking for beginning of value`);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw goJsonError(text);
  }
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

/** Go's json.Unmarshal matches field names case-insensitively. */
function field(o: Record<string, unknown>, name: string): unknown {
  if (name in o) return o[name];
  const key = Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : o[key];
}

function toMember(raw: unknown): Member {
  const o = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const id = field(o, 'id');
  const name = field(o, 'name');
  return {
    id: typeof id === 'string' ? id : '',
    name: typeof name === 'string' ? name : '',
    peerURLs: strings(field(o, 'peerURLs')),
    clientURLs: strings(field(o, 'clientURLs')),
  };
}

function unexpectedStatus(status: number): Error {
  return new CtlClientError(`unexpected status code ${status}`);
}

/** A membersError answer: its "message" is the whole error text. */
function membersError(text: string): Error {
  const body = parseJson(text);
  const message = body !== null && typeof body === 'object' ? field(body as Record<string, unknown>, 'message') : undefined;
  return new CtlClientError(typeof message === 'string' ? message : '');
}

/** types.NewURLs: peer URLs must be http(s) or unix(s), host:port, without a path; returned sorted. */
export function checkPeerUrls(inputs: readonly string[]): string[] {
  if (inputs.length === 0) throw new CtlClientError('no valid URLs given');
  const out: string[] = [];
  for (const raw of inputs) {
    const text = raw.trim();
    let u;
    try {
      u = parseGoUrl(text);
    } catch (err) {
      if (err instanceof GoUrlError) throw new CtlClientError(err.message);
      throw err;
    }
    if (!['http', 'https', 'unix', 'unixs'].includes(u.scheme)) throw new CtlClientError(`URL scheme must be http, https, unix, or unixs: ${text}`);
    if (!hasHostPort(u.host)) throw new CtlClientError(`URL address does not have the form "host:port": ${text}`);
    if (u.path !== '') throw new CtlClientError(`URL must not contain a path: ${text}`);
    out.push(goUrlString(u));
  }
  return out.sort();
}

/** net.SplitHostPort succeeds. */
function hasHostPort(host: string): boolean {
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    return close > 0 && host[close + 1] === ':' && !host.slice(close + 2).includes(':');
  }
  const colon = host.lastIndexOf(':');
  return colon >= 0 && !host.slice(0, colon).includes(':');
}

export class MembersApi {
  readonly #client: ClusterClient;

  constructor(client: ClusterClient) {
    this.#client = client;
  }

  async list(deadline: AbortSignal | undefined): Promise<Member[]> {
    const res = await this.#client.do({ method: 'GET', path: MEMBERS }, deadline === undefined ? {} : { deadline });
    if (res.status !== 200) throw unexpectedStatus(res.status);
    const body = parseJson(res.text);
    const members = body !== null && typeof body === 'object' ? field(body as Record<string, unknown>, 'members') : undefined;
    return Array.isArray(members) ? members.map(toMember) : [];
  }

  async leader(deadline: AbortSignal): Promise<Member> {
    const res = await this.#client.do({ method: 'GET', path: `${MEMBERS}/leader` }, { deadline });
    if (res.status !== 200) throw unexpectedStatus(res.status);
    return toMember(parseJson(res.text));
  }

  async add(peerUrl: string, deadline: AbortSignal): Promise<Member> {
    const urls = checkPeerUrls([peerUrl]);
    const res = await this.#client.do(
      { method: 'POST', path: MEMBERS, body: goJson({ peerURLs: urls }), contentType: 'application/json' },
      { deadline },
    );
    if (res.status === 409) throw membersError(res.text);
    if (res.status !== 201) throw unexpectedStatus(res.status);
    return toMember(parseJson(res.text));
  }

  async remove(id: string, deadline: AbortSignal): Promise<void> {
    const res = await this.#client.do({ method: 'DELETE', path: `${MEMBERS}/${id}` }, { deadline });
    if (res.status !== 204 && res.status !== 410) throw unexpectedStatus(res.status);
  }

  async update(id: string, peerUrls: readonly string[], deadline: AbortSignal): Promise<void> {
    const urls = checkPeerUrls(peerUrls);
    const res = await this.#client.do(
      { method: 'PUT', path: `${MEMBERS}/${id}`, body: goJson({ peerURLs: urls }), contentType: 'application/json' },
      { deadline },
    );
    if (res.status === 404 || res.status === 409) throw membersError(res.text);
    if (res.status !== 204) throw unexpectedStatus(res.status);
  }
}
