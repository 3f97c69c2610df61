import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memberIdFor, normalizePeerUrl } from '../../src/replica/cluster-spec.js';
import { CAIRN_MAIN, waitForCairnReady } from './cairn.js';
import { getJson, type SelfStatsJson } from './cairn-cluster.js';
import { reservePeerNet, type PeerNet } from './cluster-fault-net.js';
import { freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';
import { waitFor } from './wait.js';

/**
 * A `cairn serve` cluster whose peer traffic runs through a PeerNet, so that tests can cut links between
 * members, besides killing (SIGKILL) and pausing (SIGSTOP) them. Each member listens for peers on its own
 * port but advertises its front door in the PeerNet; the member ids come from the advertised URLs.
 */
export interface FaultMember {
  readonly name: string;
  readonly id: string;
  readonly clientUrl: string;
  /** What the others know it by: its front door in the PeerNet. */
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly running: boolean;
  readonly paused: boolean;
  readonly pid: number | undefined;
  /** Starts (or restarts from its data dir); by default resolves once it answers /health (knows a leader). */
  start(options?: { waitReady?: boolean }): Promise<void>;
  /** kill -9; its peer URL refuses connections until it starts again. */
  kill(): Promise<void>;
  /** SIGSTOP: the process stays, its sockets stay open, nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Logs of every run of this member so far. */
  output(): string;
}

export interface FaultCluster {
  readonly members: readonly FaultMember[];
  readonly net: PeerNet;
  member(name: string): FaultMember;
  /**
   * Polls until exactly one of `among` (default: every running member) says it leads and all of `among`
   * follow it; members outside `among` (cut off, paused) are not asked.
   */
  leader(options?: { among?: readonly FaultMember[]; timeoutMs?: number }): Promise<FaultMember>;
  /** SIGCONT and kill every process, close the network, remove the data dirs. */
  destroy(): Promise<void>;
}

export interface FaultClusterOptions {
  readonly extraArgs?: readonly string[];
  /** Default 'warn'. */
  readonly logLevel?: string;
}

export async function startFaultCluster(size: number, options: FaultClusterOptions = {}): Promise<FaultCluster> {
  const root = mkdtempSync(join(tmpdir(), 'cairn-fault-cluster-'));
  const token = `fault-${Math.random().toString(36).slice(2, 10)}`;
  const names = Array.from({ length: size }, (_, i) => `m${i + 1}`);
  // The members' ports first, while no proxy holds a port: the proxies then keep clear of them.
  const reservedPorts = new Set<number>();
  const reservePort = async (): Promise<number> => {
    let port = await freePort();
    while (reservedPorts.has(port)) port = await freePort();
    reservedPorts.add(port);
    return port;
  };
  const ports = new Map<string, { client: number; peer: number }>();
  for (const name of names) ports.set(name, { client: await reservePort(), peer: await reservePort() });
  const reserved = await reservePeerNet(names, reservedPorts);
  const specs = names.map((name) => {
    const peerUrl = reserved.urls.get(name) as string;
    const { client, peer } = ports.get(name) as { client: number; peer: number };
    return {
      name,
      id: memberIdFor([normalizePeerUrl(peerUrl)], token),
      clientUrl: `http://127.0.0.1:${client}`,
      peerUrl,
      listenPort: peer,
      dataDir: join(root, name),
    };
  });
  let net: PeerNet;
  try {
    net = await wireOrClose(reserved, specs);
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const initialCluster = specs.map((s) => `${s.name}=${s.peerUrl}`).join(',');

  const members: FaultMember[] = specs.map((spec) => {
    let proc: ManagedProcess | undefined;
    let previousOutput = '';
    let paused = false;
    const running = (): boolean => proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null;
    const member: FaultMember = {
      name: spec.name,
      id: spec.id,
      clientUrl: spec.clientUrl,
      peerUrl: spec.peerUrl,
      dataDir: spec.dataDir,
      get running() {
        return running();
      },
      get paused() {
        return paused && running();
      },
      get pid() {
        return running() ? proc?.child.pid : undefined;
      },
      async start(startOptions = {}) {
        if (running()) throw new Error(`${spec.name} is already running`);
        previousOutput += proc?.output() ?? '';
        paused = false;
        await net.up(spec.name);
        proc = startProcess(process.execPath, [
          CAIRN_MAIN, 'serve',
          '--name', spec.name,
          '--data-dir', spec.dataDir,
          '--listen-client-urls', spec.clientUrl,
          '--advertise-client-urls', spec.clientUrl,
          '--listen-peer-urls', `http://127.0.0.1:${spec.listenPort}`,
          '--initial-advertise-peer-urls', spec.peerUrl,
          '--initial-cluster', initialCluster,
          '--initial-cluster-token', token,
          ...(options.extraArgs ?? []),
        ], { env: { ...process.env, CAIRN_LOG_LEVEL: options.logLevel ?? 'warn' } });
        if (startOptions.waitReady === false) return;
        const started = proc;
        try {
          await waitForCairnReady(started, spec.clientUrl);
        } catch (err) {
          await started.kill('SIGKILL');
          throw new Error(`${spec.name} did not start: ${String(err)}\n${member.output()}`);
        }
      },
      async kill() {
        paused = false;
        await proc?.kill('SIGKILL');
        await net.down(spec.name);
      },
      pause() {
        if (!running()) return;
        proc?.child.kill('SIGSTOP');
        paused = true;
      },
      resume() {
        if (!running()) return;
        proc?.child.kill('SIGCONT');
        paused = false;
      },
      output: () => previousOutput + (proc?.output() ?? ''),
    };
    return member;
  });

  const cluster: FaultCluster = {
    members,
    net,
    member(name) {
      const m = members.find((x) => x.name === name);
      if (m === undefined) throw new Error(`no member ${name}`);
      return m;
    },
    async leader({ among, timeoutMs = 30_000 } = {}) {
      return waitFor(
        async () => {
          const asked = among ?? members.filter((m) => m.running && !m.paused);
          const stats = await Promise.all(asked.map((m) => getJson<SelfStatsJson>(`${m.clientUrl}/v2/stats/self`, 2_000)));
          const leaders = stats.filter((s) => s.body.state === 'StateLeader');
          if (leaders.length !== 1) return undefined;
          const id = (leaders[0] as { body: SelfStatsJson }).body.id;
          if (!stats.every((s) => s.body.leaderInfo.leader === id)) return undefined;
          return asked.find((m) => m.id === id);
        },
        { what: `one leader followed by ${(among ?? members).map((m) => m.name).join(', ')}`, timeoutMs, intervalMs: 50 },
      );
    },
    async destroy() {
      await Promise.all(members.map((m) => m.kill()));
      await net.close();
      rmSync(root, { recursive: true, force: true });
    },
  };

  try {
    // All at once: a member reports healthy only once a quorum has elected a leader.
    await Promise.all(members.map((m) => m.start({ waitReady: false })));
    await Promise.all(members.map((m) => waitReady(m)));
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return cluster;
}

async function waitReady(m: FaultMember): Promise<void> {
  await waitFor(async () => {
    if (!m.running) throw new Error(`${m.name} exited`);
    return (await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(2_000) })).ok;
  }, {
    what: `${m.name} to become healthy`,
    timeoutMs: 30_000,
  }).catch((err: unknown) => {
    throw new Error(`${m.name} did not start: ${String(err)}\n${m.output()}`);
  });
}

async function wireOrClose(
  reserved: Awaited<ReturnType<typeof reservePeerNet>>,
  specs: readonly { name: string; id: string; listenPort: number }[],
): Promise<PeerNet> {
  try {
    return await reserved.wire(specs);
  } catch (err) {
    await reserved.close();
    throw err;
  }
}
