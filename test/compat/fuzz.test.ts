import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { startCompatServers, type CompatServers } from '../support/compat-servers.js';
import { describeStep, type DiffSession, type PendingPair } from '../support/http-diff.js';
import { sendRaw } from '../support/raw-http.js';
import { skipUnless } from '../support/require-tool.js';
import { mayWait, resolveTemplate, sequenceArb, type RequestTemplate } from '../support/v2-request-arb.js';

/*
 * Property-based differential test: random request sequences (valid and
 * malformed: odd methods, dot segments, bad escapes, unicode, long names,
 * bad numbers and booleans, garbage bodies) go to etcd and Cairn, and every
 * answer pair must match after normalization. What the generator leaves out
 * on purpose, and why, is listed in test/support/v2-request-arb.ts.
 *
 * Every sequence (4 fixed writes, then 3-10 random requests) runs to the
 * end and all differences are collected, so one run reports every kind of
 * discrepancy rather than only the first one found.
 * CAIRN_FUZZ_SEED=<n> replays a run; CAIRN_FUZZ_RUNS=<n> changes its size.
 */
const SEED = Number(process.env['CAIRN_FUZZ_SEED'] ?? Date.now() % 2_147_483_647);
const RUNS = Number(process.env['CAIRN_FUZZ_RUNS'] ?? 100);

