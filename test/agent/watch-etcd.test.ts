import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { makeWorkspace, startAgent, type RunningAgent, type Workspace } from '../support/agent.js';
import { startCairn, type CairnServer } from '../support/cairn.js';
import { startEtcd, type EtcdServer } from '../support/etcd.js';
import { freePort } from '../support/ports.js';
import { skipUnless } from '../support/require-tool.js';
import { waitFor } from '../support/wait.js';

async function put(url: string, key: string, value: string): Promise<void> {
  const res = await fetch(`${url}/v2/keys${key}`, { method: 'PUT', body: new URLSearchParams({ value }) });
  await res.text();
  assert.ok(res.ok, `PUT ${key}: ${res.status}`);
}

function valueResource(ws: Workspace): void {
  ws.template('v.hbs', '{{getv "/app/value" "unset"}}\n');
  ws.resource('v', '[template]\nsrc = "v.hbs"\ndest = "@OUT@/v.conf"\nkeys = ["/app"]\n');
}

describe('cairn agent --watch --backend etcd', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const agentOn = async (endpoints: string[]): Promise<{ ws: Workspace; agent: RunningAgent }> => {
    const ws = makeWorkspace();
    valueResource(ws);
    const agent = await startAgent(ws, ['--watch', '--backend', 'etcd', ...endpoints.flatMap((e) => ['--node', e])]);
    cleanups.push(async () => {
      await agent.stop();
      ws.remove();
    });
    return { ws, agent };
  };
  const cairn = async (): Promise<CairnServer> => {
    const server = await startCairn();
    cleanups.push(() => server.destroy());
    return server;
  };

  it('keeps the last good file through an outage, logs it once, and catches up after the store returns', async () => {
    const server = await cairn();
    await put(server.url, '/app/value', 'before');
    const { ws, agent } = await agentOn([server.url]);
    await waitFor(() => ws.read('v.conf') === 'before\n', { what: 'first render' });
    await server.stop();
    await waitFor(() => /backend unavailable/.test(agent.process.output()), { what: 'the outage to be logged' });
    assert.equal(ws.read('v.conf'), 'before\n', 'an outage never empties the file');
    await server.restart();
    await put(server.url, '/app/value', 'after');
    await waitFor(() => ws.read('v.conf') === 'after\n', { what: 'the change made after the outage', timeoutMs: 60_000 });
    assert.equal((agent.process.output().match(/backend unavailable; keeping/g) ?? []).length, 1, 'one error line per outage');
    assert.match(agent.process.output(), /backend reachable again/);
  });

  it('fails over to the next endpoint when the first one is down', async () => {
    const server = await cairn();
    const dead = `http://127.0.0.1:${await freePort()}`;
    await put(server.url, '/app/value', 'one');
    const { ws } = await agentOn([dead, server.url]);
    await waitFor(() => ws.read('v.conf') === 'one\n', { what: 'render through the second endpoint' });
    await put(server.url, '/app/value', 'two');
    await waitFor(() => ws.read('v.conf') === 'two\n', { what: 'watch through the second endpoint' });
  });

  for (const kind of ['cairn', 'etcd'] as const) {
    it(`lists again when the watch history is gone (${kind})`, { skip: kind === 'etcd' ? skipUnless('etcd') : false }, async () => {
      let url: string;
      if (kind === 'cairn') url = (await cairn()).url;
      else {
        const etcd: EtcdServer = await startEtcd();
        cleanups.push(() => etcd.stop());
        url = etcd.url;
      }
      await put(url, '/app/value', 'first');
      const { ws, agent } = await agentOn([url]);
      await waitFor(() => ws.read('v.conf') === 'first\n', { what: 'first render' });
      // Freeze the agent, then push its next index out of the 1000-event history.
      agent.process.child.kill('SIGSTOP');
      try {
        await put(url, '/app/value', 'second');
        for (let i = 0; i < 1100; i += 50) {
          await Promise.all(Array.from({ length: 50 }, (_, j) => put(url, `/elsewhere/k${i + j}`, 'x')));
        }
        await put(url, '/app/value', 'third');
      } finally {
        agent.process.child.kill('SIGCONT');
      }
      await waitFor(() => ws.read('v.conf') === 'third\n', { what: 'the value written after the history moved on', timeoutMs: 60_000 });
      assert.match(agent.process.output(), /watch history gone; listing again/);
    });
  }
});
