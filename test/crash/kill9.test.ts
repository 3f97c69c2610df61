/**
 * kill -9 while writers hammer the server: after every restart, each
 * acknowledged write must be there, the index must not go back, a CAS
 * counter must count exactly what it acknowledged, and TTL deadlines must
 * survive. Writes whose request was cut off by the crash may or may not have
 * landed; they are tracked as "maybe".
 *
 * CRASH_SEED=<n> replays the crash points and key choices of an earlier run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { relative } from 'node:path';
import { startCairn, type CairnServer } from '../support/cairn.js';
import { seededRandom } from '../support/seeded-random.js';
import { V2Pool } from '../support/v2-pool.js';
import type { V2NodeJson } from '../support/v2-probe.js';
import { waitFor } from '../support/wait.js';

const SEED = Number(process.env['CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = 5;
const KEY_WRITERS = 16;
const KEYS_PER_WRITER = 12;
const CAS_WORKERS = 4;
const SHORT_TTL = 6;
const LONG_TTL = 60;
const SNAPSHOT_COUNT = 300;

/** File counts per folder of the data dir, to show in the log that snapshots were taken. */
function describeDataDir(dir: string): string {
  try {
    const counts = new Map<string, number>();
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const folder = relative(dir, entry.parentPath) || '.';
      counts.set(folder, (counts.get(folder) ?? 0) + 1);
    }
    return [...counts].map(([folder, n]) => `${folder}: ${n} files`).join(', ');
  } catch (err) {
    return String(err);
  }
}

/** Lets workers run while the server is up and parks them while it is down. */
class Gate {
  #open = true;
  #waiters: (() => void)[] = [];
  /** Bumped on every crash: a request that fails within the same epoch failed with the server up. */
  epoch = 0;

  get isOpen(): boolean {
    return this.#open;
  }

  close(): void {
    this.#open = false;
    this.epoch++;
  }

