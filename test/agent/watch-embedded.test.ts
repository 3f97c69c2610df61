import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { makeWorkspace, startAgent, type RunningAgent, type Workspace } from '../support/agent.js';
import { waitFor } from '../support/wait.js';

const LIST = '{{#each (gets "/*")}}{{base Key}}={{Value}}\n{{/each}}';

async function put(url: string, key: string, form: Record<string, string>, query = ''): Promise<number> {
  const res = await fetch(`${url}/v2/keys${key}${query}`, { method: 'PUT', body: new URLSearchParams(form) });
  await res.text();
  return res.status;
}

async function storeIndex(url: string): Promise<number> {
  const res = await fetch(`${url}/v2/keys/`);
  await res.text();
  return Number(res.headers.get('x-etcd-index'));
}

describe('cairn agent --watch with the embedded store', () => {
  const workspaces: Workspace[] = [];
  const agents: RunningAgent[] = [];
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    workspaces.forEach((ws) => ws.remove());
  });
  const start = async (ws: Workspace, args: string[] = []): Promise<RunningAgent> => {
    const agent = await startAgent(ws, ['--watch', ...args]);
    agents.push(agent);
    await waitFor(async () => (await fetch(`${agent.url}/health`)).ok, { what: 'the embedded store', timeoutMs: 30_000 });
    return agent;
  };
  const workspace = (): Workspace => {
    const ws = makeWorkspace();
    workspaces.push(ws);
    return ws;
  };

  it('renders each change, only for the resources that read it; TTL expiry drops a key; heartbeats cause no render', async () => {
    const ws = workspace();
    // The timestamp makes every render differ, so a render that should not happen shows up as a reload.
    ws.template('list.hbs', `${LIST}# {{datetime "15:04:05.000"}}\n`);
    const reload = (name: string): string => `reload_cmd = "echo ${name} $(grep -c = {{.dest}}) >> @OUT@/reloads"`;
    ws.resource('web', `[template]\nsrc = "list.hbs"\ndest = "@OUT@/web.conf"\nprefix = "/services/web"\nkeys = ["/"]\n${reload('web')}\n`);
    ws.resource('db', `[template]\nsrc = "list.hbs"\ndest = "@OUT@/db.conf"\nprefix = "/services/db"\nkeys = ["/"]\n${reload('db')}\n`);
    const body = (name: string): string | undefined => ws.read(name)?.replace(/# .*\n$/, '');
    const agent = await start(ws);
    await waitFor(() => body('web.conf') === '' && body('db.conf') === '', { what: 'first render of empty prefixes' });
    await waitFor(() => ws.lines('reloads').length === 2, { what: 'the reloads of the first render' });

    await put(agent.url, '/services/web/a', { value: '10.0.0.1:80' });
    await waitFor(() => body('web.conf') === 'a=10.0.0.1:80\n', { what: 'web to render a' });
    await put(agent.url, '/services/web/b', { value: '10.0.0.2:80', ttl: '3' });
    await waitFor(() => body('web.conf') === 'a=10.0.0.1:80\nb=10.0.0.2:80\n', { what: 'web to render b' });
    await waitFor(() => ws.lines('reloads').includes('web 2'), { what: 'the reload after b' });
    const reloadsBefore = ws.lines('reloads').length;
    assert.deepEqual(ws.lines('reloads').slice(2), ['web 1', 'web 2']);

    // A heartbeat refreshes a's TTL: no render. Then b expires: one render.
    assert.equal(await put(agent.url, '/services/web/a', { ttl: '60', refresh: 'true', prevExist: 'true' }), 200);
    await waitFor(() => body('web.conf') === 'a=10.0.0.1:80\n', { what: 'b to expire out of web.conf', timeoutMs: 30_000 });
    await waitFor(() => ws.lines('reloads').length > reloadsBefore, { what: 'the reload after the expiry' });
    assert.deepEqual(ws.lines('reloads').slice(reloadsBefore), ['web 1'], 'one render for the expiry, none for the heartbeat');
    assert.deepEqual(ws.lines('reloads').filter((l) => l.startsWith('db')), ['db 0'], 'db rendered once: its keys never changed');
  });

  it('a burst of 200 writes always ends with the final value rendered', async () => {
    const ws = workspace();
    ws.template('v.hbs', '{{getv "/counter" "none"}}\n');
    ws.resource('v', '[template]\nsrc = "v.hbs"\ndest = "@OUT@/v.conf"\nkeys = ["/counter"]\n');
    const agent = await start(ws);
    await waitFor(() => ws.read('v.conf') === 'none\n', { what: 'first render' });
    for (let round = 0; round < 3; round++) {
      const writes = [];
      for (let i = 1; i <= 200; i++) writes.push(put(agent.url, '/counter', { value: `${round}-${i}` }));
      // Fired concurrently: the store orders them; the last one applied is the one that must land.
      await Promise.all(writes);
      const res = await fetch(`${agent.url}/v2/keys/counter`);
      const final = ((await res.json()) as { node: { value: string } }).node.value;
      await waitFor(() => ws.read('v.conf') === `${final}\n`, { what: `round ${round}: final value ${final} rendered`, timeoutMs: 30_000 });
    }
  });

  it('--wait turns a burst into one render and one reload', async () => {
    const ws = workspace();
    ws.template('v.hbs', '{{#each (getvs "/burst/*")}}{{this}}\n{{/each}}');
    ws.resource('v', '[template]\nsrc = "v.hbs"\ndest = "@OUT@/v.conf"\nkeys = ["/burst"]\nreload_cmd = "echo $(wc -l < {{.dest}}) >> @OUT@/reloads"\n');
    // A quiet period far longer than the gaps of a loopback burst, and a generous maximum.
    const agent = await start(ws, ['--wait', '3s:60s']);
    await put(agent.url, '/burst/seed', { value: 'seed' });
    await waitFor(() => ws.lines('reloads').includes('1'), { what: 'seed rendered and reloaded', timeoutMs: 30_000 });
    const before = ws.lines('reloads').length;
    const writes = [];
    for (let i = 0; i < 200; i++) writes.push(put(agent.url, `/burst/k${String(i).padStart(3, '0')}`, { value: `v${i}` }));
    await Promise.all(writes);
    await waitFor(() => ws.lines('reloads').includes('201'), { what: 'the whole burst rendered and reloaded', timeoutMs: 60_000 });
    assert.deepEqual(ws.lines('reloads').slice(before), ['201'], 'one render and one reload for the whole burst');
    const expected = `${['seed', ...Array.from({ length: 200 }, (_, i) => `v${i}`)].sort().join('\n')}\n`;
    assert.equal(ws.read('v.conf'), expected);
  });

  it('retries a resource whose check failed, and keeps the live file meanwhile', async () => {
    const ws = workspace();
    ws.template('v.hbs', 'value={{getv "/app/value"}}\n');
    ws.resource('v', `[template]\nsrc = "v.hbs"\ndest = "@OUT@/v.conf"\nkeys = ["/app"]\ncheck_cmd = "! grep -q broken {{.src}} && test ! -e @OUT@/refuse"\n`);
    const agent = await start(ws);
    await put(agent.url, '/app/value', { value: 'one' });
    await waitFor(() => ws.read('v.conf') === 'value=one\n', { what: 'first value' });
    await put(agent.url, '/app/value', { value: 'broken' });
    await waitFor(() => /check_cmd failed/.test(agent.process.output()), { what: 'the failed check to be logged' });
    assert.equal(ws.read('v.conf'), 'value=one\n', 'a failed check never replaces the live file');
    await put(agent.url, '/app/value', { value: 'two' });
    await waitFor(() => ws.read('v.conf') === 'value=two\n', { what: 'the next change to render' });

    // A check that fails for reasons outside the keys: retried on a timer, without any new change.
    const { writeFileSync, rmSync } = await import('node:fs');
    writeFileSync(`${ws.out}/refuse`, '');
    await put(agent.url, '/app/value', { value: 'three' });
    await waitFor(() => (agent.process.output().match(/check_cmd failed/g) ?? []).length >= 2, { what: 'the second failed check' });
    rmSync(`${ws.out}/refuse`);
    await waitFor(() => ws.read('v.conf') === 'value=three\n', { what: 'the retry to land', timeoutMs: 30_000 });
    assert.equal(agent.process.child.exitCode, null, 'the agent is still running');
  });

  it('picks up new and edited resources and templates on the fly, and rejects broken ones', async () => {
    const ws = workspace();
    ws.template('a.hbs', 'a={{getv "/k" "unset"}}\n');
    ws.resource('a', '[template]\nsrc = "a.hbs"\ndest = "@OUT@/a.conf"\nkeys = ["/k"]\n');
    const agent = await start(ws);
    await waitFor(() => ws.read('a.conf') === 'a=unset\n', { what: 'a rendered' });

    ws.template('b.hbs', 'b={{getv "/k" "unset"}}\n');
    ws.resource('b', '[template]\nsrc = "b.hbs"\ndest = "@OUT@/b.conf"\nkeys = ["/k"]\n');
    await waitFor(() => ws.read('b.conf') === 'b=unset\n', { what: 'a new resource to render without a restart' });

    ws.template('a.hbs', 'A={{getv "/k" "unset"}}\n');
    await waitFor(() => ws.read('a.conf') === 'A=unset\n', { what: 'an edited template to render' });

    ws.template('a.hbs', 'A={{#if}}\n');
    await waitFor(() => /template resource rejected.*a\.hbs/.test(agent.process.output()), { what: 'the broken template to be rejected' });
    await put(agent.url, '/k', { value: 'v1' });
    await waitFor(() => ws.read('a.conf') === 'A=v1\n' && ws.read('b.conf') === 'b=v1\n', { what: 'the previous template to keep serving' });

    ws.resource('b', '[template]\nsrc = "b.hbs"\ndest = "@OUT@/b.conf"\nkeys = ["/k"]\nmode = "rw-r--r--"\n');
    await waitFor(() => /b\.toml:5: .*mode/.test(agent.process.output()), { what: 'the broken resource file to be rejected' });
    await put(agent.url, '/k', { value: 'v2' });
    await waitFor(() => ws.read('b.conf') === 'b=v2\n', { what: 'the previous version of b to keep serving' });

    agent.process.child.kill('SIGHUP');
    await waitFor(() => /SIGHUP: reloading/.test(agent.process.output()), { what: 'SIGHUP to reload' });
    await put(agent.url, '/k', { value: 'v3' });
    await waitFor(() => ws.read('a.conf') === 'A=v3\n', { what: 'rendering after SIGHUP' });
    assert.equal(agent.process.child.exitCode, null);
  });

  it('keeps working and exits 0 on SIGTERM even when every reload fails', async () => {
    const ws = workspace();
    ws.template('v.hbs', '{{getv "/k" "-"}}\n');
    ws.resource('v', '[template]\nsrc = "v.hbs"\ndest = "@OUT@/v.conf"\nkeys = ["/k"]\nreload_cmd = "exit 3"\n');
    const agent = await start(ws);
    const index = await storeIndex(agent.url);
    await put(agent.url, '/k', { value: `x${index}` });
    await waitFor(() => ws.read('v.conf') === `x${index}\n`, { what: 'render' });
    await waitFor(() => /reload_cmd failed \(exit status 3\)/.test(agent.process.output()), { what: 'the failed reload to be logged' });
    assert.equal(await agent.stop(), 0);
  });
});

