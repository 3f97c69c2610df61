/**
 * A large keyspace with a long history must come back from a normal restart
 * exactly as it was: every node with its createdIndex and modifiedIndex, the
 * in-order queue, hidden keys, empty directories, and the store index.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCairn, type CairnServer } from '../support/cairn.js';
import { seededRandom } from '../support/seeded-random.js';
import { V2Pool } from '../support/v2-pool.js';
import type { V2NodeJson, V2Response } from '../support/v2-probe.js';

const SEED = Number(process.env['CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const DIRS = 20;
const SUBDIRS = 10;
const KEYS_PER_SUBDIR = 100; // 20 × 10 × 100 = 20 000 keys
const UPDATES = 10_000;
const DELETES = 1_000;
const QUEUED = 200;
const EMPTY_DIRS = 50;
const HIDDEN = 20;
const CONCURRENCY = 32;

function keyName(n: number): string {
  const dir = n % DIRS;
  const sub = Math.floor(n / DIRS) % SUBDIRS;
  const leaf = Math.floor(n / (DIRS * SUBDIRS));
  return `/large/d${dir}/s${sub}/k${leaf}`;
}

/** Runs `task(0..count-1)` with `concurrency` in flight; every response must be a 2xx. */
async function inParallel(count: number, task: (i: number) => Promise<V2Response>, what: string): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const res = await task(i);
      if (res.status < 200 || res.status > 299) throw new Error(`${what} #${i}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** One line per node of a recursive listing, depth first, in the listing's (sorted) order. */
function flatten(node: V2NodeJson | undefined, out: string[] = []): string[] {
  if (node === undefined) return out;
  const ttl = node.ttl === undefined ? '' : ` ttl`;
  out.push(`${node.key ?? '/'} ${node.dir === true ? 'dir' : `=${node.value ?? ''}`} c${node.createdIndex ?? '-'} m${node.modifiedIndex ?? '-'}${ttl}`);
  for (const child of node.nodes ?? []) flatten(child, out);
  return out;
}

function firstDifferences(before: readonly string[], after: readonly string[], limit = 10): string[] {
  const diffs: string[] = [];
  const n = Math.max(before.length, after.length);
  for (let i = 0; i < n && diffs.length < limit; i++) {
    if (before[i] !== after[i]) diffs.push(`#${i}: before ${before[i] ?? '(nothing)'} | after ${after[i] ?? '(nothing)'}`);
  }
  return diffs;
}

describe('restart with a large keyspace and a long history', () => {
  let server: CairnServer | undefined;
  let pool: V2Pool | undefined;

  before(async () => {
    server = await startCairn();
    pool = new V2Pool(server.url, CONCURRENCY);
  });

  after(async () => {
    await pool?.close();
    await server?.destroy();
  });

  test(`${DIRS * SUBDIRS * KEYS_PER_SUBDIR} keys and ${UPDATES} updates come back identical after stop and restart`, async (t) => {
    assert.ok(server !== undefined && pool !== undefined);
    const http = pool;
    const rnd = seededRandom(SEED);
    t.diagnostic(`CRASH_SEED=${SEED}`);
    const total = DIRS * SUBDIRS * KEYS_PER_SUBDIR;

    const baseIndex = (await http.get('/')).etcdIndex;
    const startedWriting = Date.now();
    await inParallel(total, (i) => http.put(keyName(i), { value: `v0-${i}` }), 'create');
    const updateKeys = Array.from({ length: UPDATES }, () => Math.floor(rnd() * total));
    await inParallel(UPDATES, (i) => http.put(keyName(updateKeys[i] ?? 0), { value: `v1-${i}` }), 'update');
    const deleteKeys = [...new Set(Array.from({ length: DELETES }, () => Math.floor(rnd() * total)))];
    await inParallel(deleteKeys.length, (i) => http.request('DELETE', keyName(deleteKeys[i] ?? 0)), 'delete');
    await inParallel(QUEUED, (i) => http.request('POST', '/large/queue', '', { value: `job-${i}` }), 'in-order create');
    await inParallel(EMPTY_DIRS, (i) => http.put(`/large/empty/e${i}`, {}, 'dir=true'), 'mkdir');
    await inParallel(HIDDEN, (i) => http.put(`/large/_hidden${i}`, { value: `h${i}` }), 'hidden');
    // A key rewritten with prevValue/prevIndex conditions, so its createdIndex and modifiedIndex differ.
    let cas = await http.put('/large/cas', { value: '0' });
    for (let i = 1; i <= 20; i++) {
      cas = await http.put('/large/cas', { value: String(i) }, i % 2 === 0 ? `prevValue=${i - 1}` : `prevIndex=${cas.body.node?.modifiedIndex ?? 0}`);
      assert.equal(cas.status, 200, JSON.stringify(cas.body));
    }
    const writes = total + UPDATES + deleteKeys.length + QUEUED + EMPTY_DIRS + HIDDEN + 21;
    t.diagnostic(`${writes} writes in ${Date.now() - startedWriting} ms`);

    const snapshot = async (): Promise<{ index: number; lines: string[]; hidden: string[] }> => {
      const listing = await http.get('/large', 'recursive=true&sorted=true');
      assert.equal(listing.status, 200, JSON.stringify(listing.body).slice(0, 500));
      const hidden: string[] = [];
      for (let i = 0; i < HIDDEN; i++) {
        const res = await http.get(`/large/_hidden${i}`);
        hidden.push(flatten(res.body.node)[0] ?? `missing ${res.status}`);
      }
      const root = await http.get('/');
      return { index: root.etcdIndex, lines: flatten(listing.body.node), hidden };
    };

    const before = await snapshot();
    // What was written is what is listed, before any restart.
    assert.equal(before.index, baseIndex + writes, 'X-Etcd-Index counts every write');
    const liveKeys = before.lines.filter((l) => / =/.test(l)).length;
    assert.equal(liveKeys, total - deleteKeys.length + QUEUED + 1);
    assert.equal(before.lines.filter((l) => l.startsWith('/large/queue/')).length, QUEUED);
    assert.ok(before.hidden.every((l) => / =h\d+ /.test(l)), before.hidden.join('\n'));

    const exit = await server.stop();
    assert.equal(exit, 0, 'SIGTERM shuts the server down cleanly');
    const restartAt = Date.now();
    await server.restart();
    t.diagnostic(`restart with ${before.lines.length} nodes took ${Date.now() - restartAt} ms (process start to /health)`);

    const afterRestart = await snapshot();
    assert.equal(afterRestart.index, before.index, 'X-Etcd-Index is unchanged by the restart');
    const diffs = firstDifferences(before.lines, afterRestart.lines);
    assert.deepEqual(diffs, [], `listing changed across the restart (${before.lines.length} nodes before, ${afterRestart.lines.length} after)`);
    assert.deepEqual(afterRestart.hidden, before.hidden);

    // The index continues from where it was, and the next in-order key follows the last one.
    const next = await http.request('POST', '/large/queue', '', { value: 'after restart' });
    assert.equal(next.status, 201, JSON.stringify(next.body));
    assert.equal(next.body.node?.createdIndex, before.index + 1);
    assert.equal(next.body.node?.key, `/large/queue/${String(before.index + 1).padStart(20, '0')}`);
  });
});
