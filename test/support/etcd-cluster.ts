import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';
import { waitFor } from './wait.js';

/** One member of a real etcd cluster on loopback; its data dir survives kill and restart. */
export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly running: boolean;
  /** Starts (or restarts, from its data dir) the process; resolves once it answers /health. */
  start(): Promise<void>;
  /** SIGKILL: the member's connections drop at once. */
  kill(): Promise<void>;
  /** Sends a signal to the running process (SIGSTOP freezes it with its connections open; SIGCONT resumes it). */
  signal(signal: NodeJS.Signals): void;
  output(): string;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Client URLs of every member, running or not. */
  readonly endpoints: readonly string[];
  running(): EtcdMember[];
  /**
   * The member serving the most watch streams (etcd's own gauge on /metrics),
   * among `candidates`; undefined while none serves one.
   */
  watchedMember(candidates?: readonly EtcdMember[]): Promise<EtcdMember | undefined>;
  /** Kills every member and removes the data dirs. */
  destroy(): Promise<void>;
}

export interface EtcdClusterOptions {
  readonly size?: number;
  /** Also serve the v2 API (--enable-v2=true). */
  readonly enableV2?: boolean;
  readonly extraArgs?: readonly string[];
  /**
   * Serve clients over https with these PEM files (paths) and require a
   * client certificate signed by `ca` (--client-cert-auth).
   */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string; readonly clientCert: string; readonly clientKey: string };
}

/** GET on a member, presenting the client certificate when the cluster serves https. */
async function get(url: string, dispatcher: Agent): Promise<{ status: number; text: string }> {
  const res = await request(url, { dispatcher, headersTimeout: 2_000, bodyTimeout: 2_000 });
  return { status: res.statusCode, text: await res.body.text() };
}

/** Debian's etcd 3.4 health answer is `{"health":"true"}` once the member has a leader. */
async function healthy(url: string, dispatcher: Agent): Promise<boolean> {
  const res = await get(`${url}/health`, dispatcher);
  return res.status === 200 && (JSON.parse(res.text) as { health?: unknown }).health === 'true';
}

/** The value of etcd's watch-stream gauge on one member, 0 when it cannot be read. */
async function watchStreams(url: string, dispatcher: Agent): Promise<number> {
  try {
    const { text } = await get(`${url}/metrics`, dispatcher);
    const line = /^etcd_debugging_mvcc_watch_stream_total (\S+)$/m.exec(text);
    return line === null ? 0 : Number(line[1]);
  } catch {
    return 0;
  }
}

/**
 * A real etcd 3.4 cluster (Debian's etcd-server) of `size` members founded
 * through --initial-cluster on 127.0.0.1; resolves once every member
 * reports itself healthy.
 */
export async function startEtcdCluster(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const size = options.size ?? 3;
  const tls = options.tls;
  const scheme = tls === undefined ? 'http' : 'https';
  const dispatcher = new Agent({
    connect: tls === undefined ? {} : { ca: readFileSync(tls.ca), cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) },
  });
  const tlsArgs = tls === undefined ? [] : ['--cert-file', tls.cert, '--key-file', tls.key, '--trusted-ca-file', tls.ca, '--client-cert-auth'];
  const root = mkdtempSync(join(tmpdir(), 'cairn-etcd-cluster-'));
  const token = `cairn-test-${Math.random().toString(36).slice(2, 10)}`;
  const specs: { name: string; clientUrl: string; peerUrl: string; dataDir: string }[] = [];
  for (let i = 1; i <= size; i++) {
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    specs.push({ name: `e${i}`, clientUrl: `${scheme}://127.0.0.1:${clientPort}`, peerUrl: `http://127.0.0.1:${peerPort}`, dataDir: join(root, `e${i}`) });
  }
  const initialCluster = specs.map((s) => `${s.name}=${s.peerUrl}`).join(',');

  const members: EtcdMember[] = specs.map((spec) => {
    let proc: ManagedProcess | undefined;
    let previousOutput = '';
    const running = (): boolean => proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null;
    return {
      name: spec.name,
      clientUrl: spec.clientUrl,
      peerUrl: spec.peerUrl,
      get running() {
        return running();
      },
      async start() {
        if (running()) return;
        previousOutput += proc?.output() ?? '';
        proc = startProcess('etcd', [
          '--name', spec.name,
          '--data-dir', spec.dataDir,
          ...(options.enableV2 === true ? ['--enable-v2=true'] : []),
          '--listen-client-urls', spec.clientUrl,
          '--advertise-client-urls', spec.clientUrl,
          '--listen-peer-urls', spec.peerUrl,
          '--initial-advertise-peer-urls', spec.peerUrl,
          '--initial-cluster', initialCluster,
          '--initial-cluster-token', token,
          '--initial-cluster-state', 'new',
          '--log-level', 'error',
          ...tlsArgs,
          ...(options.extraArgs ?? []),
        ]);
        const started = proc;
        await waitFor(async () => {
          if (started.child.exitCode !== null) throw new Error(`etcd ${spec.name} exited: ${started.output()}`);
          return healthy(spec.clientUrl, dispatcher);
        }, { what: `etcd member ${spec.name} on ${spec.clientUrl}`, timeoutMs: 30_000 });
      },
      async kill() {
        proc?.child.kill('SIGCONT');
        await proc?.kill('SIGKILL');
      },
      signal(signal) {
        if (running()) proc?.child.kill(signal);
      },
      output: () => previousOutput + (proc?.output() ?? ''),
    };
  });

  const destroy = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.kill()));
    await dispatcher.close();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    // Members wait for each other to form the cluster, so they start together.
    await Promise.all(members.map((m) => m.start()));
  } catch (err) {
    const logs = members.map((m) => `--- ${m.name}\n${m.output()}`).join('\n');
    await destroy();
    throw new Error(`etcd cluster did not start: ${String(err)}\n${logs}`);
  }
  return {
    members,
    endpoints: members.map((m) => m.clientUrl),
    running: () => members.filter((m) => m.running),
    async watchedMember(candidates = members) {
      let best: EtcdMember | undefined;
      let most = 0;
      for (const member of candidates.filter((m) => m.running)) {
        const streams = await watchStreams(member.clientUrl, dispatcher);
        if (streams > most) [best, most] = [member, streams];
      }
      return best;
    },
    destroy,
  };
}
