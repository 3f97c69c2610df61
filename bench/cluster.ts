import { existsSync } from 'node:fs';
import { Agent, Pool, request, type Dispatcher } from 'undici';
import { errorMessage } from '../src/util/errors.js';
import { CAIRN_MAIN } from '../test/support/cairn.js';
import { startCairnCluster } from '../test/support/cairn-cluster.js';
import { startEtcdCluster } from '../test/support/etcd-cluster.js';
import { findOnPath, probeOutput } from './binaries.js';
import { BenchError } from './errors.js';
import { runClosedLoop, type ClosedLoopResult } from './load.js';
import { machineLine } from './machine.js';
import { median } from './stats.js';
import type { BenchOptions, BenchSuite } from './suite.js';
import { markdownTable } from './table.js';
import { onTeardown } from './teardown.js';

/*
 * Three-member clusters on loopback, Cairn and etcd 3.4 side by side: PUT throughput with 64 connections sent
 * to the leader and to a follower (which hands each write to the leader), and leader failover: kill -9 the
 * leader, then the time until a write through a surviving member is acknowledged. Both run with their default
 * heartbeat (100 ms) and election timeout (1000 ms).
 */

const CONNECTIONS = 64;
const KEYS = 1000;
const VALUE_BYTES = 64;
const WARMUP_MS = 500;
/** Failover samples per peer, at least; more with --rounds. */
const MIN_FAILOVERS = 3;
/** A new probe write this often while waiting for the new leader, each with its own deadline. */
const PROBE_EVERY_MS = 25;
const PROBE_TIMEOUT_MS = 2_000;
const FAILOVER_GIVE_UP_MS = 60_000;

const FORM = ['content-type', 'application/x-www-form-urlencoded'];
const PUT_BODY = Buffer.from(`value=${'v'.repeat(VALUE_BYTES)}`);
const PUTS: readonly Dispatcher.DispatchOptions[] = Array.from({ length: KEYS }, (_, k) => ({
  path: `/v2/keys/bench/cluster/k${String(k).padStart(4, '0')}`,
  method: 'PUT',
  headers: FORM,
  body: PUT_BODY,
}));

/** What the suite needs from a cluster member, Cairn's or etcd's. */
interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly running: boolean;
  kill(): Promise<void>;
  /** Restarts from the data dir; resolves once the member is healthy. */
  start(): Promise<void>;
}

interface Cluster {
  readonly name: string;
  readonly members: readonly Member[];
  destroy(): Promise<void>;
}

interface Candidate {
  readonly name: string;
  readonly detail: string;
  start(): Promise<Cluster>;
}

type Path = 'leader' | 'follower';
const PATHS: readonly Path[] = ['leader', 'follower'];

interface PutSample {
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
}

interface PeerRun {
  readonly cluster: Cluster;
  readonly put: Record<Path, PutSample[]>;
  readonly failoverMs: number[];
}

const statsAgent = new Agent({ connect: { timeout: 2_000 }, keepAliveTimeout: 2_000 });

