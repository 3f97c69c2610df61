import { Pool, type Dispatcher } from 'undici';
import { errorMessage } from '../src/util/errors.js';
import { ownCpuSeconds, processCpuSeconds } from './cpu.js';
import { BenchError } from './errors.js';
import { runClosedLoop, type ClosedLoopResult } from './load.js';
import { machineLine } from './machine.js';
import { storePeers, type PeerCandidate, type RunningPeer } from './store-peers.js';
import { describeSample, formatStoreReport, PHASES, type PeerSamples, type Phase, type PhaseSample } from './store-report.js';
import type { BenchOptions, BenchSuite } from './suite.js';
import { onTeardown } from './teardown.js';
import { runWatchLatency } from './watch-latency.js';

const CONNECTIONS = 64;
const KEYS = 1000;
const VALUE_BYTES = 64;
const WATCHERS = 100;
const WATCH_EVENTS = 200;
const WATCH_SETTLE_MS = 5;
const WARMUP_MS = 500;

const FORM = ['content-type', 'application/x-www-form-urlencoded'];
const PUT_BODY = Buffer.from(`value=${'v'.repeat(VALUE_BYTES)}`);
const KEY_PATHS = Array.from({ length: KEYS }, (_, k) => `/v2/keys/bench/put/k${String(k).padStart(4, '0')}`);
const PUTS: readonly Dispatcher.DispatchOptions[] = KEY_PATHS.map((path) => ({ path, method: 'PUT', headers: FORM, body: PUT_BODY }));
const GETS: readonly Dispatcher.DispatchOptions[] = KEY_PATHS.map((path) => ({ path, method: 'GET' }));
const PRIMES: readonly Dispatcher.DispatchOptions[] = [{ path: '/version', method: 'GET' }];

interface PeerRun {
  readonly peer: RunningPeer;
  readonly pool: Pool;
  readonly watchPool: Pool;
  readonly writer: Pool;
  readonly samples: Record<Phase, PhaseSample[]>;
}

export const storeSuite: BenchSuite = {
  name: 'store',
  async run(options: BenchOptions): Promise<void> {
    const lineup = storePeers(options.cpuProfDir);
    // Taken before any load of ours, so the load average shows what else was running.
    const machine = machineLine([`etcd ${lineup.etcdVersion ?? 'not installed'}`]);
    for (const skip of lineup.skipped) console.log(`store: skipping ${skip.name}: ${skip.reason}`);
    if (lineup.candidates.length === 0) {
      throw new BenchError('CAIRN_BENCH_NO_PEERS', 'store: neither cairn nor etcd is available');
    }

    const runs: PeerRun[] = [];
    const failedToStart: string[] = [];
    const release = onTeardown(() => closeAll(runs));
    try {
      for (const candidate of lineup.candidates) {
        const run = await startPeer(candidate);
        if (run === undefined) failedToStart.push(candidate.name);
        else runs.push(run);
      }
      if (runs.length === 0) throw new BenchError('CAIRN_BENCH_NO_PEERS', 'store: no server could be started');
      console.log(`store: peers: ${lineup.candidates.filter((c) => runs.some((r) => r.peer.name === c.name)).map((c) => c.detail).join('; ')}`);

      for (const run of runs) await warmUp(run);
      // A B A B: only one server is under load at a time (the client shares
      // the machine), and alternating spreads any drift over both peers.
      for (let round = 1; round <= options.rounds; round += 1) {
        for (const phase of PHASES) {
          for (const run of runs) {
            const sample = await measure(run, phase, options);
            run.samples[phase].push(sample);
            progress(`round ${round}/${options.rounds} ${phase.padEnd(5)} ${run.peer.name.padEnd(5)} ${describeSample(phase, sample)}`);
          }
        }
      }
    } finally {
      await closeAll(runs);
      release();
    }

    const byName = (name: string): PeerSamples | undefined => {
      const run = runs.find((r) => r.peer.name === name);
      return run === undefined ? undefined : { name, samples: run.samples };
    };
    console.log(formatStoreReport(byName('cairn'), byName('etcd'), machine, {
      connections: CONNECTIONS, keys: KEYS, valueBytes: VALUE_BYTES, watchers: WATCHERS,
      watchEvents: WATCH_EVENTS, rounds: options.rounds, seconds: options.seconds,
    }));
    if (failedToStart.length > 0) {
      throw new BenchError('CAIRN_BENCH_PEER_FAILED', `store: ${failedToStart.join(', ')} failed to start (see above)`);
    }
  },
};

