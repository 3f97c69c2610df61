import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../support/ports.js';
import { sbinTool, skipUnlessSbin } from '../support/sbin-tools.js';
import { waitFor } from '../support/wait.js';
import {
  REPO_ROOT, exampleRunDir, httpGet, isSorted, reorderings, setUpExample, startBackend, startDaemon, type Example,
} from './example-harness.js';

// examples/haproxy renders a whole haproxy.cfg; haproxy itself is the judge
// of every rendering, and a real haproxy proves that the documented start and
// reload commands do what the README says.

const LISTEN = { '/config/haproxy/listen': '127.0.0.1:18081' };

const ONE_SERVICE = {
  ...LISTEN,
  // Key order and value order differ: servers come in key order (gets).
  '/services/web/host1': '10.0.0.9:8080',
  '/services/web/host2': '10.0.0.10:8080',
  '/services/web/host3': '10.0.0.1:8080',
};

const SEVERAL = {
  ...LISTEN,
  '/services/web/a': '10.0.0.1:8080',
  '/services/web/b': '10.0.0.2:8080',
  '/services/api/v1': '10.0.1.1:9000',
  '/services/db-replica/r1': '10.0.2.1:5432',
  // Only deeper keys: no instances, so no backend and no rule.
  '/services/meta/owner/team': 'platform',
  // Outside the resource's keys: the agent never reads it.
  '/elsewhere/web/x': 'not an address',
};

const ODD_BUT_VALID = {
  ...LISTEN,
  '/services/web.v2/host1.example.com:8080': 'localhost:8080',
  '/services/web.v2/node_2': '[::1]:8081',
  '/services/web.v2/trailing-space': '127.0.0.1:8082 ',
  '/services/Api_Internal/a-1': '127.0.0.1:65535',
};

/** backend name → [server name, address] pairs, in output order (the fallback backend excluded). */
function backends(config: string): Map<string, [string, string][]> {
  const out = new Map<string, [string, string][]>();
  for (const m of config.matchAll(/^backend (\S+)\n {4}balance roundrobin\n((?: {4}server [^\n]*\n)*)/gm)) {
    out.set(m[1]!, [...m[2]!.matchAll(/server (\S+) (.*) check/g)].map((s) => [s[1]!, s[2]!]));
  }
  return out;
}

/** The backends that use_backend rules name, in output order. */
function rules(config: string): string[] {
  return [...config.matchAll(/^ {4}use_backend (\S+) if \{ path \/(\S+) \} \|\| \{ path_beg \/(\S+)\/ \}$/gm)].map((m) => {
    assert.equal(m[2], m[1]);
    assert.equal(m[3], m[1]);
    return m[1]!;
  });
}

