import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProposalDroppedError } from '../../src/raft/errors.js';
import { LinearizableReads } from '../../src/replica/linearizable-read.js';
import { waitFor } from '../support/wait.js';

function harness(options: { timeoutMs?: number; retryMs?: number; noLeader?: () => boolean } = {}) {
  const requests: Uint8Array[] = [];
  let applied = 0;
  const reads = new LinearizableReads({
    request: (ctx) => {
      if (options.noLeader?.() === true) throw new ProposalDroppedError('noLeader', 'no leader');
      requests.push(ctx);
    },
    applied: () => applied,
    timeoutMs: options.timeoutMs ?? 5_000,
    retryMs: options.retryMs ?? 1_000,
    timeoutError: () => new Error('timed out'),
  });
  return {
    reads,
    requests,
    apply(index: number) {
      applied = index;
      reads.onApplied(index);
    },
  };
}

function settled(p: Promise<unknown>): () => boolean {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  return () => done;
}

describe('linearizable reads through ReadIndex', () => {
  test('reads in the same turn share one request and wait until the read index is applied', async () => {
    const h = harness();
    const a = h.reads.read();
    const b = h.reads.read();
    await waitFor(() => h.requests.length === 1);
    const aDone = settled(a);
    h.reads.onReadStates([{ index: 7, ctx: h.requests[0] as Uint8Array }]);
    h.apply(6);
    await new Promise((r) => setImmediate(r));
    assert.equal(aDone(), false, 'not before index 7 is applied');
    h.apply(7);
    await Promise.all([a, b]);
    assert.equal(h.requests.length, 1);
  });

  test('a read already covered by the applied index resolves when its read state arrives', async () => {
    const h = harness();
    h.apply(10);
    const r = h.reads.read();
    await waitFor(() => h.requests.length === 1);
    h.reads.onReadStates([{ index: 9, ctx: h.requests[0] as Uint8Array }]);
    await r;
  });

  test('reads arriving while a round is out form the next round, asked once the first has its index', async () => {
    const h = harness();
    const first = h.reads.read();
    await waitFor(() => h.requests.length === 1);
    const second = h.reads.read();
    await new Promise((r) => setImmediate(r));
    assert.equal(h.requests.length, 1, 'one round in flight at a time');
    h.reads.onReadStates([{ index: 3, ctx: h.requests[0] as Uint8Array }]);
    assert.equal(h.requests.length, 2);
    h.reads.onReadStates([{ index: 4, ctx: h.requests[1] as Uint8Array }]);
    h.apply(4);
    await Promise.all([first, second]);
  });

  test('a request lost with a leader change is asked again; a stale answer for a foreign ctx is ignored', async () => {
    let leaderless = true;
    const h = harness({ retryMs: 20, noLeader: () => leaderless });
    const r = h.reads.read();
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(h.requests.length, 0);
    leaderless = false;
    await waitFor(() => h.requests.length >= 2);
    h.reads.onReadStates([{ index: 5, ctx: new Uint8Array([1, 2, 3]) }]);
    h.reads.onReadStates([{ index: 5, ctx: h.requests[0] as Uint8Array }]);
    h.apply(5);
    await r;
  });

  test('no answer within the timeout rejects every waiting read; close rejects the rest', async () => {
    const h = harness({ timeoutMs: 50, retryMs: 1_000 });
    await assert.rejects(Promise.all([h.reads.read(), h.reads.read()]), /timed out/);
    const pending = h.reads.read();
    h.reads.close();
    await assert.rejects(pending, /timed out/);
    await assert.rejects(h.reads.read(), /timed out/);
  });
});
