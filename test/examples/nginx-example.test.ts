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

// examples/nginx renders a whole nginx.conf; nginx itself is the judge of
// every rendering, and a real nginx proves that the documented start and
// reload commands do what the README says.

const LISTEN = { '/config/nginx/listen': '127.0.0.1:18080' };

const ONE_SERVICE = {
  ...LISTEN,
  // Key order, numeric order and string order all differ: servers come in string order of the value (getvs).
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
  // Only deeper keys: no instances, so no upstream and no location (nginx rejects an empty upstream).
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

/** upstream name → its server addresses, in output order. */
function upstreams(config: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of config.matchAll(/^ {4}upstream (\S+) \{\n((?: {8}server [^\n]*;\n)+) {4}\}\n/gm)) {
    out.set(m[1]!, [...m[2]!.matchAll(/server (.*);/g)].map((s) => s[1]!));
  }
  return out;
}

/** `location /<x>/ { proxy_pass http://<y>; }` pairs, in output order. */
function routes(config: string): [string, string][] {
  return [...config.matchAll(/location \/([^\s/]+)\/ \{\n\s+proxy_pass http:\/\/(\S+);/g)].map((m) => [m[1]!, m[2]!]);
}

describe('examples/nginx', { skip: skipUnlessSbin('nginx') }, () => {
  let example: Example;
  before(async () => {
    example = await setUpExample('nginx');
  });
  after(() => example.cleanup());

  test('the resource reads /services and /config/nginx, and checks the staged file with nginx -t', () => {
    const r = example.resource;
    assert.equal(r.dest, join(example.runDir, 'nginx.conf'));
    assert.deepEqual(r.backendKeys, ['/services', '/config/nginx']);
    assert.equal(r.checkCmd, `nginx -t -c {{.src}} -p ${example.runDir}`);
    assert.equal(r.reloadCmd, `nginx -s reload -c {{.dest}} -p ${example.runDir}`);
  });

  test('the README shows the resource commands as they are', async () => {
    const readme = await readFile(join(REPO_ROOT, 'examples/nginx/README.md'), 'utf8');
    for (const command of [example.resource.checkCmd!, example.resource.reloadCmd!]) {
      assert.ok(readme.includes(command.replaceAll(example.runDir, exampleRunDir('nginx'))), command);
    }
  });

  test('the upstream partial is the same file as templates/nginx-upstreams.hbs', async () => {
    assert.equal(
      await readFile(join(REPO_ROOT, 'examples/nginx/templates/nginx-upstreams.hbs'), 'utf8'),
      await readFile(join(REPO_ROOT, 'templates/nginx-upstreams.hbs'), 'utf8'),
    );
  });

  test('no services: a valid config that answers 503', async () => {
    const { code, output, rendered } = await example.check(LISTEN);
    assert.equal(code, 0, output);
    assert.match(output, /test is successful/);
    assert.deepEqual(upstreams(rendered), new Map());
    assert.deepEqual(routes(rendered), []);
    assert.match(rendered, /location \/ \{\n\s+return 503 /);
  });

  test('the listen address is /config/nginx/listen, 127.0.0.1:8080 without it', async () => {
    assert.match(example.render(LISTEN), /^ {8}listen 127\.0\.0\.1:18080;$/m);
    const { code, output, rendered } = await example.check({});
    assert.equal(code, 0, output);
    assert.match(rendered, /^ {8}listen 127\.0\.0\.1:8080;$/m);
  });

  test('one service with three instances', async () => {
    const { code, output, rendered } = await example.check(ONE_SERVICE);
    assert.equal(code, 0, output);
    assert.deepEqual(upstreams(rendered), new Map([['web', ['10.0.0.10:8080', '10.0.0.1:8080', '10.0.0.9:8080']]]));
    assert.deepEqual(routes(rendered), [['web', 'web']]);
  });

  test('several services, sorted by name; a service without direct instances is left out', async () => {
    const { code, output, rendered } = await example.check(SEVERAL);
    assert.equal(code, 0, output);
    assert.deepEqual(
      upstreams(rendered),
      new Map([
        ['api', ['10.0.1.1:9000']],
        ['db-replica', ['10.0.2.1:5432']],
        ['web', ['10.0.0.1:8080', '10.0.0.2:8080']],
      ]),
    );
    assert.deepEqual(routes(rendered), [['api', 'api'], ['db-replica', 'db-replica'], ['web', 'web']]);
    assert.ok(!rendered.includes('meta') && !rendered.includes('not an address'), rendered);
  });

  test('odd but valid names and values: host names, IPv6, a trailing space, dots and colons', async () => {
    const { code, output, rendered } = await example.check(ODD_BUT_VALID);
    assert.equal(code, 0, output);
    assert.deepEqual(
      upstreams(rendered),
      new Map([
        ['Api_Internal', ['127.0.0.1:65535']],
        ['web.v2', ['127.0.0.1:8082 ', '[::1]:8081', 'localhost:8080']],
      ]),
    );
  });

  test('a value that is not host:port fails the real check, so it never reaches the live file', async () => {
    for (const [key, value, complaint] of [
      ['/services/web/host2', '10.0.0.5:notaport', /invalid port in upstream "10\.0\.0\.5:notaport"/],
      ['/services/web/host2', '10.0.0.5:8080; evil', /unknown directive "evil"/],
      ['/services/my web/a', '10.0.0.5:8080', /invalid number of arguments in "upstream" directive/],
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
      const names = [...upstreams(expected).keys()];
      assert.ok(isSorted(names), names.join(' '));
      for (const servers of upstreams(expected).values()) assert.ok(isSorted(servers), servers.join(' '));
      assert.ok(isSorted(routes(expected).map(([path]) => path)));
    }
  });

  test('a real nginx proxies to the registered backend, and after a reload to both', async (t) => {
    const nginx = sbinTool('nginx')!;
    const one = await startBackend('backend-one');
    t.after(() => one.close());
    const two = await startBackend('backend-two');
    t.after(() => two.close());
    const port = await freePort();
    const listen = { '/config/nginx/listen': `127.0.0.1:${port}` };

    await example.install({ ...listen, '/services/web/one': one.address });
    // The start command the README documents.
    const server = startDaemon(nginx, ['-c', example.resource.dest, '-p', example.runDir]);
    t.after(() => server.stop());
    const first = await waitFor(
      async () => {
        if (server.child.exitCode !== null) throw new Error(`nginx exited:\n${server.output()}`);
        const res = await httpGet(port, '/web/hello');
        return res.status === 200 && res;
      },
      { what: 'nginx to proxy /web/ to the first backend' },
    );
    assert.equal(first.body, 'backend-one /web/hello');
    assert.equal((await httpGet(port, '/nothing/here')).status, 503);
    const masterPid = (await readFile(join(example.runDir, 'nginx.pid'), 'utf8')).trim();

    await example.install({ ...listen, '/services/web/one': one.address, '/services/web/two': two.address });
    const reload = await example.reload();
    assert.equal(reload.code, 0, reload.output);
    const seen = new Set<string>();
    await waitFor(
      async () => {
        seen.add((await httpGet(port, '/web/')).body);
        return seen.has('backend-one /web/') && seen.has('backend-two /web/');
      },
      { what: 'both backends to answer through nginx after the reload' },
    );
    // A reload, not a restart: the same master kept running.
    assert.equal(server.child.exitCode, null, server.output());
    assert.equal((await readFile(join(example.runDir, 'nginx.pid'), 'utf8')).trim(), masterPid);
  });
});