async function startPeer(candidate: PeerCandidate): Promise<PeerRun | undefined> {
  let peer: RunningPeer;
  try {
    peer = await candidate.start();
  } catch (err) {
    console.log(`store: skipping ${candidate.name}: it failed to start: ${errorMessage(err)}`);
    return undefined;
  }
  return {
    peer,
    pool: new Pool(peer.url, { connections: CONNECTIONS, pipelining: 1 }),
    watchPool: new Pool(peer.url, { connections: WATCHERS, pipelining: 1, bodyTimeout: 60_000, headersTimeout: 60_000 }),
    writer: new Pool(peer.url, { connections: 1, pipelining: 1 }),
    samples: { put: [], get: [], watch: [] },
  };
}

async function closeAll(runs: readonly PeerRun[]): Promise<void> {
  await Promise.allSettled(runs.map(async (run) => {
    await Promise.allSettled([run.pool.destroy(), run.watchPool.destroy(), run.writer.destroy()]);
    await run.peer.stop();
  }));
}

/** Fills every key (GETs must hit) and lets Cairn's JIT settle before anything is timed. */
async function warmUp(run: PeerRun): Promise<void> {
  progress(`warming up ${run.peer.name}`);
  check(await runClosedLoop({ dispatcher: run.pool, concurrency: CONNECTIONS, requests: PUTS, isOk: isWriteOk, totalRequests: KEYS }), run, 'prefill');
  check(await runClosedLoop({ dispatcher: run.pool, concurrency: CONNECTIONS, requests: PUTS, isOk: isWriteOk, durationMs: WARMUP_MS }), run, 'warm-up PUT');
  check(await runClosedLoop({ dispatcher: run.pool, concurrency: CONNECTIONS, requests: GETS, isOk: isReadOk, durationMs: WARMUP_MS }), run, 'warm-up GET');
  await runWatchLatency({
    watchPool: run.watchPool, writer: run.writer, dir: '/bench/watch', watchers: WATCHERS,
    events: 20, settleMs: WATCH_SETTLE_MS, eventTimeoutMs: 10_000,
  });
}

async function measure(run: PeerRun, phase: Phase, options: BenchOptions): Promise<PhaseSample> {
  if (phase !== 'watch') {
    // Idle keep-alive connections may have been closed while the other peer
    // ran; reopening them must not be timed.
    await runClosedLoop({ dispatcher: run.pool, concurrency: CONNECTIONS, requests: PRIMES, isOk: isReadOk, totalRequests: 2 * CONNECTIONS });
  }
  const serverBefore = processCpuSeconds(run.peer.pid);
  const clientBefore = ownCpuSeconds();
  const wallBefore = performance.now();

  let throughput: number;
  let latencies: ClosedLoopResult['latencies'];
  let badStatus = 0;
  if (phase === 'watch') {
    const result = await runWatchLatency({
      watchPool: run.watchPool, writer: run.writer, dir: '/bench/watch', watchers: WATCHERS,
      events: WATCH_EVENTS, settleMs: WATCH_SETTLE_MS, eventTimeoutMs: 10_000,
    });
    throughput = result.deliveries / (result.elapsedMs / 1000);
    latencies = result.latencies;
  } else {
    const result = await runClosedLoop({
      dispatcher: run.pool,
      concurrency: CONNECTIONS,
      requests: phase === 'put' ? PUTS : GETS,
      isOk: phase === 'put' ? isWriteOk : isReadOk,
      durationMs: options.seconds * 1000,
    });
    check(result, run, phase);
    throughput = result.ops / (result.elapsedMs / 1000);
    latencies = result.latencies;
    badStatus = result.badStatus;
  }

  const wallSeconds = (performance.now() - wallBefore) / 1000;
  const serverAfter = processCpuSeconds(run.peer.pid);
  const serverSeconds = serverBefore === undefined || serverAfter === undefined ? undefined : serverAfter - serverBefore;
  return {
    throughput,
    p50: latencies.percentile(50),
    p99: latencies.percentile(99),
    count: latencies.count,
    badStatus,
    serverCores: serverSeconds === undefined ? undefined : serverSeconds / wallSeconds,
    serverUsPerOp: serverSeconds === undefined ? undefined : (serverSeconds * 1e6) / latencies.count,
    clientCores: (ownCpuSeconds() - clientBefore) / wallSeconds,
  };
}

function isWriteOk(status: number): boolean {
  return status === 200 || status === 201;
}

function isReadOk(status: number): boolean {
  return status === 200;
}

/** More than a trace of error answers means the figures describe an error path, not the store. */
function check(result: ClosedLoopResult, run: PeerRun, what: string): void {
  if (result.badStatus > Math.max(10, result.ops * 0.001)) {
    throw new BenchError('CAIRN_BENCH_BAD_STATUS',
      `${run.peer.name} ${what}: ${result.badStatus} of ${result.ops} answers had an unexpected status (first: ${result.firstBadStatus})`);
  }
}

function progress(line: string): void {
  process.stderr.write(`store: ${line}\n`);
}