describe('cairn agent --watch, other cases', () => {
  it('with --interval, reconciles: a hand-edited dest is put back', async () => {
    const ws = makeWorkspace();
    ws.template('v.hbs', 'value={{getv "/k" "unset"}}\n');
    ws.resource('v', '[template]\nsrc = "v.hbs"\ndest = "@OUT@/v.conf"\nkeys = ["/k"]\n');
    const agent = await startAgent(ws, ['--watch', '--interval', '1']);
    try {
      await waitFor(() => ws.read('v.conf') === 'value=unset\n', { what: 'first render', timeoutMs: 30_000 });
      const { writeFileSync } = await import('node:fs');
      writeFileSync(`${ws.out}/v.conf`, 'edited by hand\n');
      await waitFor(() => ws.read('v.conf') === 'value=unset\n', { what: 'the reconciliation to restore the file', timeoutMs: 30_000 });
    } finally {
      await agent.stop();
      ws.remove();
    }
  });

  it('with the env backend, renders once and says the environment does not change', async () => {
    const ws = makeWorkspace();
    ws.template('v.hbs', 'host={{getv "/app/host"}}\n');
    ws.resource('v', '[template]\nsrc = "v.hbs"\ndest = "@OUT@/v.conf"\nkeys = ["/app"]\n');
    const agent = await startAgent(ws, ['--watch', '--backend', 'env'], { APP_HOST: 'db.internal' });
    try {
      await waitFor(() => ws.read('v.conf') === 'host=db.internal\n', { what: 'the one render', timeoutMs: 30_000 });
      await waitFor(() => /this backend never changes/.test(agent.process.output()), { what: 'the warning' });
      assert.equal(agent.process.child.exitCode, null, 'still running: template edits are still picked up');
    } finally {
      await agent.stop();
      ws.remove();
    }
  });
});