export const clusterSuite: BenchSuite = {
  name: 'cluster',
  async run(options: BenchOptions): Promise<void> {
    const { candidates, etcdVersion } = lineup();
    const machine = machineLine([`etcd ${etcdVersion ?? 'not installed'}`]);
    if (candidates.length === 0) throw new BenchError('CAIRN_BENCH_NO_PEERS', 'cluster: neither cairn nor etcd is available');

    const runs: PeerRun[] = [];
    const release = onTeardown(() => destroyAll(runs));
    try {
      for (const candidate of candidates) {
        progress(`starting ${candidate.detail}`);
        try {
          runs.push({ cluster: await candidate.start(), put: { leader: [], follower: [] }, failoverMs: [] });
        } catch (err) {
          console.log(`cluster: skipping ${candidate.name}: it failed to start: ${errorMessage(err)}`);
        }
      }
      if (runs.length === 0) throw new BenchError('CAIRN_BENCH_NO_PEERS', 'cluster: no cluster could be started');

      for (const run of runs) await warmUp(run.cluster);
      // A B A B, one cluster under load at a time: both share the machine with the client.
      for (let round = 1; round <= options.rounds; round++) {
        for (const path of PATHS) {
          for (const run of runs) {
            const sample = await measurePuts(run.cluster, path, options.seconds * 1000);
            run.put[path].push(sample);
            progress(`round ${round}/${options.rounds} PUT via ${path.padEnd(8)} ${run.cluster.name.padEnd(5)} ${fmtInt(sample.throughput)} ops/s, p50 ${fmtMs(sample.p50)} ms, p99 ${fmtMs(sample.p99)} ms`);
          }
        }
      }
      const failovers = Math.max(MIN_FAILOVERS, options.rounds);
      for (let i = 1; i <= failovers; i++) {
        for (const run of runs) {
          const ms = await measureFailover(run.cluster);
          run.failoverMs.push(ms);
          progress(`failover ${i}/${failovers} ${run.cluster.name.padEnd(5)} ${fmtInt(ms)} ms`);
        }
      }
    } finally {
      await destroyAll(runs);
      release();
    }
    console.log(report(runs, machine, options));
  },
};

function lineup(): { candidates: Candidate[]; etcdVersion: string | undefined } {
  const candidates: Candidate[] = [];
  if (existsSync(CAIRN_MAIN)) {
    candidates.push({
      name: 'cairn',
      detail: `3 × cairn serve (${CAIRN_MAIN})`,
      async start() {
        const cluster = await startCairnCluster(3, { logLevel: 'error' });
        return {
          name: 'cairn',
          members: cluster.members.map((m) => ({
            name: m.name,
            clientUrl: m.clientUrl,
            get running() {
              return m.running;
            },
            kill: () => m.kill(),
            start: () => m.start(),
          })),
          destroy: () => cluster.destroy(),
        };
      },
    });
  } else {
    console.log(`cluster: skipping cairn: ${CAIRN_MAIN} not found (build with npx tsc -p tsconfig.json)`);
  }
  let etcdVersion: string | undefined;
  const etcdPath = findOnPath('etcd');
  if (etcdPath === undefined) {
    console.log('cluster: skipping etcd: `etcd` not on PATH');
  } else {
    etcdVersion = probeOutput(etcdPath, ['--version'], /etcd Version:\s*(\S+)/) ?? 'unknown version';
    candidates.push({
      name: 'etcd',
      detail: `3 × etcd ${etcdVersion} --enable-v2 (${etcdPath})`,
      async start() {
        const cluster = await startEtcdCluster({ size: 3, enableV2: true });
        return { name: 'etcd', members: cluster.members, destroy: () => cluster.destroy() };
      },
    });
  }
  return { candidates, etcdVersion };
}

async function destroyAll(runs: readonly PeerRun[]): Promise<void> {
  await Promise.allSettled(runs.map((run) => run.cluster.destroy()));
}

interface SelfStats {
  readonly id: string;
  readonly state: string;
  readonly leaderInfo?: { readonly leader?: string };
}

/** The member every running member names as leader (and which says it leads); polls until there is one. */
async function findLeader(cluster: Cluster, timeoutMs = 30_000): Promise<Member> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const running = cluster.members.filter((m) => m.running);
      const stats = await Promise.all(
        running.map(async (m) => {
          const res = await request(`${m.clientUrl}/v2/stats/self`, { dispatcher: statsAgent, headersTimeout: 2_000, bodyTimeout: 2_000 });
          return (await res.body.json()) as SelfStats;
        }),
      );
      const leaders = stats.filter((s) => s.state === 'StateLeader');
      const id = leaders[0]?.id;
      if (leaders.length === 1 && stats.every((s) => s.leaderInfo?.leader === id)) {
        const index = stats.findIndex((s) => s.id === id);
        return running[index] as Member;
      }
      last = stats.map((s) => `${s.id}:${s.state}`).join(' ');
    } catch (err) {
      last = errorMessage(err);
    }
    await sleep(50);
  }
  throw new BenchError('CAIRN_BENCH_NO_LEADER', `${cluster.name}: no single leader within ${timeoutMs} ms (${last})`);
}

