import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { EtcdV3Client } from '../../src/client/etcd-v3-client.js';
import { CAIRN_MAIN } from '../support/cairn.js';
import { startEtcd } from '../support/etcd.js';
import { freePort } from '../support/ports.js';
import { startProcess, type ManagedProcess } from '../support/process.js';
import { skipUnless } from '../support/require-tool.js';
import { sbinEnv, skipUnlessSbin } from '../support/sbin-tools.js';
import { waitFor } from '../support/wait.js';
import { httpGet, setUpExample, startBackend, startDaemon, type Backend, type Example } from './example-harness.js';

/** Where the keys live: the agent's own embedded store, or a real etcd read through its v3 API. */
interface Store {
  /** Flags that point the agent at the store. */
  readonly agentArgs: readonly string[];
  /** Flags that point `cairn register` at the store. */
  readonly registerArgs: readonly string[];
  /** Resolves once the store takes writes (the embedded one starts with the agent). */
  ready(): Promise<void>;
  put(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}

type StoreKind = 'embedded' | 'etcdv3';

async function openStore(kind: StoreKind, example: Example): Promise<Store> {
  if (kind === 'embedded') {
    const url = `http://127.0.0.1:${await freePort()}`;
    return {
      agentArgs: ['--data-dir', `${example.runDir}/store`, '--listen-client-urls', url],
      registerArgs: ['--endpoints', url],
      ready: () => waitFor(async () => (await fetch(`${url}/health`)).ok, { what: 'the embedded store', timeoutMs: 30_000 }).then(() => undefined),
      async put(key, value) {
        const res = await fetch(`${url}/v2/keys${key}`, { method: 'PUT', body: new URLSearchParams({ value }) });
        assert.equal(res.status, 201);
      },
      close: async () => undefined,
    };
  }
  const etcd = await startEtcd();
  const client = new EtcdV3Client({ endpoints: [etcd.url] });
  return {
    agentArgs: ['--backend', 'etcdv3', '--node', etcd.url],
    registerArgs: ['--backend', 'etcdv3', '--endpoints', etcd.url],
    ready: async () => undefined,
    async put(key, value) {
      await client.put(key, value);
    },
    async close() {
      await client.close();
      await etcd.stop();
    },
  };
}

/**
 * The whole loop with real parts: a service registers itself with a TTL key
 * (with etcd v3, a key on a lease), the agent (watch mode, on its embedded
 * store or on a real etcd through the v3 API) renders nginx's config from
 * the examples/nginx resource, checks it with nginx -t and reloads a real
 * nginx; traffic flows; the service stops heart-beating, its key expires,
 * and nginx stops routing to it.
 */
for (const kind of ['embedded', 'etcdv3'] as const) {
  const skip = skipUnlessSbin('nginx') || (kind === 'etcdv3' ? skipUnless('etcd') : false);
  describe(`examples/nginx end to end (${kind}): register → agent → nginx → expiry`, { skip }, () => {
    const cleanups: (() => Promise<unknown>)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    });

    it('routes to a registered backend, and stops when its registration expires', async () => {
      const example: Example = await setUpExample('nginx');
      cleanups.push(() => example.cleanup());
      const store = await openStore(kind, example);
      cleanups.push(() => store.close());
      const nginxPort = await freePort();

      const agent: ManagedProcess = startProcess(process.execPath, [
        CAIRN_MAIN, 'agent', '--watch', '--confdir', example.confdir, ...store.agentArgs,
      ], { env: sbinEnv({ CAIRN_LOG_LEVEL: 'info' }) });
      cleanups.push(() => agent.kill('SIGTERM'));
      await store.ready();

      await store.put('/config/nginx/listen', `127.0.0.1:${nginxPort}`);
      const dest = example.resource.dest;
      await waitFor(() => {
        try {
          return readFileSync(dest, 'utf8').includes(`127.0.0.1:${nginxPort}`);
        } catch {
          return false;
        }
      }, { what: 'nginx.conf rendered with the listen address', timeoutMs: 30_000 });

      const nginx = startDaemon('nginx', ['-c', dest, '-p', example.runDir]);
      cleanups.push(() => nginx.stop());
      await waitFor(async () => (await httpGet(nginxPort, '/web/')).status === 503, { what: 'nginx up, no web instance yet', timeoutMs: 30_000 });

      const backend: Backend = await startBackend('web-1');
      cleanups.push(() => backend.close());
      const register = startProcess(process.execPath, [
        CAIRN_MAIN, 'register', ...store.registerArgs, '--key', '/services/web/host1', '--value', backend.address, '--ttl', '3',
      ]);
      cleanups.push(() => register.kill('SIGKILL'));
      await waitFor(async () => {
        const res = await httpGet(nginxPort, '/web/hello');
        return res.status === 200 && res.body === 'web-1 /web/hello';
      }, { what: 'a request through nginx to reach the registered backend', timeoutMs: 30_000 });

      // The service dies without deregistering: no SIGTERM, so the key is left to expire.
      await register.kill('SIGKILL');
      await waitFor(() => !readFileSync(dest, 'utf8').includes(backend.address), {
        what: 'the agent to render the config without the expired backend',
        timeoutMs: 30_000,
      });
      // During a reload an old worker may still answer a request or two; wait for three 503s in a row.
      let streak = 0;
      await waitFor(async () => {
        streak = (await httpGet(nginxPort, '/web/hello')).status === 503 ? streak + 1 : 0;
        return streak >= 3;
      }, { what: 'nginx to stop routing to the expired backend', timeoutMs: 30_000 });
      assert.match(agent.output(), /"reloaded"/, 'the agent reloaded nginx');
      assert.equal(agent.child.exitCode, null, 'the agent is still running');
    });
  });
}
