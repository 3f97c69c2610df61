import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { CAIRN_MAIN, waitForCairnReady } from './cairn.js';
import { freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';
import { waitFor } from './wait.js';

/** One `cairn serve` cluster member on loopback; its data dir survives kill and restart. */
export interface ClusterMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly process: ManagedProcess | undefined;
  readonly running: boolean;
  /** Starts (or restarts) the process; resolves once it answers /health (a leader is known). */
  start(options?: { logLevel?: string; waitReady?: boolean }): Promise<void>;
  /** SIGKILL: no shutdown, no flush. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<number | string>;
  /** What the process wrote so far (its logs). */
  output(): string;
}

export interface CairnCluster {
  /** The founding members first, then any added with createMember, in that order. */
  readonly members: readonly ClusterMember[];
  readonly token: string;
  /** The root under which every member's data dir lives. */
  readonly root: string;
  /**
   * A new member on fresh ports, not started yet: `bootstrap` gives its
   * bootstrap flags (e.g. --initial-cluster … --initial-cluster-state
   * existing, after `member add`) and is called at each start. Destroyed
   * with the cluster.
   */
  createMember(name: string, bootstrap: (self: { peerUrl: string; clientUrl: string }) => readonly string[]): Promise<ClusterMember>;
  running(): ClusterMember[];
  /** Polls until every running member names the same leader and that member says it leads. */
  leader(timeoutMs?: number): Promise<ClusterMember>;
  /** Kills every process and removes the data dirs. */
  destroy(): Promise<void>;
}

export interface ClusterOptions {
  readonly snapshotCount?: number;
  readonly extraArgs?: readonly string[];
  readonly logLevel?: string;
  /**
   * Bootstrap flags instead of --initial-cluster/--initial-cluster-token
   * (for instance ['--discovery', url]); called per founding member.
   */
  readonly bootstrap?: (self: { name: string; peerUrl: string; clientUrl: string }) => readonly string[];
}

interface MemberSpec {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** Read at each start, so a test can settle the flags after creating the member. */
  bootstrap(): readonly string[];
}

export interface SelfStatsJson {
  readonly name: string;
  readonly id: string;
  readonly state: string;
  readonly leaderInfo: { readonly leader: string };
}

const agent = new Agent({ keepAliveTimeout: 5_000, connect: { timeout: 2_000 } });

