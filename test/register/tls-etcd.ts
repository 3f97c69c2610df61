import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { V2Client } from '../../src/client/v2-client.js';
import { freePort } from '../support/ports.js';
import { startProcess } from '../support/process.js';
import { waitFor } from '../support/wait.js';

// The fixtures are not compiled: from dist/test/register back to test/register/fixtures.
const FIXTURES = fileURLToPath(new URL('../../../test/register/fixtures/tls/', import.meta.url));

/** A test CA, a server certificate for 127.0.0.1 and a client certificate (see fixtures/tls/README.md). */
export const TLS_FILES = {
  ca: join(FIXTURES, 'ca.pem'),
  serverCert: join(FIXTURES, 'server.pem'),
  serverKey: join(FIXTURES, 'server.key'),
  clientCert: join(FIXTURES, 'client.pem'),
  clientKey: join(FIXTURES, 'client.key'),
} as const;

/** A real etcd serving https on loopback and requiring client certificates signed by the test CA. */
export async function startTlsEtcd(): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-etcd-tls-'));
  const url = `https://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const proc = startProcess('etcd', [
    '--name', 'tls',
    '--data-dir', join(dir, 'data'),
    '--enable-v2=true',
    '--listen-client-urls', url,
    '--advertise-client-urls', url,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `tls=${peer}`,
    '--cert-file', TLS_FILES.serverCert,
    '--key-file', TLS_FILES.serverKey,
    '--trusted-ca-file', TLS_FILES.ca,
    '--client-cert-auth',
    '--log-level', 'error',
  ]);
  const stop = async (): Promise<void> => {
    await proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const probe = tlsClient(url);
  try {
    await waitFor(async () => {
      if (proc.child.exitCode !== null) throw new Error(`etcd exited: ${proc.output()}`);
      return (await probe.raw('GET', '/health')).status === 200;
    }, { what: `etcd on ${url}` });
  } catch (err) {
    await stop();
    throw err;
  } finally {
    await probe.close();
  }
  return { url, stop };
}

/** A client that trusts the test CA and presents the test client certificate. */
export function tlsClient(url: string): V2Client {
  return new V2Client({
    endpoints: [url],
    tls: { ca: readFileSync(TLS_FILES.ca), cert: readFileSync(TLS_FILES.clientCert), key: readFileSync(TLS_FILES.clientKey) },
  });
}
