import { CairnError } from '../util/errors.js';

/*
 * Parsing /v2/members request bodies and ids as etcd's v2 handler does
 * (httptypes.MemberCreateRequest / MemberUpdateRequest, types.NewURLs,
 * types.IDFromString), with its error texts: clients such as etcdctl print
 * them.
 */

/** A 400 (or 415) with etcd's message. */
export class MemberRequestError extends CairnError {
  readonly status: number;

  constructor(status: number, message: string) {
    super('CAIRN_MEMBER_REQUEST', message);
    this.status = status;
  }
}

/** Go's encoding/json name for the JSON type that did not fit. */
function goJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

/** etcd's unmarshalRequest: the Content-Type must be JSON (parameters allowed). */
export function checkJsonContentType(header: string | undefined): void {
  const raw = header ?? '';
  const semicolon = raw.indexOf(';');
  const type = semicolon === -1 ? raw : raw.slice(0, semicolon).trim().toLowerCase();
  if (type !== 'application/json') {
    throw new MemberRequestError(415, `Bad Content-Type ${type}, accept application/json`);
  }
}

/** Go's json.Unmarshal looks a field up by exact name first, then case-insensitively. */
function field(object: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(object, name)) return object[name];
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(object)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

function syntaxMessage(text: string): string {
  if (text.trim() === '') return 'unexpected end of JSON input';
  try {
    JSON.parse(text);
  } catch (err) {
    // V8: "Unexpected token b in JSON at position 1" / "... is not valid JSON"; Go: "invalid character 'b' ...".
    const at = /position (\d+)/.exec((err as Error).message);
    const position = at?.[1] === undefined ? -1 : Number(at[1]);
    const ch = text[position];
    if (ch !== undefined) {
      const before = text.slice(0, position).trimEnd().slice(-1);
      return `invalid character '${ch}' looking for beginning of ${before === '{' || before === ',' ? 'object key string' : 'value'}`;
    }
  }
  return 'unexpected end of JSON input';
}

/**
 * The peer URLs of a POST or PUT body, validated and normalized like
 * etcd's types.NewURLs (every URL http(s)://host:port, no path), sorted.
 */
export function parsePeerUrlsBody(body: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new MemberRequestError(400, syntaxMessage(body));
  }
  let list: unknown = undefined;
  if (parsed !== null) {
    if (typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new MemberRequestError(400, `json: cannot unmarshal ${goJsonType(parsed)} into Go value of type struct { PeerURLs []string "json:\\"peerURLs\\"" }`);
    }
    list = field(parsed as Record<string, unknown>, 'peerURLs');
  }
  if (list !== undefined && list !== null && !Array.isArray(list)) {
    throw new MemberRequestError(400, `json: cannot unmarshal ${goJsonType(list)} into Go struct field .peerURLs of type []string`);
  }
  const items = (list ?? []) as unknown[];
  for (const item of items) {
    if (typeof item !== 'string' && item !== null) {
      throw new MemberRequestError(400, `json: cannot unmarshal ${goJsonType(item)} into Go struct field .peerURLs of type string`);
    }
  }
  if (items.length === 0) throw new MemberRequestError(400, 'no valid URLs given');
  return items.map((item) => normalizeMemberUrl(typeof item === 'string' ? item : '')).sort();
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/** One URL as types.NewURLs checks it; returns scheme://host:port. */
export function normalizeMemberUrl(text: string): string {
  const input = text.trim();
  const scheme = SCHEME.exec(input)?.[1]?.toLowerCase();
  if (scheme === undefined || !['http', 'https', 'unix', 'unixs'].includes(scheme)) {
    throw new MemberRequestError(400, `URL scheme must be http, https, unix, or unixs: ${input}`);
  }
  if (scheme === 'unix' || scheme === 'unixs') {
    throw new MemberRequestError(400, `URL scheme ${scheme} is not supported by Cairn peers: ${input}`);
  }
  const afterScheme = input.slice(scheme.length + 1);
  const rest = afterScheme.startsWith('//') ? afterScheme.slice(2) : '';
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const after = authorityEnd === -1 ? '' : rest.slice(authorityEnd);
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  try {
    new URL(input);
  } catch {
    throw new MemberRequestError(400, `parse ${JSON.stringify(input)}: invalid URL`);
  }
  // net.SplitHostPort: a host (bracketed if IPv6) and a colon-separated port.
  if (!/^(\[[^\]]*\]|[^:[\]]*):[^:]*$/.test(hostPort)) {
    throw new MemberRequestError(400, `URL address does not have the form "host:port": ${input}`);
  }
  if ((after.split(/[?#]/, 1)[0] ?? '') !== '') {
    throw new MemberRequestError(400, `URL must not contain a path: ${input}`);
  }
  // etcd keeps the URL as written (the id is hashed from it); only the scheme is lowercased.
  return `${scheme}://${hostPort}`;
}

/** types.IDFromString: hex digits (as ParseUint base 16), at most 64 bits; undefined otherwise. */
export function parseMemberId(text: string): string | undefined {
  if (!/^[0-9a-fA-F]+$/.test(text)) return undefined;
  const digits = text.replace(/^0+/, '').toLowerCase();
  if (digits.length > 16) return undefined;
  return digits.padStart(16, '0');
}

/** How etcd prints a member id (types.ID.String): hex without leading zeros. */
export function etcdIdString(id: string): string {
  return id.replace(/^0+(?=.)/, '');
}
