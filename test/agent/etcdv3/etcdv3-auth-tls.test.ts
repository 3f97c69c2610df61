/**
 * The etcdv3 backend with etcd v3 auth (users and roles set up with
 * etcdctl, then `auth enable`) and with TLS client certificates, against a
 * real etcd 3.4; through the backend and through `cairn agent --onetime`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Change } from '../../../src/agent/backend/backend.js';
import { EtcdV3Backend } from '../../../src/agent/backend/etcd-v3.js';
import { EtcdV3Client } from '../../../src/client/etcd-v3-client.js';
import { GATEWAY_TLS_HINT } from '../../../src/client/etcd-v3-errors.js';
import { makeWorkspace, runAgentOnce } from '../../support/agent.js';
import { startEtcdCluster, type EtcdCluster } from '../../support/etcd-cluster.js';
import { skipUnless } from '../../support/require-tool.js';
import { waitFor } from '../../support/wait.js';
import { startTlsEtcd, TLS_FILES as REGISTER_TLS } from '../../register/tls-etcd.js';
import { etcdctl3 } from './etcdctl3.js';

// The fixtures are not compiled: from dist/test/agent/etcdv3 back to test/agent/etcdv3/fixtures.
const FIXTURES = fileURLToPath(new URL('../../../../test/agent/etcdv3/fixtures/tls/', import.meta.url));
const TLS = {
  ca: join(FIXTURES, 'ca.pem'),
  cert: join(FIXTURES, 'server.pem'),
  key: join(FIXTURES, 'server.key'),
  clientCert: join(FIXTURES, 'client.pem'),
  clientKey: join(FIXTURES, 'client.key'),
} as const;

const ROOT = ['--user', 'root:rootpw'];

function valueWorkspace(): ReturnType<typeof makeWorkspace> {
  const ws = makeWorkspace();
  ws.template('v.hbs', '{{getv "/app/value" "unset"}}\n');
  ws.resource('v', '[template]\nsrc = "v.hbs"\ndest = "@OUT@/v.conf"\nkeys = ["/app"]\n');
  return ws;
}

describe('etcdv3 backend with etcd v3 auth', { skip: skipUnless('etcd') }, () => {
  let etcd: EtcdCluster;
  let url: string;
  before(async () => {
    etcd = await startEtcdCluster({ size: 1 });
    url = etcd.endpoints[0] as string;
    await etcdctl3(url, ['user', 'add', 'root:rootpw']);
    await etcdctl3(url, ['user', 'add', 'agent:agentpw']);
    await etcdctl3(url, ['role', 'add', 'app-reader']);
    await etcdctl3(url, ['role', 'grant-permission', 'app-reader', '--prefix=true', 'read', '/app']);
    await etcdctl3(url, ['user', 'grant-role', 'agent', 'app-reader']);
    await etcdctl3(url, ['auth', 'enable']);
    await etcdctl3(url, [...ROOT, 'put', '/app/value', 'secret']);
  });
  after(async () => {
    await etcd?.destroy();
  });

  test('a user with read access lists and watches; its token is renewed when the member restarts', async () => {
    const backend = new EtcdV3Backend(new EtcdV3Client({ endpoints: [url], username: 'agent', password: 'agentpw' }));
    const stop = new AbortController();
    try {
      const listing = await backend.list('/app');
      assert.deepEqual(Object.fromEntries(listing.pairs), { '/app/value': 'secret' });
      const changes: Change[] = [];
      const watching = (async () => {
        let next = listing.index + 1;
        while (!stop.signal.aborted) {
          try {
            for await (const change of backend.watch('/app', next, stop.signal)) {
              changes.push(change);
              next = change.index + 1;
            }
          } catch {
            // The member is restarting: resume, as the feed does.
          }
        }
      })();
      await etcdctl3(url, [...ROOT, 'put', '/app/value', 'v1']);
      await waitFor(() => changes.length === 1, { what: 'a change seen with the token' });
      // etcd keeps simple tokens in memory: after a restart the one the client holds is unknown.
      const member = etcd.members[0] as EtcdCluster['members'][number];
      await member.kill();
      await member.start();
      await waitFor(() => etcdctl3(url, [...ROOT, 'put', '/app/value', 'v2']), { what: 'a write after the restart' });
      await waitFor(() => changes.some((c) => c.value === 'v2'), { what: 'the watch to resume with a new token', timeoutMs: 30_000 });
      assert.deepEqual(Object.fromEntries((await backend.list('/app')).pairs), { '/app/value': 'v2' });
      stop.abort();
      await watching;
    } finally {
      stop.abort();
      await backend.close();
    }
  });

  test('a wrong password and a missing permission are errors that say so', async () => {
    const wrong = new EtcdV3Backend(new EtcdV3Client({ endpoints: [url], username: 'agent', password: 'nope' }));
    const backend = new EtcdV3Backend(new EtcdV3Client({ endpoints: [url], username: 'agent', password: 'agentpw' }));
    try {
      await assert.rejects(wrong.list('/app'), /authentication failed, invalid user ID or password/);
      await assert.rejects(backend.list('/other'), /permission denied/);
      const watch = backend.watch('/other', 1, new AbortController().signal)[Symbol.asyncIterator]();
      await assert.rejects(watch.next(), /watch refused: etcdserver: permission denied/);
    } finally {
      await wrong.close();
      await backend.close();
    }
  });

  test('cairn agent --onetime --backend etcdv3 --username --password renders', async () => {
    const ws = valueWorkspace();
    try {
      await etcdctl3(url, [...ROOT, 'put', '/app/value', 'rendered with auth']);
      const run = await runAgentOnce(['--onetime', '--confdir', ws.confdir, '--backend', 'etcdv3', '--node', url, '--username', 'agent', '--password', 'agentpw']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(ws.read('v.conf'), 'rendered with auth\n');
    } finally {
      ws.remove();
    }
  });
});

describe('etcdv3 backend over TLS with a client certificate', { skip: skipUnless('etcd') }, () => {
  let etcd: EtcdCluster;
  before(async () => {
    etcd = await startEtcdCluster({ size: 1, tls: TLS });
  });
  after(async () => {
    await etcd?.destroy();
  });

  test('cairn agent renders through https with --client-cert/--client-key/--client-ca-keys, and fails without them', async () => {
    const url = etcd.endpoints[0] as string;
    const writer = new EtcdV3Client({
      endpoints: [url],
      tls: { ca: readFileSync(TLS.ca), cert: readFileSync(TLS.clientCert), key: readFileSync(TLS.clientKey) },
    });
    const ws = valueWorkspace();
    try {
      await writer.put('/app/value', 'over tls');
      const tls = ['--client-cert', TLS.clientCert, '--client-key', TLS.clientKey, '--client-ca-keys', TLS.ca];
      const run = await runAgentOnce(['--onetime', '--confdir', ws.confdir, '--backend', 'etcdv3', '--node', url, ...tls]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(ws.read('v.conf'), 'over tls\n');

      const untrusted = await runAgentOnce(['--onetime', '--confdir', ws.confdir, '--backend', 'etcdv3', '--node', url]);
      assert.equal(untrusted.code, 3, 'the backend is unreachable without the CA and a client certificate');
      assert.match(untrusted.stderr, /certificate/i);
    } finally {
      ws.remove();
      await writer.close();
    }
  });

  test('an etcd whose server certificate cannot authenticate as a client is named as the cause', async () => {
    // These fixtures' server certificate is for server authentication only, which etcd's own gateway trips over.
    const server = await startTlsEtcd();
    const client = new EtcdV3Client({
      endpoints: [server.url],
      tls: { ca: readFileSync(REGISTER_TLS.ca), cert: readFileSync(REGISTER_TLS.clientCert), key: readFileSync(REGISTER_TLS.clientKey) },
    });
    try {
      await assert.rejects(client.range('/app'), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.ok(err.message.includes(GATEWAY_TLS_HINT), err.message);
        return true;
      });
    } finally {
      await client.close();
      await server.stop();
    }
  });
});
