import fc from 'fast-check';
import type { HttpStep, StepContext } from './http-diff.js';

/**
 * fast-check generators of etcd v2 requests, valid and malformed, for
 * differential fuzzing. A generated request is a template: the key prefix
 * and index-valued parameters are filled in per server at run time (indexes
 * as deltas from the sequence start, since the two servers count from
 * different origins).
 *
 * Values left out on purpose (each would make etcd disagree with itself or
 * measure something Cairn is allowed to do differently):
 * - TTLs 0..99: etcd removes expired keys on a 500 ms timer, so when they
 *   vanish (and the index the expire event takes) depends on timing.
 * - TTLs above 9223372036 s: etcd multiplies by time.Second in an int64 and
 *   the expiration wraps around (a year-1700 date or a negative TTL); that
 *   overflow is not behaviour anyone relies on.
 * - Methods Node's HTTP parser does not know (e.g. FOO, lowercase get): Node
 *   closes the connection with 400 before any handler runs, so Cairn cannot
 *   answer 405 like Go does. Checked against Cairn alone instead.
 * - Bodies over 1.5 MiB: Cairn answers 413 by design, etcd accepts them.
 */

export type IndexParam = { readonly delta: number } | { readonly raw: string };

export interface RequestTemplate {
  readonly method: string;
  /** Path segments below the sequence prefix, joined by '/', already escaped as sent. */
  readonly keyPath: string;
  readonly trailingSlash: boolean;
  /** [name, value] with value either a raw query string fragment or an index to resolve. */
  readonly params: readonly (readonly [string, string | IndexParam])[];
  /** Which params travel in a form body instead of the query. */
  readonly paramsInBody: boolean;
  readonly rawBody?: { readonly bytes: string; readonly contentType: string | undefined };
}

const PLAIN_SEGMENTS = ['a', 'a', 'a', 'b', 'b', 'b', 'c', 'dir', 'q', '_h'];
const ODD_SEGMENTS = [
  '_hidden', '..', '.', '', '%2F', '%2e%2e', '%zz', '%', '%20sp', 'a+b',
  '%D0%BA%D0%BB%D1%8E%D1%87', 'ключ', '日本', 'x'.repeat(300),
];
const segmentArb = fc.oneof(
  { weight: 9, arbitrary: fc.constantFrom(...PLAIN_SEGMENTS) },
  { weight: 1, arbitrary: fc.constantFrom(...ODD_SEGMENTS) },
);

// Each parameter has well-formed values (so requests reach the store) and malformed ones.
const GOOD = {
  bool: ['true', 'true', 'false', '1', 't', 'F', 'TRUE'],
  ttl: ['', '100', '3600', '0100', '4294967296'],
  value: ['v', '', '1', 'ünï', 'a%20b', 'x%26y', 'line%0Abreak', 'Hello'],
  prevValue: ['v', '1', 'nope', 'Hello'],
};
const BAD = {
  bool: ['maybe', '', 'yes', '2'],
  ttl: ['-1', '1e3', 'abc', '1.5', '99999999999999999999', '%205', '+100'],
  value: ['%zz', '%'],
  prevValue: [''],
  index: ['x', '-1', '', '1.5', '0', '99999999999999999999', '1e3'],
};

const pick = (good: readonly string[], bad: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: fc.constantFrom(...bad) });

const indexArb: fc.Arbitrary<IndexParam> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 12 }).map((delta) => ({ delta })) },
  { weight: 1, arbitrary: fc.constantFrom(...BAD.index).map((raw) => ({ raw })) },
);

const boolParam = (name: string) => pick(GOOD.bool, BAD.bool).map((v) => [name, v] as const);

const paramArb: fc.Arbitrary<readonly [string, string | IndexParam]> = fc.oneof(
  { weight: 6, arbitrary: pick(GOOD.value, BAD.value).map((v) => ['value', v] as const) },
  { weight: 2, arbitrary: boolParam('dir') },
  { weight: 3, arbitrary: boolParam('recursive') },
  { weight: 2, arbitrary: boolParam('sorted') },
  { weight: 1, arbitrary: boolParam('wait') },
  { weight: 1, arbitrary: boolParam('quorum') },
  { weight: 1, arbitrary: boolParam('stream') },
  { weight: 1, arbitrary: boolParam('noValueOnSuccess') },
  { weight: 1, arbitrary: boolParam('refresh') },
  { weight: 2, arbitrary: boolParam('prevExist') },
  { weight: 2, arbitrary: pick(GOOD.ttl, BAD.ttl).map((v) => ['ttl', v] as const) },
  { weight: 2, arbitrary: pick(GOOD.prevValue, BAD.prevValue).map((v) => ['prevValue', v] as const) },
  { weight: 2, arbitrary: indexArb.map((v) => ['prevIndex', v] as const) },
  { weight: 1, arbitrary: indexArb.map((v) => ['waitIndex', v] as const) },
  { weight: 1, arbitrary: fc.constantFrom(['foo', 'bar'] as const, ['%zz', ''] as const, ['a', '%G0'] as const, ['', ''] as const) },
);

