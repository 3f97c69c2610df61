import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';
import { waitFor } from './wait.js';

export interface EtcdServer {
  readonly url: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** A real single-member etcd (Debian's etcd-server, 3.4) with the v2 API on loopback. */
export async function startEtcd(): Promise<EtcdServer> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const proc = startProcess('etcd', [
    '--name', 'ref',
    '--data-dir', join(dir, 'data'),
    '--enable-v2=true',
    '--listen-client-urls', url,
    '--advertise-client-urls', url,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `ref=${peer}`,
    '--log-level', 'error',
  ]);
  try {
    await waitFor(async () => (await fetch(`${url}/health`)).ok, { what: `etcd on ${url}` });
  } catch (err) {
    await proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`etcd did not start: ${String(err)}\n${proc.output()}`);
  }
  return {
    url,
    process: proc,
    async stop() {
      await proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
