import type { RawResponse } from './raw-http.js';

/**
 * Turns one etcd-v2 HTTP response into a form that can be compared with the
 * same request's response from another server whose index counter started
 * elsewhere. Absolute indexes become deltas from the sequence's start index;
 * values that depend on the clock (expiration, ttl) are set aside for a
 * tolerant comparison; Go's random map order in unsorted listings is undone.
 */

/** What the normalizer needs to know about the request that produced the response. */
export interface RequestFacts {
  readonly method: string;
  readonly path: string;
  /** Query and form parameters (first value wins, like Go's FormValue). */
  readonly params: ReadonlyMap<string, string>;
}

export type CompareMode = 'full' | 'shape';

export interface NormalizedResponse {
  readonly status: number;
  /** Selected headers, already normalized (index headers as deltas, presence-only ones as `<present>`). */
  readonly headers: Readonly<Record<string, string>>;
  /** Parsed and normalized JSON, or the raw text when the body is not JSON. */
  readonly body: unknown;
  readonly bodyIsJson: boolean;
  /** Whether a JSON body ends in a newline, as Go's json.Encoder writes it. */
  readonly trailingNewline: boolean;
  /** TTLs found in the body, in document order (compared with a tolerance of 1). */
  readonly ttls: readonly number[];
  /** Expirations found in the body as epoch ms, in document order (compared with a tolerance). */
  readonly expirations: readonly number[];
  /** Problems visible in this response alone (e.g. an expiration that is not RFC 3339). */
  readonly problems: readonly string[];
}

// Headers compared verbatim.
const EXACT_HEADERS = [
  'content-type',
  'allow',
  'location',
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'x-content-type-options',
];
// Headers whose value differs legitimately between servers but whose presence clients see.
const PRESENCE_HEADERS = ['x-raft-index', 'x-raft-term', 'x-etcd-cluster-id'];

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
// In-order keys are the creating index zero-padded to 20 digits.
const SEQ_SEGMENT = /\/(\d{20})(?=\/|$|\])/g;