const METHODS = fc.oneof(
  { weight: 5, arbitrary: fc.constant('GET') },
  { weight: 6, arbitrary: fc.constant('PUT') },
  { weight: 2, arbitrary: fc.constant('POST') },
  { weight: 3, arbitrary: fc.constant('DELETE') },
  { weight: 1, arbitrary: fc.constant('HEAD') },
  { weight: 1, arbitrary: fc.constantFrom('OPTIONS', 'PATCH', 'TRACE', 'PROPFIND') },
);

const rawBodyArb = fc.record({
  bytes: fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.constantFrom('%%%', 'value=%zz', 'value=ok&&&=', '=', 'value', 'value=a;b', '{"value":"j"}', 'value=\u00ff\u0000'),
    fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a).toString('latin1')),
  ),
  contentType: fc.constantFrom<string | undefined>(
    'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded', 'text/plain', 'application/json',
    'multipart/form-data', undefined,
  ),
});

export const requestTemplateArb: fc.Arbitrary<RequestTemplate> = fc
  .record({
    method: METHODS,
    segments: fc.oneof(
      { weight: 1, arbitrary: fc.constant([]) },
      { weight: 8, arbitrary: fc.array(segmentArb, { minLength: 1, maxLength: 2 }) },
      { weight: 1, arbitrary: fc.array(segmentArb, { minLength: 3, maxLength: 4 }) },
    ),
    trailingSlash: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
    params: fc.array(paramArb, { maxLength: 4 }),
    paramsInBody: fc.boolean(),
    rawBody: fc.option(rawBodyArb, { freq: 10 }),
  })
  .map(({ method, segments, trailingSlash, params, paramsInBody, rawBody }) => ({
    method,
    keyPath: segments.join('/'),
    trailingSlash,
    params,
    paramsInBody: paramsInBody && rawBody === null,
    ...(rawBody === null ? {} : { rawBody }),
  }));

/** Fixed writes at the start of every sequence, so the random requests find keys, directories and a TTL. */
export const SETUP: readonly RequestTemplate[] = [
  { method: 'PUT', keyPath: 'a', trailingSlash: false, params: [['value', 'v']], paramsInBody: true },
  { method: 'PUT', keyPath: 'b/a', trailingSlash: false, params: [['value', '1']], paramsInBody: true },
  { method: 'PUT', keyPath: 'dir/b', trailingSlash: false, params: [['value', 'Hello'], ['ttl', '3600']], paramsInBody: false },
  { method: 'PUT', keyPath: 'b/_h', trailingSlash: false, params: [['value', 'hidden']], paramsInBody: true },
];

export const sequenceArb = fc
  .array(requestTemplateArb, { minLength: 3, maxLength: 10 })
  .map((random) => [...SETUP, ...random]);

/** Turns a template into a concrete request for one server. */
export function resolveTemplate(t: RequestTemplate, prefix: string, ctx: StepContext): HttpStep {
  const pairs = t.params.map(([name, v]) => {
    const value = typeof v === 'string' ? v : 'delta' in v ? String(ctx.abs(v.delta)) : v.raw;
    // Values are mostly used verbatim so malformed escapes reach the server as generated.
    return `${name}=${value}`;
  });
  const query = t.paramsInBody ? '' : pairs.join('&');
  const path = `/v2/keys/${prefix}${t.keyPath === '' ? '' : `/${t.keyPath}`}${t.trailingSlash ? '/' : ''}${query === '' ? '' : `?${query}`}`;
  if (t.rawBody !== undefined) {
    return {
      method: t.method,
      path,
      body: Buffer.from(t.rawBody.bytes, 'latin1'),
      ...(t.rawBody.contentType === undefined ? {} : { contentType: t.rawBody.contentType }),
    };
  }
  if (t.paramsInBody && pairs.length > 0) {
    return { method: t.method, path, body: pairs.join('&'), contentType: 'application/x-www-form-urlencoded' };
  }
  return { method: t.method, path };
}

/** Whether the request may legitimately stay open (a watch): handled as a long poll. */
export function mayWait(step: HttpStep): boolean {
  return step.method === 'GET' && /[?&]wait=(true|1|t|T|TRUE|True)(&|$)/.test(step.path);
}
