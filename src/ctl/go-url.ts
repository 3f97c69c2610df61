/**
 * The parts of Go's net/url and path packages that decide what etcdctl
 * sends and prints: how an endpoint string is read (and refused), how a
 * key becomes a request path, how queries and form bodies are encoded.
 */

import { CairnError } from '../util/errors.js';
import { goQuote } from './go-values.js';

export interface GoUrl {
  readonly scheme: string;
  readonly opaque: string;
  readonly userinfo: string | undefined;
  readonly host: string;
  /** Unescaped path. */
  readonly path: string;
  readonly rawQuery: string;
  readonly fragment: string;
}

export class GoUrlError extends CairnError {
  constructor(message: string) {
    super('CAIRN_CTL_BAD_URL', message);
  }
}

function getScheme(raw: string): { scheme: string; rest: string } {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (/[a-zA-Z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return { scheme: '', rest: raw };
      continue;
    }
    if (c === ':') {
      if (i === 0) throw new GoUrlError('missing protocol scheme');
      return { scheme: raw.slice(0, i), rest: raw.slice(i + 1) };
    }
    return { scheme: '', rest: raw };
  }
  return { scheme: '', rest: raw };
}

function unescapePath(text: string): string {
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '%') {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        throw new GoUrlError(`invalid URL escape ${goQuote(text.slice(i, i + 3))}`);
      }
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...enc.encode(c));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

function checkHost(host: string): void {
  if (host.startsWith('[')) {
    const close = host.lastIndexOf(']');
    if (close < 0) throw new GoUrlError("missing ']' in host");
    const port = host.slice(close + 1);
    if (port !== '' && !/^:[0-9]*$/.test(port)) throw new GoUrlError(`invalid port ${goQuote(port)} after host`);
    return;
  }
  const colon = host.lastIndexOf(':');
  if (colon >= 0 && !/^:[0-9]*$/.test(host.slice(colon))) {
    throw new GoUrlError(`invalid port ${goQuote(host.slice(colon))} after host`);
  }
}

/** url.Parse; errors carry Go's wording, e.g. `parse "a:1": first path segment in URL cannot contain colon`. */
export function parseGoUrl(raw: string): GoUrl {
  try {
    return parseInner(raw);
  } catch (err) {
    if (err instanceof GoUrlError) throw new GoUrlError(`parse ${goQuote(raw)}: ${err.message}`);
    throw err;
  }
}

function parseInner(raw: string): GoUrl {
  const hash = raw.indexOf('#');
  const fragment = hash < 0 ? '' : raw.slice(hash + 1);
  let rest = hash < 0 ? raw : raw.slice(0, hash);
  if (/[\x00-\x1f\x7f]/.test(rest)) throw new GoUrlError('net/url: invalid control character in URL');
  const split = getScheme(rest);
  const scheme = split.scheme.toLowerCase();
  rest = split.rest;
  let rawQuery = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    rawQuery = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (!rest.startsWith('/')) {
    if (scheme !== '') return { scheme, opaque: rest, userinfo: undefined, host: '', path: '', rawQuery, fragment };
    const slash = rest.indexOf('/');
    const segment = slash < 0 ? rest : rest.slice(0, slash);
    if (segment.includes(':')) throw new GoUrlError('first path segment in URL cannot contain colon');
  }
  let userinfo: string | undefined;
  let host = '';
  if ((scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
    const afterSlashes = rest.slice(2);
    const slash = afterSlashes.indexOf('/');
    let authority = slash < 0 ? afterSlashes : afterSlashes.slice(0, slash);
    rest = slash < 0 ? '' : afterSlashes.slice(slash);
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      userinfo = authority.slice(0, at);
      authority = authority.slice(at + 1);
    }
    checkHost(authority);
    host = authority;
  }
  return { scheme, opaque: '', userinfo, host, path: unescapePath(rest), rawQuery, fragment };
}

const HEX = '0123456789ABCDEF';

function escapeBytes(text: string, keep: (c: number) => boolean, spaceAsPlus: boolean): string {
  let out = '';
  for (const byte of new TextEncoder().encode(text)) {
    if (keep(byte)) out += String.fromCharCode(byte);
    else if (spaceAsPlus && byte === 0x20) out += '+';
    else out += `%${HEX[byte >> 4] as string}${HEX[byte & 15] as string}`;
  }
  return out;
}

function isUnreserved(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f || c === 0x2e || c === 0x7e;
}

/** Go's path escaping (URL.EscapedPath): `$&+,/:;=@` stay, `?` and everything outside the unreserved set is escaped. */
export function goEscapePath(path: string): string {
  return escapeBytes(path, (c) => isUnreserved(c) || '$&+,/:;=@'.includes(String.fromCharCode(c)), false);
}

/** url.QueryEscape. */
export function goQueryEscape(text: string): string {
  return escapeBytes(text, isUnreserved, true);
}

/** url.Values.Encode: keys sorted, each pair query-escaped. */
export function goEncodeValues(values: Readonly<Record<string, string>>): string {
  return Object.keys(values)
    .sort()
    .map((k) => `${goQueryEscape(k)}=${goQueryEscape(values[k] as string)}`)
    .join('&');
}

/** URL.String(). */
export function goUrlString(u: GoUrl): string {
  let out = '';
  if (u.scheme !== '') out += `${u.scheme}:`;
  if (u.opaque !== '') out += u.opaque;
  else {
    if (u.scheme !== '' || u.host !== '' || u.userinfo !== undefined) {
      if (u.host !== '' || u.path !== '' || u.userinfo !== undefined) out += '//';
      if (u.userinfo !== undefined) out += `${u.userinfo}@`;
      out += u.host;
    }
    const path = goEscapePath(u.path);
    if (path !== '' && path[0] !== '/' && u.host !== '') out += '/';
    out += path;
  }
  if (u.rawQuery !== '') out += `?${u.rawQuery}`;
  if (u.fragment !== '') out += `#${u.fragment}`;
  return out;
}

/** path.Clean. */
export function goCleanPath(path: string): string {
  if (path === '') return '.';
  const rooted = path.startsWith('/');
  const parts: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
      else if (!rooted) parts.push('..');
      continue;
    }
    parts.push(seg);
  }
  const joined = parts.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** etcd's pathutil.CanonicalURLPath: a cleaned, rooted path that keeps a trailing slash. */
export function canonicalUrlPath(p: string): string {
  if (p === '') return '/';
  if (p[0] !== '/') p = `/${p}`;
  let np = goCleanPath(p);
  if (p.endsWith('/') && np !== '/') np += '/';
  return np;
}
