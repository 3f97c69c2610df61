import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { CAIRN_MAIN } from '../support/cairn.js';
import { freePort } from '../support/ports.js';
import { startProcess, type ManagedProcess } from '../support/process.js';
import { sbinEnv, skipUnlessSbin } from '../support/sbin-tools.js';
import { waitFor } from '../support/wait.js';
import { httpGet, setUpExample, startBackend, startDaemon, type Backend, type Example } from './example-harness.js';

/**
 * The whole loop with real parts: a service registers itself with a TTL key,
 * the agent (embedded store, watch mode) renders nginx's config from the
 * examples/nginx resource, checks it with nginx -t and reloads a real nginx;
 * traffic flows; the service stops heart-beating, its key expires, and nginx
 * stops routing to it.
 */
describe('examples/nginx end to end: register → agent → nginx → expiry', { skip: skipUnlessSbin('nginx') }, () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it('routes to a registered backend, and stops when its registration expires', async () => {
    const example: Example = await setUpExample('nginx');
    cleanups.push(() => example.cleanup());
    const storePort = await freePort();
    const store = `http://127.0.0.1:${storePort}`;
    const nginxPort = await freePort();

    const agent: ManagedProcess = startProcess(process.execPath, [
      CAIRN_MAIN, 'agent', '--watch', '--confdir', example.confdir,
      '--data-dir', `${example.runDir}/store`, '--listen-client-urls', store,
    ], { env: sbinEnv({ CAIRN_LOG_LEVEL: 'info' }) });
    cleanups.push(() => agent.kill('SIGTERM'));
    await waitFor(async () => (await fetch(`${store}/health`)).ok, { what: 'the embedded store', timeoutMs: 30_000 });

    const listen = await fetch(`${store}/v2/keys/config/nginx/listen`, { method: 'PUT', body: new URLSearchParams({ value: `127.0.0.1:${nginxPort}` }) });
    assert.equal(listen.status, 201);
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
      CAIRN_MAIN, 'register', '--endpoints', store, '--key', '/services/web/host1', '--value', backend.address, '--ttl', '3',
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
