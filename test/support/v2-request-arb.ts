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

const SEGMENTS = [
  'a', 'b', 'c', 'a', 'b', 'dir', 'q',
  '_h', '_hidden',
  '..', '.', '', '%2F', '%2e%2e', '%zz', '%', '%20sp', 'a+b',
  '%D0%BA%D0%BB%D1%8E%D1%87', 'ключ', '日本',
  'x'.repeat(300),
  '00000000000000000001',
];

const BOOLS = ['true', 'true', 'false', '1', '0', 't', 'F', 'TRUE', 'maybe', '', 'yes'];
const TTLS = ['', '100', '3600', '0100', '4294967296', '-1', '1e3', 'abc', '1.5', '99999999999999999999', '%205', '+100'];
const VALUES = ['v', '', '1', 'ünï', 'a b', 'x%26y', '%zz', 'line%0Abreak', 'Hello'];
const PREV_VALUES = ['v', '', '1', 'nope', 'Hello'];
const BAD_INDEXES = ['x', '-1', '', '1.5', '0', '99999999999999999999', '1e3'];

const indexArb: fc.Arbitrary<IndexParam> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 12 }).map((delta) => ({ delta })) },
  { weight: 1, arbitrary: fc.constantFrom(...BAD_INDEXES).map((raw) => ({ raw })) },
);

const paramArb: fc.Arbitrary<readonly [string, string | IndexParam]> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...VALUES).map((v) => ['value', v] as const) },
  { weight: 2, arbitrary: fc.constantFrom(...BOOLS).map((v) => ['dir', v] as const) },
  { weight: 2, arbitrary: fc.constantFrom(...BOOLS).map((v) => ['recursive', v] as const) },
  { weight: 2, arbitrary: fc.constantFrom(...BOOLS).map((v) => ['sorted', v] as const) },
  { weight: 1, arbitrary: fc.constantFrom(...BOOLS).map((v) => ['wait', v] as const) },
  { weight: 1, arbitrary: fc.constantFrom(...BOOLS).map((v) => ['quorum', v] as const) },
  { weight: 1, arbitrary: fc.constantFrom(...BOOLS).map((v) => ['stream', v] as const) },
  { weight: 1, arbitrary: fc.constantFrom(...BOOLS).map((v) => ['noValueOnSuccess', v] as const) },
  { weight: 1, arbitrary: fc.constantFrom(...BOOLS).map((v) => ['refresh', v] as const) },
  { weight: 2, arbitrary: fc.constantFrom(...BOOLS).map((v) => ['prevExist', v] as const) },
  { weight: 2, arbitrary: fc.constantFrom(...TTLS).map((v) => ['ttl', v] as const) },
  { weight: 2, arbitrary: fc.constantFrom(...PREV_VALUES).map((v) => ['prevValue', v] as const) },
  { weight: 2, arbitrary: indexArb.map((v) => ['prevIndex', v] as const) },
  { weight: 1, arbitrary: indexArb.map((v) => ['waitIndex', v] as const) },
  { weight: 1, arbitrary: fc.constantFrom(['foo', 'bar'] as const, ['%zz', ''] as const, ['a', '%G0'] as const, ['', ''] as const) },
);

const METHODS = fc.oneof(
  { weight: 4, arbitrary: fc.constant('GET') },
  { weight: 5, arbitrary: fc.constant('PUT') },
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
    segments: fc.array(fc.constantFrom(...SEGMENTS), { minLength: 0, maxLength: 3 }),
    trailingSlash: fc.boolean(),
    params: fc.array(paramArb, { maxLength: 5 }),
    paramsInBody: fc.boolean(),
    rawBody: fc.option(rawBodyArb, { freq: 6 }),
  })
  .map(({ method, segments, trailingSlash, params, paramsInBody, rawBody }) => ({
    method,
    keyPath: segments.join('/'),
    trailingSlash,
    params,
    paramsInBody: paramsInBody && rawBody === null,
    ...(rawBody === null ? {} : { rawBody }),
  }));

export const sequenceArb = fc.array(requestTemplateArb, { minLength: 1, maxLength: 10 });

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