describe('fuzzed v2 requests: etcd vs cairn', { skip: skipUnless('etcd'), timeout: 240_000 }, () => {
  let servers: CompatServers;
  let baseline: DiffSession;
  before(async () => {
    servers = await startCompatServers();
    // A fresh server's index is 0, which would make a generated waitIndex of
    // "start + 0" indistinguishable from a literal 0 on one side.
    await servers.session('warm-up').send({ method: 'PUT', path: '/v2/keys/fuzz-warm-up', form: { value: 'x' } });
    baseline = servers.session('fuzz final state');
    await baseline.begin();
  });
  after(async () => {
    await servers?.stop();
  });

  const failures: string[] = [];
  const serverErrors: string[] = [];
  const excluded: string[] = [];
  /** What etcd answered, by method and status: shows the generator reaches past the form checks. */
  const histogram = new Map<string, number>();

  async function runSequence(seq: readonly RequestTemplate[], run: number): Promise<void> {
    const prefix = servers.prefix(`fz${run}`);
    const s = servers.session(`seed ${SEED} run ${run}`);
    await s.begin();
    const open: PendingPair[] = [];
    const settleAll = async (): Promise<void> => {
      for (let i = open.length - 1; i >= 0; i--) {
        const w = open[i];
        if (w !== undefined && (await s.settle(w)) === 'closed') open.splice(i, 1);
      }
    };
    for (const t of seq) {
      const pending = s.start((ctx) => resolveTemplate(t, prefix, ctx));
      // A failure here is the reference's connection failing; the branch below sorts it out.
      await pending.ready.catch(() => undefined);
      const step = pending.steps[0];
      if (mayWait(step)) {
        open.push(pending);
      } else if (!(await pending.ref.response.then(() => true, () => false))) {
        // Excluded: Node's client cannot read etcd's answer (Go writes a body
        // after the headers of a HEAD that failed to parse). Cairn must still
        // answer something without dying, which the alive check covers.
        excluded.push(describeStep(step));
        await pending.cand.response.catch(() => undefined);
      } else {
        try {
          const pair = await s.finish(pending);
          const k = `${step.method ?? 'GET'} ${pair.ref.status}`;
          histogram.set(k, (histogram.get(k) ?? 0) + 1);
          if (pair.cand.status >= 500) serverErrors.push(`${describeStep(pending.steps[1])} -> ${pair.cand.status} ${pair.cand.text}`);
        } catch (err) {
          serverErrors.push(`${describeStep(pending.steps[1])} -> no answer: ${String(err).split('\n')[0]}`);
        }
      }
      await settleAll();
    }
    await settleAll();
    for (const w of open) s.abort(w);
    await servers.assertCandidateAlive();
    if (s.mismatches.length > 0) {
      failures.push(
        [`--- run ${run}, sequence:`, ...seq.map((t) => `    ${describeStep(resolveTemplate(t, prefix, s.contextFor('ref')))}`), ...s.mismatches].join('\n'),
      );
    }
  }

  test(`random request sequences answer like etcd (seed ${SEED}, ${RUNS} runs)`, async (t) => {
    t.diagnostic(`fast-check seed ${SEED}; replay with CAIRN_FUZZ_SEED=${SEED}`);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(sequenceArb, async (seq) => {
        await runSequence(seq, ++run);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // After all sequences, the whole keyspace must look the same.
    await baseline.send({ method: 'GET', path: '/v2/keys/?recursive=true&sorted=true' }, { status: 200 });
    const finalDiff = baseline.mismatches;
    t.diagnostic(`etcd answers: ${[...histogram].sort().map(([k, n]) => `${k}×${n}`).join(', ')}`);
    if (excluded.length > 0) t.diagnostic(`${excluded.length} requests not compared (etcd's answer unreadable): ${excluded.slice(0, 3).join(' | ')}`);
    const problems: string[] = [];
    if (serverErrors.length > 0) problems.push(`Cairn answered 5xx or not at all:\n  ${serverErrors.join('\n  ')}`);
    if (failures.length > 0) {
      const shown = failures.slice(0, 15);
      problems.push(`${failures.length} of ${RUNS} sequences differ from etcd${failures.length > shown.length ? ` (first ${shown.length} shown)` : ''}:\n${shown.join('\n')}`);
    }
    if (finalDiff.length > 0) problems.push(`the final keyspace differs:\n${finalDiff.join('\n')}`);
    if (problems.length > 0) assert.fail(`seed ${SEED} (replay with CAIRN_FUZZ_SEED=${SEED})\n${problems.join('\n')}`);
  });

  test('Cairn alone: hostile input never gets a 5xx and never kills the server', async (t) => {
    if (servers.cairn === undefined) {
      t.skip('the candidate is not Cairn');
      return;
    }
    const url = servers.cand.url;
    const port = Number(new URL(url).port);
    // Request bodies over 1.5 MiB are refused with 413 (etcd would take them: not compared).
    const big = Buffer.alloc(2 * 1024 * 1024, 0x61);
    const res413 = await sendRaw(url, {
      method: 'PUT',
      path: '/v2/keys/fuzz-big',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: Buffer.concat([Buffer.from('value='), big]),
    }).catch((err: unknown) => err as Error);
    // The client must get the 413, not a reset connection halfway through its upload.
    assert.ok(!(res413 instanceof Error), `2 MiB body: ${String(res413)}`);
    assert.equal(res413.status, 413, `2 MiB body: ${res413.status} ${res413.text.slice(0, 200)}`);
    // Methods Node's parser does not know: some 4xx, never a crash.
    // (Node's client upper-cases methods; a lower-case one goes over the raw socket below.)
    for (const method of ['FOO', 'M-SEARCH2', 'BREW']) {
      const res = await sendRaw(url, { method, path: '/v2/keys/a' }).catch((err: unknown) => err as Error);
      if (!(res instanceof Error)) assert.ok(res.status >= 400 && res.status < 500, `${method}: ${res.status}`);
    }
    // Broken HTTP on a raw socket: garbage, a lying Content-Length, a header flood, a half request.
    const rawPayloads = [
      'GARBAGE\r\n\r\n',
      'get /v2/keys/a HTTP/1.1\r\nHost: x\r\n\r\n',
      'PUT /v2/keys/a HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nvalue=short',
      `GET /v2/keys/a HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(5000)}\r\n`,
      'GET /v2/keys/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'POST /v2/keys/a HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'GET /v2/keys/\u0000 HTTP/1.1\r\n\r\n',
      'GET /v2/keys/a',
    ];
    for (const payload of rawPayloads) {
      await new Promise<void>((resolve) => {
        const sock = connect(port, '127.0.0.1', () => {
          sock.end(payload);
        });
        sock.on('data', () => undefined);
        sock.on('error', () => resolve());
        sock.on('close', () => resolve());
        sock.setTimeout(5_000, () => sock.destroy());
      });
    }
    await servers.assertCandidateAlive();
    const ok = await sendRaw(url, { method: 'PUT', path: '/v2/keys/fuzz-alive', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'value=yes' });
    assert.ok(ok.status === 200 || ok.status === 201, `a normal write after the abuse: ${ok.status}`);
  });
});