/** Go's url.ParseQuery, tolerant: undecodable pairs are kept raw (the servers judge them, not us). */
export function parseParams(path: string, form?: string): Map<string, string> {
  const out = new Map<string, string>();
  const add = (qs: string): void => {
    for (const part of qs.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const rawKey = eq < 0 ? part : part.slice(0, eq);
      const rawVal = eq < 0 ? '' : part.slice(eq + 1);
      const key = safeDecode(rawKey);
      if (!out.has(key)) out.set(key, safeDecode(rawVal));
    }
  };
  // Go's FormValue prefers body values over the query for PUT/POST.
  if (form !== undefined) add(form);
  const q = path.indexOf('?');
  if (q >= 0) add(path.slice(q + 1));
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

export function normalizeResponse(
  res: RawResponse,
  req: RequestFacts,
  base: number,
  mode: CompareMode = 'full',
): NormalizedResponse {
  const problems: string[] = [];
  const ttls: number[] = [];
  const expirations: number[] = [];

  let body: unknown = res.text;
  let bodyIsJson = false;
  const trimmed = res.text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      body = JSON.parse(trimmed);
      bodyIsJson = true;
    } catch {
      body = res.text;
    }
  }
  const errorCode = bodyIsJson && typeof body === 'object' && body !== null && 'errorCode' in body
    ? (body as { errorCode: unknown }).errorCode
    : undefined;
  // Form errors (2xx codes) are raised before the store is consulted and carry
  // index 0 in etcd; there 0 is a literal, not a position in the store's history.
  // A HEAD answer has no body to tell; a 400 with X-Etcd-Index 0 is then a form error too.
  const literalZero = (typeof errorCode === 'number' && errorCode >= 200 && errorCode < 300) ||
    (req.method === 'HEAD' && res.status === 400 && res.headers['x-etcd-index'] === '0');
  const delta = (n: number): number | string => (n === 0 && literalZero ? 0 : `Δ${n - base}`);

  const headers: Record<string, string> = {};
  for (const name of EXACT_HEADERS) {
    const v = res.headers[name];
    if (v !== undefined) headers[name] = v;
  }
  // A redirect keeps the query string, where index parameters are per-server numbers.
  const indexParams = (s: string): string =>
    s.replace(/([?&](?:amp;)?(?:prevIndex|waitIndex)=)(\d+)(?=&|$|")/g, (m, k: string, n: string) =>
      // 0 and overflowing numbers are literals a client wrote, not positions in the store.
      n === '0' || n.length > 15 ? m : `${k}${delta(Number(n))}`);
  const location = headers['location'];
  if (location !== undefined) headers['location'] = indexParams(location);
  for (const name of PRESENCE_HEADERS) {
    if (res.headers[name] !== undefined) headers[name] = '<present>';
  }
  const etcdIndex = res.headers['x-etcd-index'];
  if (etcdIndex !== undefined) {
    const n = Number(etcdIndex);
    headers['x-etcd-index'] = /^\d+$/.test(etcdIndex) ? String(delta(n)) : `<not a number: ${etcdIndex}>`;
  }

  if (!bodyIsJson && res.status >= 300 && res.status < 400) body = indexParams(res.text);
  if (bodyIsJson) {
    if (mode === 'shape') {
      body = shapeOf(body);
    } else {
      const sorted = req.params.get('sorted') === 'true';
      body = errorCode !== undefined ? normalizeError(body as Record<string, unknown>) : normalizeNodeTree(body, sorted);
    }
  }

  return {
    status: res.status,
    headers,
    body,
    bodyIsJson,
    trailingNewline: res.text.endsWith('\n'),
    ttls,
    expirations,
    problems,
  };

  function renameSeq(s: string): string {
    return s.replace(SEQ_SEGMENT, (_m, digits: string) => `/<seq ${delta(Number(digits))}>`);
  }

  function normalizeError(err: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const code = err['errorCode'];
    for (const [k, v] of Object.entries(err)) {
      if (k === 'index' && typeof v === 'number') out[k] = delta(v);
      else if (k === 'cause' && typeof v === 'string') out[k] = normalizeCause(code, v);
      else out[k] = v;
    }
    return out;
  }

  function normalizeCause(code: unknown, cause: string): string {
    if (code === 401) {
      // "the requested history has been cleared [first/requested]": both are store indexes.
      return cause.replace(/\[(\d+)\/(\d+)\]/, (_m, a: string, b: string) => `[${delta(Number(a))}/${delta(Number(b))}]`);
    }
    if (code === 101 && req.params.has('prevIndex')) {
      // "[prevValue != value] [prevIndex != modifiedIndex]": only the last bracket holds indexes,
      // and only when the request carried prevIndex (a numeric prevValue must stay as it is).
      return cause.replace(/\[(\d+) != (\d+)\]$/, (_m, a: string, b: string) => `[${delta(Number(a))} != ${delta(Number(b))}]`);
    }
    return renameSeq(cause);
  }

  function normalizeNodeTree(value: unknown, sorted: boolean): unknown {
    if (Array.isArray(value)) return value.map((v) => normalizeNodeTree(v, sorted));
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if ((k === 'createdIndex' || k === 'modifiedIndex') && typeof v === 'number') {
        out[k] = delta(v);
      } else if (k === 'key' && typeof v === 'string') {
        out[k] = renameSeq(v);
      } else if (k === 'ttl' && typeof v === 'number') {
        ttls.push(v);
        out[k] = '<ttl>';
      } else if (k === 'expiration' && typeof v === 'string') {
        if (!RFC3339.test(v)) problems.push(`expiration ${JSON.stringify(v)} is not RFC 3339`);
        const at = Date.parse(v);
        if (Number.isNaN(at)) problems.push(`expiration ${JSON.stringify(v)} does not parse`);
        else expirations.push(at);
        out[k] = '<expiration>';
      } else if (k === 'nodes' && Array.isArray(v)) {
        // Unsorted listings come out in Go map order, which is random: compare them as sets.
        // Sorting happens before normalizing so TTLs are collected in the same order on both sides.
        out[k] = (sorted ? v : [...v].sort(byKey)).map((n) => normalizeNodeTree(n, sorted));
      } else {
        out[k] = normalizeNodeTree(v, sorted);
      }
    }
    return out;
  }
}

function byKey(a: unknown, b: unknown): number {
  const ka = keyOf(a);
  const kb = keyOf(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function keyOf(n: unknown): string {
  if (typeof n === 'object' && n !== null && 'key' in n) return String((n as { key: unknown }).key);
  return JSON.stringify(n);
}

/** Replaces every leaf with its type, keeping object keys and array lengths: for stats and members. */
export function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = shapeOf(v);
    return out;
  }
  return `<${value === null ? 'null' : typeof value}>`;
}