async function warmUp(cluster: Cluster): Promise<void> {
  progress(`warming up ${cluster.name}`);
  const leader = await findLeader(cluster);
  const pool = new Pool(leader.clientUrl, { connections: CONNECTIONS, pipelining: 1 });
  try {
    check(await runClosedLoop({ dispatcher: pool, concurrency: CONNECTIONS, requests: PUTS, isOk: isWriteOk, totalRequests: KEYS }), cluster, 'prefill');
    check(await runClosedLoop({ dispatcher: pool, concurrency: CONNECTIONS, requests: PUTS, isOk: isWriteOk, durationMs: WARMUP_MS }), cluster, 'warm-up');
  } finally {
    await pool.destroy();
  }
}

async function measurePuts(cluster: Cluster, path: Path, durationMs: number): Promise<PutSample> {
  const leader = await findLeader(cluster);
  const target = path === 'leader' ? leader : (cluster.members.find((m) => m !== leader && m.running) as Member);
  const pool = new Pool(target.clientUrl, { connections: CONNECTIONS, pipelining: 1 });
  try {
    // Connections are opened before the clock starts.
    await runClosedLoop({ dispatcher: pool, concurrency: CONNECTIONS, requests: [{ path: '/version', method: 'GET' }], isOk: () => true, totalRequests: 2 * CONNECTIONS });
    const result = await runClosedLoop({ dispatcher: pool, concurrency: CONNECTIONS, requests: PUTS, isOk: isWriteOk, durationMs });
    check(result, cluster, `PUT via ${path}`);
    return { throughput: result.ops / (result.elapsedMs / 1000), p50: result.latencies.percentile(50), p99: result.latencies.percentile(99) };
  } finally {
    await pool.destroy();
  }
}

/**
 * kill -9 the leader, then fire a write through a surviving member every PROBE_EVERY_MS (each with its own
 * deadline, so a write lost with the old leader does not hold up the next); the failover time is when the
 * first one is acknowledged. The killed member is restarted and the cluster settles before the next round.
 */
