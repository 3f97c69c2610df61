import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { makeWorkspace, type Workspace } from '../support/agent.js';
import { CAIRN_MAIN } from '../support/cairn.js';
import { freePort } from '../support/ports.js';
import { startProcess, type ManagedProcess } from '../support/process.js';
import { waitFor } from '../support/wait.js';

/** "Several cairn serve or cairn agent processes form one cluster": three agents whose embedded stores are one Raft cluster. */
describe('cairn agent: embedded stores forming one cluster', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it('renders on every host a change written to any of them, and keeps going when one host dies', async () => {
    const names = ['h1', 'h2', 'h3'];
    const ports = await Promise.all(names.map(async () => ({ client: await freePort(), peer: await freePort() })));
    const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${ports[i]?.peer}`).join(',');
    const hosts: { ws: Workspace; url: string; proc: ManagedProcess }[] = [];
    for (const [i, name] of names.entries()) {
      const ws = makeWorkspace();
      ws.template('v.hbs', '{{#each (gets "/services/web/*")}}{{base Key}}={{Value}}\n{{/each}}');
      ws.resource('web', '[template]\nsrc = "web.hbs"\ndest = "@OUT@/web.conf"\nkeys = ["/services/web"]\n'.replace('web.hbs', 'v.hbs'));
      const url = `http://127.0.0.1:${ports[i]?.client}`;
      const peer = `http://127.0.0.1:${ports[i]?.peer}`;
      const proc = startProcess(process.execPath, [
        CAIRN_MAIN, 'agent', '--watch', '--confdir', ws.confdir,
        '--name', name, '--data-dir', `${ws.root}/data`,
        '--listen-client-urls', url, '--advertise-client-urls', url,
        '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
        '--initial-cluster', initialCluster, '--initial-cluster-token', 'agents',
      ], { env: { ...process.env, CAIRN_LOG_LEVEL: 'info' } });
      hosts.push({ ws, url, proc });
      cleanups.push(async () => {
        await proc.kill('SIGKILL');
        ws.remove();
      });
    }
    const put = async (url: string, key: string, value: string): Promise<void> => {
      await waitFor(async () => {
        const res = await fetch(`${url}/v2/keys${key}`, { method: 'PUT', body: new URLSearchParams({ value }) });
        await res.text();
        return res.ok;
      }, { what: `PUT ${key} on ${url}`, timeoutMs: 30_000 });
    };
    await put(hosts[1]!.url, '/services/web/a', '10.0.0.1:80');
    for (const host of hosts) {
      await waitFor(() => host.ws.read('web.conf') === 'a=10.0.0.1:80\n', { what: `${host.url} to render a`, timeoutMs: 30_000 });
    }
    await hosts[0]!.proc.kill('SIGKILL');
    await put(hosts[2]!.url, '/services/web/b', '10.0.0.2:80');
    for (const host of hosts.slice(1)) {
      await waitFor(() => host.ws.read('web.conf') === 'a=10.0.0.1:80\nb=10.0.0.2:80\n', { what: `${host.url} to render b`, timeoutMs: 30_000 });
    }
    assert.equal(hosts[1]!.proc.child.exitCode, null);
  });
});