describe('examples/haproxy', { skip: skipUnlessSbin('haproxy') }, () => {
  let example: Example;
  before(async () => {
    example = await setUpExample('haproxy');
  });
  after(() => example.cleanup());

  test('the resource reads /services and /config/haproxy, and checks the staged file with haproxy -c', () => {
    const r = example.resource;
    assert.equal(r.dest, join(example.runDir, 'haproxy.cfg'));
    assert.deepEqual(r.backendKeys, ['/services', '/config/haproxy']);
    assert.equal(r.checkCmd, 'haproxy -c -f {{.src}}');
    assert.equal(r.reloadCmd, `kill -USR2 "$(cat ${example.runDir}/haproxy.pid)"`);
  });

  test('the README shows the resource commands as they are', async () => {
    const readme = await readFile(join(REPO_ROOT, 'examples/haproxy/README.md'), 'utf8');
    for (const command of [example.resource.checkCmd!, example.resource.reloadCmd!]) {
      assert.ok(readme.includes(command.replaceAll(example.runDir, exampleRunDir('haproxy'))), command);
    }
  });

  test('the backends partial is the same file as templates/haproxy-backends.hbs', async () => {
    assert.equal(
      await readFile(join(REPO_ROOT, 'examples/haproxy/templates/haproxy-backends.hbs'), 'utf8'),
      await readFile(join(REPO_ROOT, 'templates/haproxy-backends.hbs'), 'utf8'),
    );
  });

  test('no services: a valid config that answers 503', async () => {
    const { code, output, rendered } = await example.check(LISTEN);
    assert.equal(code, 0, output);
    assert.match(output, /Configuration file is valid/);
    assert.deepEqual(backends(rendered), new Map());
    assert.deepEqual(rules(rendered), []);
    assert.match(rendered, /default_backend cairn-no-instance\n/);
  });

  test('the listen address is /config/haproxy/listen, 127.0.0.1:8081 without it', async () => {
    assert.match(example.render(LISTEN), /^ {4}bind 127\.0\.0\.1:18081$/m);
    const { code, output, rendered } = await example.check({});
    assert.equal(code, 0, output);
    assert.match(rendered, /^ {4}bind 127\.0\.0\.1:8081$/m);
  });

  test('one service with three instances', async () => {
    const { code, output, rendered } = await example.check(ONE_SERVICE);
    assert.equal(code, 0, output);
    assert.deepEqual(
      backends(rendered),
      new Map([['web', [['host1', '10.0.0.9:8080'], ['host2', '10.0.0.10:8080'], ['host3', '10.0.0.1:8080']]]]),
    );
    assert.deepEqual(rules(rendered), ['web']);
  });

  test('several services, sorted by name; a service without direct instances is left out', async () => {
    const { code, output, rendered } = await example.check(SEVERAL);
    assert.equal(code, 0, output);
    assert.deepEqual(
      backends(rendered),
      new Map([
        ['api', [['v1', '10.0.1.1:9000']]],
        ['db-replica', [['r1', '10.0.2.1:5432']]],
        ['web', [['a', '10.0.0.1:8080'], ['b', '10.0.0.2:8080']]],
      ]),
    );
    assert.deepEqual(rules(rendered), ['api', 'db-replica', 'web']);
    assert.ok(!rendered.includes('meta') && !rendered.includes('not an address'), rendered);
  });

  test('odd but valid names and values: host names, IPv6, a trailing space, dots and colons', async () => {
    const { code, output, rendered } = await example.check(ODD_BUT_VALID);
    assert.equal(code, 0, output);
    assert.deepEqual(
      backends(rendered),
      new Map([
        ['Api_Internal', [['a-1', '127.0.0.1:65535']]],
        ['web.v2', [['host1.example.com:8080', 'localhost:8080'], ['node_2', '[::1]:8081'], ['trailing-space', '127.0.0.1:8082 ']]],
      ]),
    );
    assert.deepEqual(rules(rendered), ['Api_Internal', 'web.v2']);
  });

  test('a value or name haproxy cannot take fails the real check, so it never reaches the live file', async () => {
    for (const [key, value, complaint] of [
      ['/services/web/host2', '10.0.0.5:notaport', /invalid character 'n' in port number/],
      ['/services/web/host2', '10.0.0.5:8080 evil', /unknown keyword 'evil'/],
      ['/services/web/a@b', '10.0.0.5:8080', /character '@' is not permitted in server name/],
      ['/services/my web/a', '10.0.0.5:8080', /ALERT/],
    ] as const) {
      const { code, output } = await example.check({ ...ONE_SERVICE, [key]: value });
      assert.notEqual(code, 0, `${key} = ${value} was accepted:\n${output}`);
      assert.match(output, complaint);
    }
  });

  test('the same data in any order renders the same bytes, every list sorted', () => {
    for (const data of [ONE_SERVICE, SEVERAL, ODD_BUT_VALID]) {
      const expected = example.render(data);
      for (const order of reorderings(data)) assert.equal(example.render(order), expected);
      assert.ok(isSorted([...backends(expected).keys()]));
      for (const servers of backends(expected).values()) assert.ok(isSorted(servers.map(([name]) => name)));
      assert.ok(isSorted(rules(expected)));
    }
  });

  test('a real haproxy proxies to the registered backend, and after a reload to both', async (t) => {
    const haproxy = sbinTool('haproxy')!;
    const one = await startBackend('backend-one');
    t.after(() => one.close());
    const two = await startBackend('backend-two');
    t.after(() => two.close());
    const port = await freePort();
    const listen = { '/config/haproxy/listen': `127.0.0.1:${port}` };
    const pidFile = join(example.runDir, 'haproxy.pid');

    await example.install({ ...listen, '/services/web/one': one.address });
    // The start command the README documents.
    const server = startDaemon(haproxy, ['-f', example.resource.dest, '-p', pidFile]);
    t.after(() => server.stop());
    const first = await waitFor(
      async () => {
        if (server.child.exitCode !== null) throw new Error(`haproxy exited:\n${server.output()}`);
        const res = await httpGet(port, '/web/hello');
        return res.status === 200 && res;
      },
      { what: 'haproxy to proxy /web/ to the first backend' },
    );
    assert.equal(first.body, 'backend-one /web/hello');
    assert.equal((await httpGet(port, '/nothing/here')).status, 503);
    const masterPid = (await readFile(pidFile, 'utf8')).trim();
    assert.equal(masterPid, String(server.child.pid));

    await example.install({ ...listen, '/services/web/one': one.address, '/services/web/two': two.address });
    const reload = await example.reload();
    assert.equal(reload.code, 0, reload.output);
    const seen = new Set<string>();
    await waitFor(
      async () => {
        seen.add((await httpGet(port, '/web/')).body);
        return seen.has('backend-one /web/') && seen.has('backend-two /web/');
      },
      { what: 'both backends to answer through haproxy after the reload' },
    );
    // A reload, not a restart: the same master kept running.
    assert.equal(server.child.exitCode, null, server.output());
    assert.equal((await readFile(pidFile, 'utf8')).trim(), masterPid);
  });
});