async function measureFailover(cluster: Cluster): Promise<number> {
  const leader = await findLeader(cluster);
  const survivor = cluster.members.find((m) => m !== leader && m.running) as Member;
  const pool = new Pool(survivor.clientUrl, { connections: 64, pipelining: 1 });
  let n = 0;
  const put = async (): Promise<boolean> => {
    const body = `value=${n}`;
    const path = `/v2/keys/bench/failover/p${n++}`;
    try {
      const res = await pool.request({ path, method: 'PUT', headers: FORM, body, headersTimeout: PROBE_TIMEOUT_MS, bodyTimeout: PROBE_TIMEOUT_MS, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      await res.body.dump();
      return isWriteOk(res.statusCode);
    } catch {
      return false;
    }
  };
  try {
    if (!(await put())) throw new BenchError('CAIRN_BENCH_FAILOVER', `${cluster.name}: the cluster took no write before the kill`);
    const killedAt = performance.now();
    const killed = leader.kill();
    const acked = await new Promise<number>((resolve, reject) => {
      let done = false;
      const giveUp = setTimeout(() => {
        done = true;
        clearInterval(timer);
        reject(new BenchError('CAIRN_BENCH_FAILOVER', `${cluster.name}: no write acknowledged within ${FAILOVER_GIVE_UP_MS} ms of the kill`));
      }, FAILOVER_GIVE_UP_MS);
      const fire = (): void => {
        void put().then((ok) => {
          if (!ok || done) return;
          done = true;
          clearInterval(timer);
          clearTimeout(giveUp);
          resolve(performance.now());
        });
      };
      const timer = setInterval(fire, PROBE_EVERY_MS);
      fire();
    });
    await killed;
    return acked - killedAt;
  } finally {
    await pool.destroy();
    await leader.start();
    await findLeader(cluster, 60_000);
  }
}

function isWriteOk(status: number): boolean {
  return status === 200 || status === 201;
}

function check(result: ClosedLoopResult, cluster: Cluster, what: string): void {
  if (result.badStatus > Math.max(10, result.ops * 0.001)) {
    throw new BenchError('CAIRN_BENCH_BAD_STATUS', `${cluster.name} ${what}: ${result.badStatus} of ${result.ops} answers had an unexpected status (first: ${result.firstBadStatus})`);
  }
}

function report(runs: readonly PeerRun[], machine: string, options: BenchOptions): string {
  const cairn = runs.find((r) => r.cluster.name === 'cairn');
  const etcd = runs.find((r) => r.cluster.name === 'etcd');
  type Pick = (run: PeerRun) => number;
  const rows: { label: string; pick: Pick; format: (v: number) => string; higherIsBetter: boolean }[] = [];
  for (const path of PATHS) {
    const via = path === 'leader' ? 'to the leader' : 'to a follower';
    rows.push({ label: `PUT throughput, ${CONNECTIONS} conns ${via} (ops/s)`, pick: (r) => median(r.put[path].map((s) => s.throughput)), format: fmtInt, higherIsBetter: true });
    rows.push({ label: `PUT latency p50, ${via} (ms)`, pick: (r) => median(r.put[path].map((s) => s.p50)), format: fmtMs, higherIsBetter: false });
    rows.push({ label: `PUT latency p99, ${via} (ms)`, pick: (r) => median(r.put[path].map((s) => s.p99)), format: fmtMs, higherIsBetter: false });
  }
  rows.push({ label: 'leader failover: kill -9 → next write acked (ms, median)', pick: (r) => median(r.failoverMs), format: fmtInt, higherIsBetter: false });
  const table = rows.map((row) => {
    const c = cairn === undefined ? undefined : row.pick(cairn);
    const e = etcd === undefined ? undefined : row.pick(etcd);
    let ratio = 'n/a';
    if (c !== undefined && e !== undefined && c > 0 && e > 0) ratio = `${(row.higherIsBetter ? c / e : e / c).toFixed(2)}×`;
    return [row.label, c === undefined ? 'skipped' : row.format(c), e === undefined ? 'skipped' : row.format(e), ratio];
  });
  const failoverLines = runs.map((r) => `${r.cluster.name} failovers (ms): ${r.failoverMs.map(fmtInt).join(', ')}`);
  return [
    '',
    '### cluster: 3-member Cairn vs 3-member etcd, v2 keys API, loopback',
    '',
    `machine: ${machine}`,
    `method: PUT: median of ${options.rounds} round${options.rounds === 1 ? '' : 's'}, clusters alternating, ${CONNECTIONS} connections, ` +
      `${KEYS} keys, ${VALUE_BYTES}-byte values, ${options.seconds} s per round; failover: kill -9 of the leader, ` +
      `a write through a surviving member every ${PROBE_EVERY_MS} ms, time to the first acknowledged one, median of ${runs[0]?.failoverMs.length ?? 0}; ` +
      'default heartbeat 100 ms and election timeout 1000 ms on both',
    '',
    markdownTable(['metric', 'cairn', 'etcd', 'cairn/etcd'], table),
    '',
    'cairn/etcd > 1 means Cairn is better (throughput: cairn/etcd; latency and failover: etcd/cairn).',
    ...failoverLines,
  ].join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function fmtInt(v: number): string {
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a';
}

function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v < 10 ? v.toFixed(2) : v.toFixed(1);
}

function progress(line: string): void {
  process.stderr.write(`cluster: ${line}\n`);
}
