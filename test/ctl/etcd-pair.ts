/**
 * A real two-member etcd 3.4 cluster on loopback: the smallest one that
 * accepts `member add` (a third, unstarted member keeps its quorum of two)
 * and `member remove`, so etcdctl and `cairn ctl` can both be run through
 * runtime reconfiguration.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/ports.js';
import { startProcess, type ManagedProcess } from '../support/process.js';
import { waitFor } from '../support/wait.js';

export interface EtcdPair {
  /** Client URLs of the two members. */
  readonly urls: readonly string[];
  stop(): Promise<void>;
}

export async function startEtcdPair(): Promise<EtcdPair> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-etcd-pair-'));
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const members = [0, 1].map((i) => ({
    name: `m${i}`,
    client: `http://127.0.0.1:${ports[2 * i] as number}`,
    peer: `http://127.0.0.1:${ports[2 * i + 1] as number}`,
  }));
  const cluster = members.map((m) => `${m.name}=${m.peer}`).join(',');
  const procs: ManagedProcess[] = members.map((m) =>
    startProcess('etcd', [
      '--name', m.name,
      '--data-dir', join(dir, m.name),
      '--enable-v2=true',
      '--listen-client-urls', m.client,
      '--advertise-client-urls', m.client,
      '--listen-peer-urls', m.peer,
      '--initial-advertise-peer-urls', m.peer,
      '--initial-cluster', cluster,
      '--initial-cluster-token', `pair-${ports[0] as number}`,
      // Otherwise etcd refuses reconfiguration until its members have been connected for 5 s.
      '--strict-reconfig-check=false',
      '--log-level', 'error',
    ]),
  );
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(
      members.map((m) =>
        waitFor(async () => (await fetch(`${m.client}/health`)).ok, { what: `etcd member ${m.name} healthy on ${m.client}`, timeoutMs: 30_000 }),
      ),
    );
  } catch (err) {
    const output = procs.map((p) => p.output()).join('\n');
    await stop();
    throw new Error(`etcd pair did not start: ${String(err)}\n${output}`);
  }
  return { urls: members.map((m) => m.client), stop };
}
