import { startCairn, type CairnServer } from './cairn.js';
import { startEtcd, type EtcdServer } from './etcd.js';
import { DiffSession, type DiffTarget } from './http-diff.js';
import { sendRaw } from './raw-http.js';

/**
 * One reference etcd and one candidate per test file; tests isolate their
 * state with distinct key prefixes. COMPAT_CANDIDATE=etcd swaps Cairn for a
 * second etcd whose index is shifted, which validates the harness itself: a
 * correct harness reports no difference between two etcds.
 */
export interface CompatServers {
  readonly ref: DiffTarget;
  readonly cand: DiffTarget;
  /** The Cairn process, when the candidate is Cairn. */
  readonly cairn: CairnServer | undefined;
  session(label: string): DiffSession;
  /** A unique key prefix (no leading slash) for one test's keys. */
  prefix(name: string): string;
  /** Throws unless the candidate process is alive and /health answers. */
  assertCandidateAlive(): Promise<void>;
  stop(): Promise<void>;
}

let prefixCounter = 0;

export async function startCompatServers(): Promise<CompatServers> {
  const useEtcdCandidate = process.env['COMPAT_CANDIDATE'] === 'etcd';
  const servers: { etcd?: EtcdServer; etcd2?: EtcdServer; cairn?: CairnServer } = {};
  try {
    const [etcd, cand] = await Promise.all([
      startEtcd(),
      useEtcdCandidate ? startEtcd() : startCairn(),
    ]);
    servers.etcd = etcd;
    if (useEtcdCandidate) servers.etcd2 = cand as EtcdServer;
    else servers.cairn = cand as CairnServer;
  } catch (err) {
    await Promise.allSettled([servers.etcd?.stop(), servers.etcd2?.stop(), servers.cairn?.destroy()]);
    throw err;
  }
  const etcd = servers.etcd;
  const candUrl = servers.cairn?.url ?? servers.etcd2?.url ?? '';
  if (useEtcdCandidate) {
    // Hidden writes move the candidate's index away from the reference's, so
    // any absolute index leaking through normalization shows up as a difference.
    for (let i = 0; i < 7; i++) {
      await sendRaw(candUrl, {
        method: 'PUT',
        path: `/v2/keys/_compat_shift/k${i}`,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'value=x',
      });
    }
  }
  const ref: DiffTarget = { name: 'etcd', url: etcd.url };
  const cand: DiffTarget = { name: useEtcdCandidate ? 'etcd#2' : 'cairn', url: candUrl };
  const fileTag = `t${process.pid.toString(36)}`;
  return {
    ref,
    cand,
    cairn: servers.cairn,
    session: (label) => new DiffSession(label, ref, cand),
    prefix: (name) => `${fileTag}-${(++prefixCounter).toString(36)}-${name}`,
    async assertCandidateAlive() {
      const proc = servers.cairn?.process ?? servers.etcd2?.process;
      if (proc !== undefined && (proc.child.exitCode !== null || proc.child.signalCode !== null)) {
        throw new Error(`${cand.name} died (exit ${String(proc.child.exitCode ?? proc.child.signalCode)}):\n${proc.output().slice(-4000)}`);
      }
      const res = await sendRaw(candUrl, { method: 'GET', path: '/health' });
      if (res.status !== 200) throw new Error(`${cand.name} /health answered ${res.status}: ${res.text}`);
    },
    async stop() {
      await Promise.allSettled([etcd.stop(), servers.etcd2?.stop(), servers.cairn?.destroy()]);
    },
  };
}

/** Output of the candidate process, for failure messages. */
export function candidateOutput(servers: CompatServers): string {
  return servers.cairn?.process.output().slice(-4000) ?? '';
}
