import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeWorkspace, runAgentOnce, type Workspace } from '../support/agent.js';

const UPSTREAM = `upstream web {
{{#each (getvs "/services/web/*")}}
  server {{this}};
{{/each}}
}
`;

function fileBackend(ws: Workspace, data: string): string[] {
  const path = join(ws.root, 'data.yaml');
  writeFileSync(path, data);
  return ['--confdir', ws.confdir, '--backend', 'file', '--file', path, '--onetime', '--log-level', 'error'];
}

describe('cairn agent --onetime', () => {
  const workspaces: Workspace[] = [];
  const workspace = (): Workspace => {
    const ws = makeWorkspace();
    workspaces.push(ws);
    return ws;
  };
  after(() => workspaces.forEach((ws) => ws.remove()));

  it('renders, checks the staged file, swaps it in, reloads once, and exits 0', async () => {
    const ws = workspace();
    ws.template('web.hbs', UPSTREAM);
    ws.resource('web', `[template]
src = "web.hbs"
dest = "@OUT@/web.conf"
keys = ["/services/web"]
check_cmd = "grep -q 'server' {{.src}} && echo check {{.src}} >> @OUT@/trace"
reload_cmd = "echo reload {{.dest}} >> @OUT@/trace"
`);
    const run = await runAgentOnce(fileBackend(ws, 'services:\n  web:\n    b: 10.0.0.2:80\n    a: 10.0.0.1:80\n'));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(ws.read('web.conf'), 'upstream web {\n  server 10.0.0.1:80;\n  server 10.0.0.2:80;\n}\n');
    const trace = ws.lines('trace');
    assert.equal(trace.length, 2);
    assert.match(trace[0] ?? '', new RegExp(`^check ${ws.out}/\\.web\\.conf\\.cairn-[0-9a-f]+$`), 'check_cmd sees the stage file beside dest');
    assert.equal(trace[1], `reload ${ws.out}/web.conf`);
    assert.equal(statSync(join(ws.out, 'web.conf')).mode & 0o777, 0o644, 'a new file gets 0644');
    assert.deepEqual(readdirSync(ws.out).filter((f) => f.startsWith('.')), [], 'no stage file is left behind');

    const again = await runAgentOnce(fileBackend(ws, 'services:\n  web:\n    a: 10.0.0.1:80\n    b: 10.0.0.2:80\n'));
    assert.equal(again.code, 0, again.stderr);
    assert.equal(ws.lines('trace').length, 2, 'identical data in another order neither checks nor reloads');
  });

  it('a failing check keeps the live file, removes the stage file, exits 1 and names the resource', async () => {
    const ws = workspace();
    ws.template('web.hbs', UPSTREAM);
    ws.resource('web', `[template]
src = "web.hbs"
dest = "@OUT@/web.conf"
keys = ["/services/web"]
check_cmd = "! grep -q 'bad' {{.src}} || { echo 'config rejected' >&2; exit 7; }"
reload_cmd = "echo reload >> @OUT@/trace"
`);
    assert.equal((await runAgentOnce(fileBackend(ws, 'services:\n  web:\n    a: good:80\n'))).code, 0);
    const good = ws.read('web.conf');
    const run = await runAgentOnce(fileBackend(ws, 'services:\n  web:\n    a: bad:80\n'));
    assert.equal(run.code, 1);
    assert.match(run.stderr, /FAILED web .*check.*exit status 7/);
    assert.match(run.stderr, /config rejected/);
    assert.equal(ws.read('web.conf'), good);
    assert.equal(ws.lines('trace').length, 1, 'no reload after a failed check');
    assert.deepEqual(readdirSync(ws.out).filter((f) => f.startsWith('.')), []);

    const kept = await runAgentOnce([...fileBackend(ws, 'services:\n  web:\n    a: bad:80\n'), '--keep-stage-file']);
    assert.equal(kept.code, 1);
    assert.equal(readdirSync(ws.out).filter((f) => f.startsWith('.web.conf.cairn-')).length, 1, '--keep-stage-file keeps it for inspection');
  });

  it('one broken resource or template fails alone; the others still render', async () => {
    const ws = workspace();
    ws.template('good.hbs', 'port={{getv "/app/port"}}\n');
    ws.template('broken.hbs', '{{#each}}\n');
    ws.resource('a-good', '[template]\nsrc = "good.hbs"\ndest = "@OUT@/good.conf"\nkeys = ["/app"]\n');
    ws.resource('b-typo', '[template]\nsrc = "good.hbs"\ndest = "@OUT@/typo.conf"\nkeys = ["/app"]\nreload_command = "true"\n');
    ws.resource('c-broken', '[template]\nsrc = "broken.hbs"\ndest = "@OUT@/broken.conf"\nkeys = ["/app"]\n');
    ws.resource('d-missing', '[template]\nsrc = "good.hbs"\ndest = "@OUT@/missing.conf"\nkeys = ["/other"]\nprefix = "/nothing"\n');
    const run = await runAgentOnce(fileBackend(ws, 'app:\n  port: 8080\n'));
    assert.equal(run.code, 1);
    assert.equal(ws.read('good.conf'), 'port=8080\n');
    assert.match(run.stderr, /b-typo\.toml:5: unknown field "reload_command".*reload_cmd/);
    assert.match(run.stderr, /FAILED c-broken .*at load: .*broken\.hbs:2: syntax error/);
    assert.match(run.stderr, /FAILED d-missing .*good\.hbs:1: key "\/app\/port" does not exist/);
    assert.match(run.stderr, /4 resources: 1 updated, 0 unchanged, 3 failed/);
    assert.equal(ws.read('missing.conf'), undefined);
  });

  it('--noop prints a unified diff and the keys, and writes nothing', async () => {
    const ws = workspace();
    ws.template('web.hbs', UPSTREAM);
    ws.resource('web', '[template]\nsrc = "web.hbs"\ndest = "@OUT@/web.conf"\nkeys = ["/services/web"]\nreload_cmd = "echo reload >> @OUT@/trace"\n');
    writeFileSync(join(ws.out, 'web.conf'), 'upstream web {\n  server 10.0.0.1:80;\n}\n');
    const run = await runAgentOnce([...fileBackend(ws, 'services:\n  web:\n    a: 10.0.0.1:80\n    b: 10.0.0.2:80\n'), '--noop']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /# web: .*web\.conf would change \(keys: \/services\/web\)/);
    assert.match(run.stdout, /^\+  server 10\.0\.0\.2:80;$/m);
    assert.equal(ws.read('web.conf'), 'upstream web {\n  server 10.0.0.1:80;\n}\n');
    assert.equal(ws.read('trace'), undefined);
  });

  it('--sync-only writes without running check or reload; a resource mode is applied exactly', async () => {
    const ws = workspace();
    ws.template('t.hbs', '{{getv "/k"}}\n');
    ws.resource('t', '[template]\nsrc = "t.hbs"\ndest = "@OUT@/t.conf"\nkeys = ["/k"]\nmode = "0600"\ncheck_cmd = "false"\nreload_cmd = "echo reload >> @OUT@/trace"\n');
    const run = await runAgentOnce([...fileBackend(ws, 'k: v\n'), '--sync-only']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(ws.read('t.conf'), 'v\n');
    assert.equal(statSync(join(ws.out, 't.conf')).mode & 0o777, 0o600);
    assert.equal(ws.read('trace'), undefined);
  });

  it('runs a reload command shared by several changed resources once', async () => {
    const ws = workspace();
    ws.template('t.hbs', '{{getv "/k"}}\n');
    for (const name of ['one', 'two', 'three']) {
      ws.resource(name, `[template]\nsrc = "t.hbs"\ndest = "@OUT@/${name}.conf"\nkeys = ["/k"]\nreload_cmd = "echo reload >> @OUT@/trace"\n`);
    }
    const run = await runAgentOnce(fileBackend(ws, 'k: v\n'));
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(ws.lines('trace'), ['reload']);
  });

  it('kills a check command that hangs past check_timeout', async () => {
    const ws = workspace();
    ws.template('t.hbs', '{{getv "/k"}}\n');
    ws.resource('t', '[template]\nsrc = "t.hbs"\ndest = "@OUT@/t.conf"\nkeys = ["/k"]\ncheck_cmd = "sleep 120"\ncheck_timeout = "1s"\n');
    const run = await runAgentOnce(fileBackend(ws, 'k: v\n'));
    assert.equal(run.code, 1);
    assert.match(run.stderr, /killed after 1000 ms/);
    assert.equal(existsSync(join(ws.out, 't.conf')), false);
  });

  it('reads confd-style single-dash flags, and exits 2 on a bad setting', async () => {
    const ws = workspace();
    ws.template('t.hbs', '{{getv "/k"}}\n');
    ws.resource('t', '[template]\nsrc = "t.hbs"\ndest = "@OUT@/t.conf"\nkeys = ["/k"]\n');
    const data = join(ws.root, 'd.json');
    writeFileSync(data, '{"k": "from-json"}');
    const run = await runAgentOnce(['-confdir', ws.confdir, '-backend', 'file', '-file', data, '-onetime', '-log-level', 'error']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(ws.read('t.conf'), 'from-json\n');
    const bad = await runAgentOnce(['--confdir', ws.confdir, '--backend', 'zookeeper', '--onetime']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /backend must be one of embedded, etcd, etcdv3, file, env/);
    const noConfd = await runAgentOnce(['--confdir', join(ws.root, 'nope'), '--backend', 'env', '--onetime', '--log-level', 'error']);
    assert.equal(noConfd.code, 2);
    assert.match(noConfd.stderr, /conf\.d/);
  });

  it('reads keys from the environment with the env backend', async () => {
    const ws = workspace();
    ws.template('t.hbs', 'host={{getv "/database/host"}} port={{getv "/database/port" "5432"}}\n');
    ws.resource('t', '[template]\nsrc = "t.hbs"\ndest = "@OUT@/t.conf"\nkeys = ["/database"]\n');
    const run = await runAgentOnce(['--confdir', ws.confdir, '--backend', 'env', '--onetime', '--log-level', 'error'], { DATABASE_HOST: 'db.internal' });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(ws.read('t.conf'), 'host=db.internal port=5432\n');
  });
});

describe('cairn agent --interval', () => {
  it('polls the backend and renders what changed at the next tick', async () => {
    const { makeWorkspace: make, startAgent } = await import('../support/agent.js');
    const { waitFor } = await import('../support/wait.js');
    const ws = make();
    try {
      ws.template('t.hbs', '{{getv "/k"}}\n');
      ws.resource('t', '[template]\nsrc = "t.hbs"\ndest = "@OUT@/t.conf"\nkeys = ["/k"]\n');
      const data = join(ws.root, 'data.yaml');
      writeFileSync(data, 'k: one\n');
      const agent = await startAgent(ws, ['--backend', 'file', '--file', data, '--interval', '1']);
      try {
        await waitFor(() => ws.read('t.conf') === 'one\n', { what: 'first pass' });
        writeFileSync(data, 'k: two\n');
        await waitFor(() => ws.read('t.conf') === 'two\n', { what: 'a later pass to see the change' });
      } finally {
        assert.equal(await agent.stop(), 0);
      }
    } finally {
      ws.remove();
    }
  });
});
