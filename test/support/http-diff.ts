import { isDeepStrictEqual } from 'node:util';
import { sendRaw, startRaw, type PendingRequest, type RawRequest, type RawResponse } from './raw-http.js';
import { waitFor } from './wait.js';
import { normalizeResponse, parseParams, type CompareMode, type NormalizedResponse } from './v2-normalize.js';

/**
 * Differential testing of the etcd v2 HTTP API: the same requests go to a
 * reference server (real etcd) and a candidate (Cairn), and every response
 * pair is compared after normalization. Differences are collected rather
 * than thrown at once, so one run shows every discrepancy of a sequence with
 * both full responses.
 */

export interface DiffTarget {
  readonly name: string;
  readonly url: string;
}

/** Per-server view used to build requests that carry absolute indexes. */
export interface StepContext {
  /** The server's X-Etcd-Index when the sequence began. */
  readonly base: number;
  /** Absolute index on this server for a delta from the sequence start. */
  abs(delta: number): number;
  /** The highest X-Etcd-Index seen so far on this server (absolute). */
  readonly lastIndex: number;
}

export interface HttpStep {
  readonly method?: string;
  readonly path: string;
  /** Sent as application/x-www-form-urlencoded (pairs keep order and duplicates). */
  readonly form?: Readonly<Record<string, string>> | readonly (readonly [string, string])[];
  /** Raw body; `contentType` says what it claims to be. */
  readonly body?: string | Buffer;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** 'shape' compares only JSON keys and value types (stats, members). */
  readonly compare?: CompareMode;
  /** Header names left out of the comparison, with the reason in the caller's comment. */
  readonly ignoreHeaders?: readonly string[];
}

export type StepInput = HttpStep | ((ctx: StepContext) => HttpStep);

/** What the reference server must answer, so a test fails if it no longer exercises what it claims to. */
export interface Expectation {
  readonly status?: number;
  readonly errorCode?: number;
  readonly action?: string;
}

export interface Pair {
  readonly ref: RawResponse;
  readonly cand: RawResponse;
  readonly refJson: unknown;
  readonly candJson: unknown;
}

export interface PendingPair {
  readonly label: string;
  readonly ref: PendingRequest;
  readonly cand: PendingRequest;
  readonly steps: readonly [HttpStep, HttpStep];
}

const EXPIRATION_TOLERANCE_MS = 2_500;

interface TargetState {
  readonly target: DiffTarget;
  base: number;
  lastIndex: number;
}

export class DiffSession {
  readonly #label: string;
  readonly #ref: TargetState;
  readonly #cand: TargetState;
  readonly #mismatches: string[] = [];
  #step = 0;

  constructor(label: string, ref: DiffTarget, cand: DiffTarget) {
    this.#label = label;
    this.#ref = { target: ref, base: 0, lastIndex: 0 };
    this.#cand = { target: cand, base: 0, lastIndex: 0 };
  }

  get mismatches(): readonly string[] {
    return this.#mismatches;
  }