/** GET a JSON document from a member; rejects on a transport error. */
export async function getJson<T>(url: string, timeoutMs = 5_000): Promise<{ status: number; body: T }> {
  const res = await request(url, { dispatcher: agent, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const text = await res.body.text();
  return { status: res.statusCode, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

/** A member process whose flags are fixed by `spec`; started and restarted on demand. */
function makeMember(spec: MemberSpec, options: ClusterOptions): ClusterMember {
  let proc: ManagedProcess | undefined;
  const member: ClusterMember = {
    name: spec.name,
    clientUrl: spec.clientUrl,
    peerUrl: spec.peerUrl,
    dataDir: spec.dataDir,
    get process() {
      return proc;
    },
    get running() {
      return proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null;
    },
    async start(startOptions = {}) {
      if (member.running) throw new Error(`${spec.name} is already running`);
      proc = startProcess(process.execPath, [
        CAIRN_MAIN, 'serve',
        '--name', spec.name,
        '--data-dir', spec.dataDir,
        '--listen-client-urls', spec.clientUrl,
        '--advertise-client-urls', spec.clientUrl,
        '--listen-peer-urls', spec.peerUrl,
        '--initial-advertise-peer-urls', spec.peerUrl,
        ...spec.bootstrap(),
        ...(options.snapshotCount === undefined ? [] : ['--snapshot-count', String(options.snapshotCount)]),
        ...(options.extraArgs ?? []),
      ], { env: { ...process.env, CAIRN_LOG_LEVEL: startOptions.logLevel ?? options.logLevel ?? 'warn' } });
      if (startOptions.waitReady === false) return;
      const started = proc;
      try {
        await waitForCairnReady(started, spec.clientUrl);
      } catch (err) {
        await started.kill('SIGKILL');
        throw new Error(`${spec.name} did not start: ${String(err)}\n${started.output()}`);
      }
    },
    async kill() {
      await proc?.kill('SIGKILL');
    },
    async stop() {
      return proc === undefined ? 'not started' : proc.kill('SIGTERM');
    },
    output() {
      return proc?.output() ?? '';
    },
  };
  return member;
}

async function loopbackUrls(): Promise<{ clientUrl: string; peerUrl: string }> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  return { clientUrl: `http://127.0.0.1:${clientPort}`, peerUrl: `http://127.0.0.1:${peerPort}` };
}

/**
 * Starts an n-member cluster founded through --initial-cluster (or the
 * options' bootstrap flags); resolves once all members see one leader.
 */
export async function startCairnCluster(size: number, options: ClusterOptions = {}): Promise<CairnCluster> {
  const root = mkdtempSync(join(tmpdir(), 'cairn-cluster-'));
  const token = `test-${Math.random().toString(36).slice(2, 10)}`;
  const founders: { name: string; clientUrl: string; peerUrl: string; dataDir: string }[] = [];
  for (let i = 1; i <= size; i++) founders.push({ name: `m${i}`, ...(await loopbackUrls()), dataDir: join(root, `m${i}`) });
  const initialCluster = founders.map((s) => `${s.name}=${s.peerUrl}`).join(',');
  const members: ClusterMember[] = founders.map((spec) =>
    makeMember(
      {
        ...spec,
        bootstrap: () => options.bootstrap?.(spec) ?? ['--initial-cluster', initialCluster, '--initial-cluster-token', token],
      },
      options,
    ),
  );

  const cluster: CairnCluster = {
    members,
    token,
    root,
    running: () => members.filter((m) => m.running),
    async createMember(name, bootstrap) {
      const urls = await loopbackUrls();
      const member = makeMember({ name, ...urls, dataDir: join(root, name), bootstrap: () => bootstrap(urls) }, options);
      members.push(member);
      return member;
    },
    async leader(timeoutMs = 30_000) {
      return waitFor(
        async () => {
          const running = cluster.running();
          const stats = await Promise.all(running.map((m) => getJson<SelfStatsJson>(`${m.clientUrl}/v2/stats/self`, 2_000)));
          const leaders = stats.filter((s) => s.body.state === 'StateLeader');
          if (leaders.length !== 1) return undefined;
          const id = (leaders[0] as { body: SelfStatsJson }).body.id;
          if (!stats.every((s) => s.body.leaderInfo.leader === id)) return undefined;
          return running[stats.findIndex((s) => s.body.id === id)];
        },
        { what: 'one leader that every running member follows', timeoutMs, intervalMs: 50 },
      );
    },
    async destroy() {
      await Promise.all(members.map((m) => m.kill()));
      rmSync(root, { recursive: true, force: true });
    },
  };

  try {
    // All at once: a member waits for a quorum before it reports healthy.
    await Promise.all(members.map((m) => m.start({ waitReady: false })));
    await Promise.all(
      members.map(async (m) => {
        try {
          await waitForCairnReady(m.process as ManagedProcess, m.clientUrl);
        } catch (err) {
          throw new Error(`${m.name} did not start: ${String(err)}\n${m.output()}`);
        }
      }),
    );
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return cluster;
}

/** A streaming watch (`?wait=true&stream=true`): collects every event body until closed. */
export interface EventStream {
  readonly events: { action: string; node: { key?: string; value?: string; modifiedIndex?: number } }[];
  /** Set when the server ended the stream or the connection broke. */
  readonly ended: boolean;
  close(): void;
}

export async function streamWatch(baseUrl: string, key: string, query = 'recursive=true'): Promise<EventStream> {
  const controller = new AbortController();
  const res = await request(`${baseUrl}/v2/keys${key}?wait=true&stream=true&${query}`, {
    dispatcher: agent,
    signal: controller.signal,
    headersTimeout: 10_000,
    bodyTimeout: 0,
  });
  if (res.statusCode !== 200) throw new Error(`watch on ${baseUrl}${key}: HTTP ${res.statusCode}: ${await res.body.text()}`);
  const stream: { events: EventStream['events']; ended: boolean; close(): void } = {
    events: [],
    ended: false,
    close: () => controller.abort(),
  };
  let buffered = '';
  res.body.setEncoding('utf8');
  res.body.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line !== '') stream.events.push(JSON.parse(line) as EventStream['events'][number]);
    }
  });
  res.body.on('error', () => {
    stream.ended = true;
  });
  res.body.on('end', () => {
    stream.ended = true;
  });
  return stream;
}