  open(): void {
    this.#open = true;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async pass(): Promise<void> {
    while (!this.#open) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}

interface KeyState {
  /** The last write the server acknowledged (or a maybe-write seen after a restart, which is then durable). */
  acked?: { value: string; index: number };
  /** Values of writes after `acked` whose outcome is unknown (cut off by a crash). */
  maybe: string[];
}

interface TtlKey {
  readonly key: string;
  readonly ttl: number;
  readonly expiration: number;
  readonly ackedAt: number;
  seenGone: boolean;
}

describe('kill -9 under concurrent writes', () => {
  let server: CairnServer | undefined;
  let pool: V2Pool | undefined;

  before(async () => {
    // Frequent snapshots (etcd's flag name), so crashes also strike while one is
    // written and restarts load a snapshot plus a WAL tail.
    server = await startCairn({ extraArgs: ['--snapshot-count', String(SNAPSHOT_COUNT)] });
    pool = new V2Pool(server.url, KEY_WRITERS + CAS_WORKERS + 4);
  });

  after(async () => {
    await pool?.close();
    await server?.destroy();
  });

  test(`acknowledged writes, index, CAS and TTL deadlines survive ${ROUNDS} crashes (CRASH_SEED=${SEED})`, async (t) => {
    assert.ok(server !== undefined && pool !== undefined);
    const srv = server;
    const http = pool;
    t.diagnostic(`CRASH_SEED=${SEED}`);
    const rnd = seededRandom(SEED);
    const gate = new Gate();
    const problems: string[] = [];
    const keys = new Map<string, KeyState>();
    const ackedIndexes = new Set<number>();
    let maxSeenIndex = 0;
    let acks = 0;
    let inFlight = 0;
    let cutOff = 0;
    let landed = 0;
    let stopping = false;

    const seen = (index: number): void => {
      if (Number.isFinite(index)) maxSeenIndex = Math.max(maxSeenIndex, index);
    };
    const noteAckedIndex = (what: string, index: number | undefined): void => {
      if (index === undefined) {
        problems.push(`${what}: acknowledged without node.modifiedIndex`);
        return;
      }
      if (ackedIndexes.has(index)) problems.push(`${what}: modifiedIndex ${index} was already given to another acknowledged write`);
      ackedIndexes.add(index);
    };
    /** Runs one request; returns undefined when the crash cut it off. */
    const attempt = async <T>(what: string, run: () => Promise<T>): Promise<T | undefined> => {
      const epoch = gate.epoch;
      inFlight++;
      try {
        return await run();
      } catch (err) {
        if (gate.epoch === epoch && gate.isOpen) problems.push(`${what} failed while the server was up: ${String(err)}`);
        return undefined;
      } finally {
        inFlight--;
      }
    };

    // TTL keys set before any crash: their deadline is absolute and must survive restarts.
    const ttlKeys: TtlKey[] = [];
    for (const [key, ttl] of [['/crash-ttl/short', SHORT_TTL], ['/crash-ttl/long', LONG_TTL]] as const) {
      const res = await http.put(key, { value: 'lease' }, `ttl=${ttl}`);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const expiration = Date.parse(res.body.node?.expiration ?? '');
      assert.ok(Number.isFinite(expiration), `expiration of ${key}: ${JSON.stringify(res.body)}`);
      ttlKeys.push({ key, ttl, expiration, ackedAt: Date.now(), seenGone: false });
      seen(res.etcdIndex);
    }

    // The CAS counter starts at 0; each worker reads it and swaps in value+1 with prevValue.
    const init = await http.put('/crash-counter', { value: '0' });
    assert.equal(init.status, 201, JSON.stringify(init.body));
    const casAcked = new Set<number>();
    let casUnknown = 0;
    let lastCounter = 0;

    const keyWriter = async (w: number): Promise<void> => {
      const pick = seededRandom(SEED ^ Math.imul(w + 1, 0x9e3779b1));
      let seq = 0;
      while (!stopping) {
        await gate.pass();
        if (stopping) return;
        const key = `/crash/w${w}/k${Math.floor(pick() * KEYS_PER_WRITER)}`;
        const value = `w${w}-${++seq}`;
        const state = keys.get(key) ?? { maybe: [] };
        keys.set(key, state);
        state.maybe.push(value);
        const res = await attempt(`PUT ${key}`, () => http.put(key, { value }));
        if (res === undefined) continue;
        seen(res.etcdIndex);
        if (res.status !== 200 && res.status !== 201) {
          problems.push(`PUT ${key}=${value}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
          continue;
        }
        if (res.body.node?.value !== value) problems.push(`PUT ${key}=${value} answered ${JSON.stringify(res.body)}`);
        noteAckedIndex(`PUT ${key}=${value}`, res.body.node?.modifiedIndex);
        state.acked = { value, index: res.body.node?.modifiedIndex ?? -1 };
        state.maybe = [];
        acks++;
      }
    };

    const casWorker = async (): Promise<void> => {
      while (!stopping) {
        await gate.pass();
        if (stopping) return;
        const read = await attempt('GET /crash-counter', () => http.get('/crash-counter'));
        if (read === undefined) continue;
        seen(read.etcdIndex);
        const current = Number(read.body.node?.value);
        if (!Number.isInteger(current)) {
          problems.push(`GET /crash-counter: ${JSON.stringify(read.body)}`);
          continue;
        }
        const next = current + 1;
        const res = await attempt('CAS /crash-counter', () => http.put('/crash-counter', { value: String(next) }, `prevValue=${current}`));
        if (res === undefined) {
          casUnknown++;
          continue;
        }
        seen(res.etcdIndex);
        if (res.status === 200) {
          if (casAcked.has(next)) problems.push(`CAS: two increments were both acknowledged as ${next}`);
          casAcked.add(next);
          noteAckedIndex(`CAS /crash-counter=${next}`, res.body.node?.modifiedIndex);
          acks++;
        } else if (res.body.errorCode !== 101) {
          problems.push(`CAS /crash-counter ${current}->${next}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
        }
      }
    };

    /** With the server just restarted and nothing in flight: everything acknowledged must be there. */
    const verify = async (label: string): Promise<void> => {
      const before = problems.length;
      const root = await http.get('/', '');
      if (root.etcdIndex < maxSeenIndex) {
        problems.push(`${label}: X-Etcd-Index went back from ${maxSeenIndex} to ${root.etcdIndex}`);
      }
      maxSeenIndex = Math.max(maxSeenIndex, root.etcdIndex);

      const listing = await http.get('/crash', 'recursive=true');
      const present = new Map<string, V2NodeJson>();
      const walk = (node: V2NodeJson | undefined): void => {
        for (const child of node?.nodes ?? []) {
          if (child.dir === true) walk(child);
          else if (child.key !== undefined) present.set(child.key, child);
        }
      };
      if (listing.status === 200) walk(listing.body.node);
      else if (acks > 0) problems.push(`${label}: GET /crash?recursive=true answered ${listing.status} ${JSON.stringify(listing.body)}`);
      for (const [key, state] of keys) {
        cutOff += state.maybe.length;
        const node = present.get(key);
        const value = node?.value;
        if (value === undefined) {
          if (state.acked !== undefined) problems.push(`${label}: ${key} is missing; its acknowledged value was ${state.acked.value}`);
          continue;
        }
        if (state.acked !== undefined && value === state.acked.value) {
          if (node?.modifiedIndex !== state.acked.index) {
            problems.push(`${label}: ${key}=${value} has modifiedIndex ${node?.modifiedIndex}, acknowledged as ${state.acked.index}`);
          }
        } else if (state.maybe.includes(value)) {
          // A write cut off by the crash landed; from now on it must stay.
          state.acked = { value, index: node?.modifiedIndex ?? -1 };
          landed++;
        } else {
          problems.push(
            `${label}: ${key}=${value}, but the acknowledged value is ${state.acked?.value ?? '(none)'} and only [${state.maybe.join(', ')}] were cut off`,
          );
        }
        state.maybe = [];
      }

      const counter = await http.get('/crash-counter');
      const value = Number(counter.body.node?.value);
      const maxAcked = Math.max(0, ...casAcked);
      if (!Number.isInteger(value)) problems.push(`${label}: /crash-counter is ${JSON.stringify(counter.body)}`);
      else {
        if (value < maxAcked) problems.push(`${label}: /crash-counter is ${value}, below the acknowledged increment to ${maxAcked}`);
        if (value < lastCounter) problems.push(`${label}: /crash-counter went back from ${lastCounter} to ${value}`);
        if (value > casAcked.size + casUnknown) {
          problems.push(`${label}: /crash-counter is ${value}, but only ${casAcked.size} increments were acknowledged and ${casUnknown} cut off`);
        }
        lastCounter = value;
      }

      for (const lease of ttlKeys) {
        const readAt = Date.now();
        const res = await http.get(lease.key);
        const elapsed = (readAt - lease.ackedAt) / 1000;
        if (res.status === 404) {
          lease.seenGone = true;
          // Its deadline is ttl seconds after the write; a second of slack for the sweep.
          if (elapsed < lease.ttl - 1) problems.push(`${label}: ${lease.key} (ttl ${lease.ttl}) vanished after only ${elapsed.toFixed(1)} s`);
          continue;
        }
        if (lease.seenGone) {
          problems.push(`${label}: ${lease.key} had expired but is back: ${JSON.stringify(res.body)}`);
          continue;
        }
        const expiration = Date.parse(res.body.node?.expiration ?? '');
        if (expiration !== lease.expiration) {
          problems.push(`${label}: ${lease.key} expiration is ${res.body.node?.expiration}, was ${new Date(lease.expiration).toISOString()}`);
        }
        const ttl = res.body.node?.ttl ?? Number.NaN;
        // etcd rounds the remaining time up; one more second of slack for rounding differences.
        const bound = Math.ceil(lease.ttl - elapsed) + 1;
        if (!(ttl <= bound)) problems.push(`${label}: ${lease.key} ttl is ${ttl} after ${elapsed.toFixed(1)} s of ${lease.ttl} (reset?)`);
      }
      if (problems.length > before) t.diagnostic(`${label}: ${problems.length - before} problems`);
    };

    const workers = [
      ...Array.from({ length: KEY_WRITERS }, (_, w) => keyWriter(w)),
      ...Array.from({ length: CAS_WORKERS }, () => casWorker()),
    ];

    const crashAndRestart = async (label: string): Promise<void> => {
      gate.close();
      await srv.crash();
      await srv.restart();
      await waitFor(() => inFlight === 0, { what: `${label}: requests cut off by the crash to settle` });
      await verify(label);
    };

    try {
      for (let round = 1; round <= ROUNDS && problems.length === 0; round++) {
        const target = acks + 200 + Math.floor(rnd() * 1200);
        await waitFor(() => acks >= target || problems.length > 0, {
          what: `round ${round}: ${target} acknowledged writes (have ${acks})`,
          timeoutMs: 60_000,
          intervalMs: 5,
        });
        await crashAndRestart(`after crash ${round}`);
        t.diagnostic(
          `crash ${round} after ${target} acks: index ${maxSeenIndex}, counter ${lastCounter}; so far ${cutOff} PUTs and ${casUnknown} CAS cut off, ${landed} of the PUTs landed`,
        );
        gate.open();
      }
    } finally {
      stopping = true;
      gate.open();
      await Promise.all(workers);
    }

    // Quiet now: the short lease must expire, stay expired across one more crash,
    // and the long one must still count down from its original deadline.
    const short = ttlKeys[0];
    assert.ok(short !== undefined);
    await waitFor(async () => (await http.get(short.key)).status === 404, {
      what: `${short.key} (ttl ${SHORT_TTL}) to expire`,
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    short.seenGone = true;
    await crashAndRestart('after a final crash with no load');

    t.diagnostic(`data dir after the run: ${describeDataDir(srv.dataDir)}`);
    assert.deepEqual(problems.slice(0, 25), [], `${problems.length} problems (first 25 shown); CRASH_SEED=${SEED}`);
    assert.ok(cutOff > 0, 'some writes were in flight when the server was killed');
    assert.ok(casAcked.size > 0, 'some CAS increments were acknowledged');
    assert.ok(lastCounter >= casAcked.size && lastCounter <= casAcked.size + casUnknown);
  });
});