  /** Records each server's current index as the origin for index deltas. */
  async begin(): Promise<void> {
    const [a, b] = await Promise.all([currentIndex(this.#ref.target.url), currentIndex(this.#cand.target.url)]);
    this.#ref.base = a;
    this.#ref.lastIndex = a;
    this.#cand.base = b;
    this.#cand.lastIndex = b;
  }

  contextFor(which: 'ref' | 'cand'): StepContext {
    const st = which === 'ref' ? this.#ref : this.#cand;
    return { base: st.base, abs: (d: number) => st.base + d, lastIndex: st.lastIndex };
  }

  /** Sends one request to both servers (concurrently) and compares the answers. */
  async send(input: StepInput, expect?: Expectation): Promise<Pair> {
    const pending = this.start(input, { waitForHeaders: false });
    return this.finish(pending, expect);
  }

  /**
   * Starts a request on both servers without waiting for its body (a watch).
   * By default waits until both servers sent the headers, which etcd does as
   * soon as the watcher is registered, so later writes are ordered after it.
   */
  start(input: StepInput, opts: { waitForHeaders?: boolean } = {}): PendingPair & { ready: Promise<void> } {
    const label = `#${++this.#step}`;
    const refStep = resolveStep(input, this.contextFor('ref'));
    const candStep = resolveStep(input, this.contextFor('cand'));
    const ref = startRaw(this.#ref.target.url, toRaw(refStep), 60_000);
    const cand = startRaw(this.#cand.target.url, toRaw(candStep), 60_000);
    const pair: PendingPair = { label, ref, cand, steps: [refStep, candStep] };
    const ready = opts.waitForHeaders === false
      ? Promise.resolve()
      : this.#awaitHeaders(pair);
    // Callers that never await `ready` must not crash the run with an unhandled rejection.
    ready.catch(() => undefined);
    return { ...pair, ready };
  }

  async #awaitHeaders(pair: PendingPair): Promise<void> {
    await pair.ref.headers;
    const deadline = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref());
    const got = await Promise.race([pair.cand.headers.then(() => 'ok' as const, () => 'error' as const), deadline]);
    if (got === 'timeout') {
      this.#record(pair.label, pair.steps[0], [
        `${this.#cand.target.name} did not send the response headers of a pending request within 10 s ` +
          `(${this.#ref.target.name} flushes them as soon as the watch is registered)`,
      ]);
    }
  }

  /** Waits for both responses of a started request and compares them. */
  async finish(pending: PendingPair, expect?: Expectation): Promise<Pair> {
    const [refRes, candRes] = await Promise.all([
      pending.ref.response,
      pending.cand.response.catch((err: unknown) => err as Error),
    ]);
    const step = pending.steps[0];
    if (candRes instanceof Error) {
      this.#record(pending.label, step, [`${this.#cand.target.name} failed: ${candRes.message}`], refRes);
      throw new Error(`${this.#label} ${pending.label}: ${this.#cand.target.name} gave no response: ${candRes.message}\n${this.report()}`);
    }
    if (process.env['COMPAT_TRACE'] === '1') {
      console.log(`TRACE ${this.#label} ${pending.label}: ${describeStep(step)}\n  ${describe(refRes)}\n  ${describe(candRes)}`);
    }
    this.#checkExpectation(pending.label, step, refRes, expect);
    const facts = (s: HttpStep) => ({ method: s.method ?? 'GET', path: s.path, params: parseParams(s.path, formText(s)) });
    const mode = step.compare ?? 'full';
    const a = normalizeResponse(refRes, facts(pending.steps[0]), this.#ref.base, mode);
    const b = normalizeResponse(candRes, facts(pending.steps[1]), this.#cand.base, mode);
    const diffs = compareNormalized(a, b, step.ignoreHeaders ?? []);
    if (diffs.length > 0) this.#record(pending.label, step, diffs, refRes, candRes, a, b);
    this.#noteIndex(this.#ref, refRes);
    this.#noteIndex(this.#cand, candRes);
    return { ref: refRes, cand: candRes, refJson: tryJson(refRes.text), candJson: tryJson(candRes.text) };
  }

  /**
   * Polls each server on its own with `input` until `done` holds for its
   * answer (e.g. a TTL key has expired there), then sends `input` once more
   * to both and compares. Expiry runs on each server's own timer, so the two
   * reach the state at different moments.
   */
  async sendWhen(
    input: StepInput,
    done: (res: RawResponse) => boolean,
    what: string,
    expect?: Expectation,
  ): Promise<Pair> {
    await Promise.all(
      (['ref', 'cand'] as const).map(async (which) => {
        const st = which === 'ref' ? this.#ref : this.#cand;
        const step = resolveStep(input, this.contextFor(which));
        await waitFor(async () => done(await sendRaw(st.target.url, toRaw(step))), {
          what: `${st.target.name}: ${what}`,
          timeoutMs: 30_000,
          intervalMs: 100,
        });
      }),
    );
    return this.send(input, expect);
  }

  /**
   * Sends many requests to both servers, `concurrency` at a time per server,
   * comparing only status codes (concurrent writes finish in any order, so
   * their bodies cannot be compared one to one).
   */
  async sendMany(inputs: readonly StepInput[], concurrency = 16): Promise<void> {
    const run = async (which: 'ref' | 'cand'): Promise<number[]> => {
      const st = which === 'ref' ? this.#ref : this.#cand;
      const statuses = new Array<number>(inputs.length).fill(0);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < inputs.length) {
          const i = next++;
          const input = inputs[i];
          if (input === undefined) continue;
          const res = await sendRaw(st.target.url, toRaw(resolveStep(input, this.contextFor(which))));
          statuses[i] = res.status;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      return statuses;
    };
    const [a, b] = await Promise.all([run('ref'), run('cand')]);
    const label = `#${++this.#step}`;
    const bad = a.flatMap((s, i) => (s === b[i] ? [] : [i]));
    const first = inputs[bad[0] ?? 0];
    if (bad.length > 0 && first !== undefined) {
      const step = resolveStep(first, this.contextFor('ref'));
      this.#record(label, step, [`${bad.length} of ${inputs.length} bulk requests got a different status, first: ${a[bad[0] ?? 0]} vs ${b[bad[0] ?? 0]}`]);
    }
  }

  /**
   * For a streaming watch (stream=true), which never ends: waits until both
   * servers sent `count` newline-terminated events, compares them one by one
   * (each with the response's headers), then closes the connections.
   */
  async finishStream(pending: PendingPair, count: number): Promise<void> {
    const lines = (p: PendingRequest): string[] => p.partial().split('\n').filter((l) => l !== '');
    await waitFor(() => lines(pending.ref).length >= count && lines(pending.cand).length >= count, {
      what: `${count} streamed events from both servers`,
      timeoutMs: 20_000,
    }).catch((err: unknown) => {
      this.#record(pending.label, pending.steps[0], [
        `streamed events: ${lines(pending.ref).length} from ${this.#ref.target.name}, ${lines(pending.cand).length} from ${this.#cand.target.name} (${String(err)})`,
      ]);
    });
    const [refHead, candHead] = await Promise.all([pending.ref.headers, pending.cand.headers]);
    this.abort(pending);
    const asResponse = (head: { status: number; headers: Readonly<Record<string, string>> }, text: string): RawResponse => ({
      status: head.status, headers: head.headers, body: Buffer.from(text), text, sentAt: 0, receivedAt: 0,
    });
    const a = lines(pending.ref);
    const b = lines(pending.cand);
    const facts = (st: HttpStep) => ({ method: st.method ?? 'GET', path: st.path, params: parseParams(st.path, formText(st)) });
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const x = asResponse(refHead, `${a[i] ?? ''}\n`);
      const y = asResponse(candHead, `${b[i] ?? ''}\n`);
      const diffs = compareNormalized(
        normalizeResponse(x, facts(pending.steps[0]), this.#ref.base),
        normalizeResponse(y, facts(pending.steps[1]), this.#cand.base),
      );
      if (diffs.length > 0) this.#record(`${pending.label} event ${i + 1}`, pending.steps[0], diffs, x, y);
    }
  }

  /** Both servers must still be holding the request open (e.g. a watch not woken by a refresh). */
  async expectPending(pending: PendingPair, why: string): Promise<void> {
    // One round trip to each server first, so an answer the server already sent has time to arrive.
    await Promise.all([currentIndex(this.#ref.target.url), currentIndex(this.#cand.target.url)]);
    const r = pending.ref.isDone();
    const c = pending.cand.isDone();
    if (r) throw new Error(`${this.#label} ${pending.label}: reference answered although ${why}; the test is wrong`);
    if (c) {
      const res = pending.cand.settled();
      this.#record(pending.label, pending.steps[0], [
        `${this.#cand.target.name} answered although ${why}: ${res === undefined ? '(connection failed)' : describe(res)}`,
      ]);
    }
  }

  /**
   * For a request that may or may not still be waiting (a fuzzed watch):
   * compares it if both servers answered, leaves it if both still wait, and
   * records a difference if only one answered (after a short grace for the
   * other answer to arrive). Returns whether the request is finished.
   */
  async settle(pending: PendingPair): Promise<'open' | 'closed'> {
    await Promise.all([currentIndex(this.#ref.target.url), currentIndex(this.#cand.target.url)]);
    const r = pending.ref.isDone();
    const c = pending.cand.isDone();
    if (!r && !c) return 'open';
    if (r !== c) {
      const late = r ? pending.cand : pending.ref;
      await Promise.race([late.response.catch(() => undefined), new Promise((res) => setTimeout(res, 3_000).unref())]);
    }
    if (pending.ref.isDone() && pending.cand.isDone()) {
      await this.finish(pending).catch(() => undefined);
      return 'closed';
    }
    const answered = pending.ref.isDone() ? this.#ref.target.name : this.#cand.target.name;
    const res = pending.ref.settled() ?? pending.cand.settled();
    this.#record(pending.label, pending.steps[0], [
      `only ${answered} answered; the other still holds the request open: ${res === undefined ? '(connection error)' : describe(res)}`,
    ]);
    this.abort(pending);
    return 'closed';
  }

  /** Closes a pending request on both servers (a watch that is no longer needed). */
  abort(pending: PendingPair): void {
    pending.ref.abort();
    pending.cand.abort();
  }

  /** Throws with every recorded mismatch; call at the end of each test. */
  assertClean(): void {
    if (this.#mismatches.length > 0) throw new Error(this.report());
  }

  report(): string {
    return `${this.#label}: ${this.#mismatches.length === 0 ? 'no differences' : 'differences found'}\n${this.#mismatches.join('\n')}`;
  }

  #noteIndex(st: TargetState, res: RawResponse): void {
    const v = res.headers['x-etcd-index'];
    // The highest index seen: a watch's header carries the index when it started, which may be older.
    if (v !== undefined && /^\d+$/.test(v)) st.lastIndex = Math.max(st.lastIndex, Number(v));
  }

  #checkExpectation(label: string, step: HttpStep, res: RawResponse, expect?: Expectation): void {
    if (expect === undefined) return;
    const json = tryJson(res.text) as Record<string, unknown> | undefined;
    const wrong: string[] = [];
    if (expect.status !== undefined && res.status !== expect.status) wrong.push(`status ${res.status} != ${expect.status}`);
    if (expect.errorCode !== undefined && json?.['errorCode'] !== expect.errorCode) {
      wrong.push(`errorCode ${String(json?.['errorCode'])} != ${expect.errorCode}`);
    }
    if (expect.action !== undefined && json?.['action'] !== expect.action) wrong.push(`action ${String(json?.['action'])} != ${expect.action}`);
    if (wrong.length > 0) {
      throw new Error(
        `${this.#label} ${label}: the reference server (${this.#ref.target.name}) did not answer as the test expects ` +
          `(${wrong.join('; ')}), so the test no longer exercises its case:\n  ${describeStep(step)}\n  ${describe(res)}`,
      );
    }
  }

  #record(
    label: string,
    step: HttpStep,
    diffs: readonly string[],
    ref?: RawResponse,
    cand?: RawResponse,
    a?: NormalizedResponse,
    b?: NormalizedResponse,
  ): void {
    const lines = [`${this.#label} ${label}: ${describeStep(step)}`];
    for (const d of diffs) lines.push(`  - ${d}`);
    if (ref !== undefined) lines.push(`  ${this.#ref.target.name} (base ${this.#ref.base}): ${describe(ref)}`);
    if (cand !== undefined) lines.push(`  ${this.#cand.target.name} (base ${this.#cand.base}): ${describe(cand)}`);
    if (a !== undefined && b !== undefined && process.env['COMPAT_VERBOSE'] === '1') {
      lines.push(`  normalized ${this.#ref.target.name}: ${JSON.stringify(a)}`);
      lines.push(`  normalized ${this.#cand.target.name}: ${JSON.stringify(b)}`);
    }
    this.#mismatches.push(lines.join('\n'));
  }
}

export function compareNormalized(a: NormalizedResponse, b: NormalizedResponse, ignoreHeaders: readonly string[] = []): string[] {
  const diffs: string[] = [];
  if (a.status !== b.status) diffs.push(`status ${a.status} vs ${b.status}`);
  const names = new Set([...Object.keys(a.headers), ...Object.keys(b.headers)]);
  for (const name of [...names].sort()) {
    if (ignoreHeaders.includes(name)) continue;
    const x = a.headers[name];
    const y = b.headers[name];
    if (x !== y) diffs.push(`header ${name}: ${x === undefined ? '(absent)' : JSON.stringify(x)} vs ${y === undefined ? '(absent)' : JSON.stringify(y)}`);
  }
  if (a.bodyIsJson !== b.bodyIsJson) {
    diffs.push(`body is ${a.bodyIsJson ? 'JSON' : 'not JSON'} vs ${b.bodyIsJson ? 'JSON' : 'not JSON'}`);
  } else if (!isDeepStrictEqual(a.body, b.body)) {
    diffs.push(`normalized body ${JSON.stringify(a.body)} vs ${JSON.stringify(b.body)}`);
  } else if (JSON.stringify(a.body) !== JSON.stringify(b.body)) {
    diffs.push(`JSON field order ${JSON.stringify(a.body)} vs ${JSON.stringify(b.body)}`);
  }
  if (a.bodyIsJson && b.bodyIsJson && a.trailingNewline !== b.trailingNewline) {
    diffs.push(`trailing newline after the JSON body: ${a.trailingNewline} vs ${b.trailingNewline}`);
  }
  if (a.ttls.length === b.ttls.length) {
    a.ttls.forEach((t, i) => {
      const u = b.ttls[i] ?? NaN;
      if (!(Math.abs(t - u) <= 1)) diffs.push(`ttl #${i}: ${t} vs ${u} (tolerance 1)`);
    });
  }
  if (a.expirations.length === b.expirations.length) {
    a.expirations.forEach((t, i) => {
      const u = b.expirations[i] ?? NaN;
      if (!(Math.abs(t - u) <= EXPIRATION_TOLERANCE_MS)) {
        diffs.push(`expiration #${i}: ${new Date(t).toISOString()} vs ${new Date(u).toISOString()} (tolerance ${EXPIRATION_TOLERANCE_MS} ms)`);
      }
    });
  }
  for (const p of a.problems) diffs.push(`reference: ${p}`);
  for (const p of b.problems) diffs.push(`candidate: ${p}`);
  return diffs;
}

function resolveStep(input: StepInput, ctx: StepContext): HttpStep {
  return typeof input === 'function' ? input(ctx) : input;
}

export function formText(step: HttpStep): string | undefined {
  if (step.form === undefined) {
    if (step.body !== undefined && (step.contentType ?? '').startsWith('application/x-www-form-urlencoded')) {
      return step.body.toString();
    }
    return undefined;
  }
  const pairs = Array.isArray(step.form) ? step.form : Object.entries(step.form);
  return pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

export function toRaw(step: HttpStep): RawRequest {
  const headers: Record<string, string> = { ...step.headers };
  let body: string | Buffer | undefined = step.body;
  const form = step.form === undefined ? undefined : formText(step);
  if (form !== undefined) {
    body = form;
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  } else if (step.contentType !== undefined) {
    headers['Content-Type'] = step.contentType;
  }
  return { method: step.method ?? 'GET', path: step.path, headers, ...(body === undefined ? {} : { body }) };
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function describeStep(step: HttpStep): string {
  const body = formText(step) ?? (step.body === undefined ? undefined : truncate(step.body.toString(), 200));
  return `${step.method ?? 'GET'} ${step.path}${body === undefined ? '' : ` body=${JSON.stringify(body)}`}${
    step.contentType !== undefined && step.form === undefined ? ` (${step.contentType})` : ''
  }`;
}

export function describe(res: RawResponse): string {
  const interesting = Object.entries(res.headers)
    .filter(([k]) => k !== 'date' && k !== 'content-length' && k !== 'connection' && k !== 'keep-alive')
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
  return `${res.status} [${interesting}] ${JSON.stringify(truncate(res.text, 1500))}`;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s;
}

/** The server's current store index, read from a GET of the root. */
export async function currentIndex(url: string): Promise<number> {
  const res = await startRaw(url, { method: 'GET', path: '/v2/keys/' }).response;
  const v = res.headers['x-etcd-index'];
  if (v === undefined || !/^\d+$/.test(v)) throw new Error(`${url}: GET /v2/keys/ has no numeric X-Etcd-Index (${describe(res)})`);
  return Number(v);
}
