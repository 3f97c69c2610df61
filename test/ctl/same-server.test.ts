/**
 * etcdctl (ETCDCTL_API=2) and `cairn ctl` run with the same arguments
 * against the same server must print the same bytes and exit alike: bad
 * arguments, connection failures and failover, endpoint sources, debug
 * output, password prompt, member commands against Cairn (whose membership
 * changes answer 501 for now), a scripted server for the failures a real
 * one will not produce on demand, TLS, and runtime reconfiguration on a
 * real two-member etcd. Only the program's own name is normalized, plus
 * what a scripted server's port or a new member's ID makes differ.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCairn, type CairnServer } from '../support/cairn.js';
import { runEtcdctl, type CtlResult } from '../support/etcdctl.js';
import { freePort } from '../support/ports.js';
import { skipUnless } from '../support/require-tool.js';
import { v2Get, v2Put } from '../support/v2-probe.js';
import { startEtcdPair, type EtcdPair } from './etcd-pair.js';
import { etcdLike, FAKE_MEMBER_ID, json, startFakeEtcd, type FakeEtcd, type FakeHandler, type FakeRequest } from './fake-etcd.js';
import { assertSameRun, bothAgainst, CAIRN_CTL, inBatches, neutral } from './harness.js';

const skip = skipUnless('etcdctl');
const skipEtcd = skip || skipUnless('etcd');

const TLS_DIR = resolve(fileURLToPath(import.meta.url), '../../../../test/ctl/fixtures/tls');
const tlsFile = (name: string): string => resolve(TLS_DIR, name);

/** Usage errors: the help text after the first line lists etcdctl's own commands, so only that line is compared. */
function assertSameUsageError(label: string, runs: { etcdctl: CtlResult; cairn: CtlResult }): void {
  const firstLine = (r: CtlResult): CtlResult => ({ ...neutral(r), stdout: neutral(r).stdout.split('\n')[0] ?? '' });
  assert.deepEqual(firstLine(runs.cairn), firstLine(runs.etcdctl), `${label}: cairn ctl differs from etcdctl`);
  assert.equal(runs.cairn.code, 1, label);
}

/** etcdctl shuffles its endpoints, so with several failing ones only the set of per-endpoint errors is comparable. */
function unordered(result: CtlResult): { stdout: string; errors: string[]; code: number | string } {
  const errors = [...result.stderr.matchAll(/error #\d+: ([^\n]*)/g)].map((m) => m[1] as string).sort();
  return { stdout: result.stdout, errors, code: result.code };
}

function replaceAll(result: CtlResult, pairs: readonly (readonly [string, string])[]): CtlResult {
  const swap = (text: string): string => pairs.reduce((t, [from, to]) => t.replaceAll(from, to), text);
  return { stdout: swap(result.stdout), stderr: swap(result.stderr), code: result.code };
}

describe('etcdctl and cairn ctl against the same Cairn', { skip }, () => {
  let cairn: CairnServer | undefined;
  let url = '';
  let dead = '';

  before(async () => {
    cairn = await startCairn();
    url = cairn.url;
    // A port nothing listens on: connections to it are refused.
    dead = `http://127.0.0.1:${await freePort()}`;
    await v2Put(url, '/k', { value: 'v' });
    await v2Put(url, '/dir/a', { value: 'x' });
  });

  after(async () => {
    await cairn?.destroy();
  });

  test('missing arguments, usage errors, unknown commands and help', async () => {
    // Each command's own checks are covered by the flows; these are the shapes of failure.
    const same = [
      ['get'], ['set', '/no-value'], ['exec-watch', '/k'], ['member', 'update', 'x'], ['member', 'list', 'extra'],
      ['frob'], ['member', 'frob'], ['help', 'set'], ['member'], ['get', '/dir'], ['--no-sync', 'get', '--sort=false', '--quorum=true', '/k'],
    ];
    const usage = [
      ['--bogus', 'get', '/k'], ['--timeout', 'soon', 'get', '/k'], ['set', '/k', 'v', '--ttl', 'abc'], ['set', '/k', 'v', '--ttl'],
      ['ls', '-r', '--recursive', '/'], ['member', '--bogus'],
    ];
    const results = await inBatches([...same, ...usage], 8, (args) => bothAgainst(url, args));
    same.forEach((args, i) => assertSameRun(args.join(' '), results[i] as { etcdctl: CtlResult; cairn: CtlResult }));
    usage.forEach((args, i) => assertSameUsageError(args.join(' '), results[same.length + i] as { etcdctl: CtlResult; cairn: CtlResult }));
  });

  test('connection failures, failover, and where the endpoints come from', async () => {
    const port = url.slice(url.lastIndexOf(':') + 1);
    const cases: { url: string; args: string[]; env?: Record<string, string>; unordered?: boolean }[] = [
      { url: dead, args: ['get', '/k'] },
      { url: dead, args: ['--no-sync', 'get', '/k'] },
      { url: dead, args: ['cluster-health'] },
      { url: dead, args: ['member', 'list'] },
      { url: `${dead},${url}`, args: ['get', '/k'] },
      { url: `${dead},${url}`, args: ['--no-sync', 'ls', '/dir'] },
      { url: `${dead},${url}`, args: ['cluster-health'] },
      { url: `${dead},${dead.replace(/\d+$/, '1')}`, args: ['--no-sync', 'get', '/k'], unordered: true },
      { url: `127.0.0.1:${port}`, args: ['get', '/k'] },
      { url: `localhost:${port}`, args: ['get', '/k'] },
      { url: `${url}/prefix`, args: ['get', '/k'] },
      { url: '', args: ['get', '/k'], env: { ETCDCTL_ENDPOINTS: url } },
      { url: '', args: ['--peers', dead, 'get', '/k'], env: { ETCDCTL_ENDPOINTS: url } },
      { url: '', args: ['-C', `//127.0.0.1:${port}`, 'get', '/k'], env: { ETCDCTL_PEERS: dead } },
    ];
    const results = await inBatches(cases, 8, (c) => bothAgainst(c.url, c.args, c.env === undefined ? {} : { env: c.env }));
    cases.forEach((c, i) => {
      const runs = results[i] as { etcdctl: CtlResult; cairn: CtlResult };
      const label = `--endpoints ${c.url} ${c.args.join(' ')} ${JSON.stringify(c.env ?? {})}`;
      if (c.unordered === true) assert.deepEqual(unordered(runs.cairn), unordered(runs.etcdctl), label);
      else assertSameRun(label, runs);
    });
    assert.match(results[0]?.cairn.stderr ?? '', /^Error: {2}client: etcd cluster is unavailable or misconfigured; error #0: dial tcp 127\.0\.0\.1:\d+: connect: connection refused\n\nerror #0: dial tcp/);
    assert.deepEqual([results[0]?.cairn.code, results[1]?.cairn.code, results[4]?.cairn.code, results[5]?.cairn.code], [2, 4, 0, 0]);

    // CAIRNCTL_ENDPOINTS is read before ETCDCTL_ENDPOINTS.
    const own = await runEtcdctl('', ['get', '/k'], 30_000, { cli: CAIRN_CTL, env: { CAIRNCTL_ENDPOINTS: url, ETCDCTL_ENDPOINTS: dead } });
    assert.deepEqual(own, { stdout: 'v\n', stderr: '', code: 0 });
    // Where etcdctl gives up on a create at the first dead endpoint (the request might have been
    // applied), cairn ctl moves on when the connection was refused, which proves it was not sent.
    const created = await runEtcdctl(`${dead},${url}`, ['--no-sync', 'mk', '/failover', 'made'], 30_000, { cli: CAIRN_CTL });
    assert.deepEqual(created, { stdout: 'made\n', stderr: '', code: 0 });
    assert.equal((await v2Get(url, '/failover')).body.node?.value, 'made');
  });

  test("member add, remove and update: etcdctl's messages for Cairn's 501 and for bad input", async () => {
    const members = (await (await fetch(`${url}/v2/members`)).json()) as { members: { id: string; name: string }[] };
    const self = members.members[0];
    assert.ok(self !== undefined);
    const cases = [
      ['member', 'add', 'new', 'http://127.0.0.1:2390'],
      ['member', 'remove', self.id],
      ['member', 'remove', self.name],
      ['member', 'update', self.id, 'http://127.0.0.1:2391'],
      ['member', 'update', '0123456789abcdef', 'http://127.0.0.1:2391'],
      ['member', 'add', 'new', 'http://127.0.0.1'],
    ];
    const results = await inBatches(cases, 8, (args) => bothAgainst(url, args));
    cases.forEach((args, i) => assertSameRun(args.join(' '), results[i] as { etcdctl: CtlResult; cairn: CtlResult }));
    assert.equal(
      results[0]?.cairn.stderr,
      `client: etcd cluster is unavailable or misconfigured; error #0: client: etcd member ${url} returns server error [Not Implemented]\n\n`,
    );
    assert.equal(results[0]?.cairn.code, 1);
  });

  test('--debug prints the cURL commands; -u sends credentials, prompting for a missing password', async () => {
    const cases: { args: string[]; stdin?: string }[] = [
      { args: ['--debug', 'get', '/k'] },
      { args: ['--debug', 'member', 'list'] },
      { args: ['--debug', 'cluster-health'] },
      { args: ['--debug', '--no-sync', 'rm', '/nothing', '--with-value', 'a b&c', '--with-index', '3'] },
      { args: ['-u', 'user', 'get', '/k'], stdin: 'secret\n' },
      { args: ['-u', 'user', 'set', '/from-stdin'], stdin: 'secret\nvalue after the password' },
    ];
    for (const c of cases) {
      // One after the other: the last case writes.
      assertSameRun(c.args.join(' '), await bothAgainst(url, c.args, c.stdin === undefined ? {} : { stdin: c.stdin }));
    }
    assert.equal((await v2Get(url, '/from-stdin')).body.node?.value, 'value after the password');
  });
});

/** Runs both programs, each against its own copy of a scripted server, and returns what each printed and sent. */
async function onTwins(
  makeHandler: () => FakeHandler,
  args: readonly string[],
  extra: { stdin?: string; tls?: boolean } = {},
): Promise<{ etcdctl: CtlResult; cairn: CtlResult; sent: { etcdctl: FakeRequest[]; cairn: FakeRequest[] } }> {
  const tls = extra.tls === true ? { cert: readFileSync(tlsFile('server.pem')), key: readFileSync(tlsFile('server-key.pem')) } : undefined;
  // Each twin gets its own handler: scripted handlers may count requests.
  const [a, b] = await Promise.all([startFakeEtcd(makeHandler(), tls), startFakeEtcd(makeHandler(), tls)]);
  try {
    const options = extra.stdin === undefined ? {} : { stdin: extra.stdin };
    // The scripted servers live in this busy test process: unless a case is about timeouts, allow slow answers.
    const limits = args.some((a) => a.includes('timeout')) ? [] : ['--timeout', '20s', '--total-timeout', '30s'];
    const full = [...limits, ...args];
    const [etcdctl, cairn] = await Promise.all([runEtcdctl(a.url, full, 30_000, options), runEtcdctl(b.url, full, 30_000, { ...options, cli: CAIRN_CTL })]);
    return {
      etcdctl: replaceAll(neutral(etcdctl), [[a.url, '<url>']]),
      cairn: replaceAll(neutral(cairn), [[b.url, '<url>']]),
      sent: { etcdctl: a.requests, cairn: b.requests },
    };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/** The parts of a request that matter to a server (not the Host port, not Go's or Node's User-Agent). */
function essence(requests: readonly FakeRequest[]): string[] {
  return requests.map((r) => {
    const type = r.headers['content-type'] ?? '';
    const auth = r.headers['authorization'] ?? '';
    return `${r.method} ${r.url} [${type}] [${auth}] ${JSON.stringify(r.body)}`;
  });
}

describe('etcdctl and cairn ctl against a scripted server', { skip }, () => {
  test('every command sends the same requests as etcdctl: method, path, query, body', async () => {
    const cases = [
      ['get', '--sort', '--quorum', '/a b/c?d'],
      ['set', '/k', 'v w&x=y', '--ttl', '30', '--swap-with-value', 'old v', '--swap-with-index', '5'],
      ['mk', '/k', 'v', '--ttl', '9'],
      ['mk', '--in-order', '/q', 'job'],
      ['mkdir', '/d', '--ttl', '60'],
      ['update', '/k', 'v2'],
      ['updatedir', '/d', '--ttl', '5'],
      ['rm', '/k', '--with-value', 'v', '--with-index', '7', '--dir', '-r'],
      ['rmdir', '/d'],
      ['watch', '--after-index', '41', '-r', '/w'],
      ['member', 'add', 'n', 'http://127.0.0.1:12380'],
      ['member', 'update', FAKE_MEMBER_ID, 'https://b:2,http://a:1'],
      ['member', 'remove', FAKE_MEMBER_ID],
      ['-u', 'root:pw', '--no-sync', 'get', '/k'],
    ];
    const handler = etcdLike((req) => {
      if (req.method === 'POST' && req.url === '/v2/members') return json(201, { id: 'feedface00000001', name: '', peerURLs: ['http://127.0.0.1:12380'], clientURLs: [] });
      if (req.url.startsWith('/v2/members/') && req.method !== 'GET') return { status: 204 };
      return undefined;
    });
    const results = await inBatches(cases, 8, (args) => onTwins(() => handler, args));
    cases.forEach((args, i) => {
      const r = results[i];
      assert.ok(r !== undefined);
      const label = args.join(' ');
      assert.deepEqual(essence(r.sent.cairn), essence(r.sent.etcdctl), `${label}: requests differ`);
      assert.deepEqual(r.cairn, r.etcdctl, `${label}: output differs`);
    });
  });

  test('server errors fail over; broken bodies, redirects and timeouts read as in etcdctl', async () => {
    const key = (body: unknown, status = 200, headers: Record<string, string> = { 'X-Etcd-Index': '9' }): FakeHandler =>
      etcdLike((req) => (req.url.startsWith('/v2/keys') ? { ...json(status, body, headers) } : undefined));
    const cases: { label: string; handler: () => FakeHandler; args: string[]; stdin?: string }[] = [
      { label: '500', handler: () => etcdLike((req) => (req.url.startsWith('/v2/keys') ? { status: 500, body: '{}' } : undefined)), args: ['get', '/k'] },
      { label: '503 once', handler: () => onceThen({ status: 503, body: '' }), args: ['--no-sync', 'get', '/k'] },
      { label: 'not json', handler: () => etcdLike((req) => (req.url.startsWith('/v2/keys') ? { status: 200, body: '<html>' } : undefined)), args: ['get', '/k'] },
      { label: 'empty body', handler: () => etcdLike((req) => (req.url.startsWith('/v2/keys') ? { status: 200, body: '' } : undefined)), args: ['get', '/k'] },
      { label: 'error without cause', handler: () => key({ errorCode: 300, message: 'Raft Internal Error' }, 400), args: ['set', '/k', 'v'] },
      { label: 'members 404', handler: () => etcdLike((req) => (req.url.startsWith('/v2/members') ? { status: 404, body: '' } : undefined)), args: ['member', 'list'] },
      { label: 'leader 500', handler: () => etcdLike((req) => (req.url === '/v2/members/leader' ? { status: 500, body: '' } : undefined)), args: ['member', 'list'] },
      { label: 'add 409', handler: () => etcdLike((req) => (req.method === 'POST' ? json(409, { message: 'etcdserver: Peer URLs already exists' }) : undefined)), args: ['member', 'add', 'n', 'http://1.2.3.4:5'] },
      { label: 'unstarted member', handler: () => unstartedMember(), args: ['member', 'list'] },
      { label: 'redirect', handler: () => etcdLike((req, self) => (req.url.startsWith('/v2/keys/r?') ? { status: 307, headers: { Location: `${self}/v2/keys/s?quorum=false` } } : undefined)), args: ['--debug', 'get', '/r'] },
      // Limits generous enough that the answers which are not stalled arrive in time on a loaded machine.
      { label: 'header timeout', handler: () => etcdLike((req) => (req.url.startsWith('/v2/keys') ? { status: 200, body: '{}', delayMs: 10_000 } : undefined)), args: ['--timeout', '1500ms', 'get', '/k'] },
      { label: 'total timeout', handler: () => etcdLike((req) => (req.url.startsWith('/v2/keys') ? { status: 200, body: '{}', delayMs: 10_000 } : undefined)), args: ['--total-timeout', '3s', '--timeout', '5s', 'get', '/k'] },
      { label: 'sync timeout', handler: () => etcdLike((req) => (req.url === '/v2/members' ? { status: 200, body: '{}', delayMs: 10_000 } : undefined)), args: ['--total-timeout', '3s', 'get', '/k'] },
      { label: 'watch resumes after an empty answer', handler: () => emptyThenEvent(), args: ['watch', '/w'] },
      { label: 'odd values', handler: () => key({ action: 'get', node: { key: '/o', value: 'a\u2028b<\u00e9>', ttl: 5, expiration: '2031-01-02T03:04:05.123Z', modifiedIndex: 3 } }), args: ['-o', 'json', 'get', '/o'] },
    ];
    const results = await inBatches(cases, 8, (c) => onTwins(c.handler, c.args, c.stdin === undefined ? {} : { stdin: c.stdin }));
    cases.forEach((c, i) => {
      const r = results[i];
      assert.ok(r !== undefined);
      assert.deepEqual(r.cairn, r.etcdctl, `${c.label} (${c.args.join(' ')})`);
    });
  });

  test('cluster-health: healthy, unhealthy, unreachable, unpublished and degraded members, with exit codes', async () => {
    const deadUrl = `http://127.0.0.1:${await freePort()}`;
    const healthy = await startFakeEtcd(etcdLike());
    const sick = await startFakeEtcd(etcdLike((req) => (req.url === '/health' ? json(503, { health: 'false' }) : undefined)));
    const boolHealth = await startFakeEtcd(etcdLike((req) => (req.url === '/health' ? json(200, { health: true }) : undefined)));
    const garbled = await startFakeEtcd(etcdLike((req) => (req.url === '/health' ? { status: 200, body: 'ok' } : undefined)));
    const listing = (members: { id: string; name: string; clientURLs: string[] }[]): FakeHandler =>
      etcdLike((req) => (req.url === '/v2/members' ? json(200, { members: members.map((m) => ({ ...m, peerURLs: ['http://127.0.0.1:1'] })) }) : undefined));
    const scenarios = {
      degraded: listing([
        { id: 'aa01', name: 'a', clientURLs: [healthy.url] },
        { id: 'aa02', name: 'b', clientURLs: [sick.url] },
        { id: 'aa03', name: 'c', clientURLs: [deadUrl, garbled.url] },
        { id: 'aa04', name: '', clientURLs: [] },
        { id: 'aa05', name: 'e', clientURLs: [deadUrl, boolHealth.url] },
      ]),
      unavailable: listing([{ id: 'bb01', name: 'a', clientURLs: [sick.url] }]),
      healthy: listing([
        { id: 'cc01', name: 'a', clientURLs: [healthy.url] },
        { id: 'cc02', name: 'b', clientURLs: [boolHealth.url] },
      ]),
    };
    const servers = await Promise.all(Object.values(scenarios).map((h) => startFakeEtcd(h)));
    try {
      const results = await Promise.all(servers.map((s) => bothAgainst(s.url, ['cluster-health'])));
      results.forEach((runs, i) => assertSameRun(`cluster-health (${Object.keys(scenarios)[i] as string})`, runs));
      assert.deepEqual(
        results.map((r) => [r.cairn.code, r.cairn.stdout.trim().split('\n').pop()]),
        [[5, 'cluster is degraded'], [5, 'cluster is unavailable'], [0, 'cluster is healthy']],
      );
      assert.match(results[0]?.cairn.stdout ?? '', /^failed to check the health of member aa03 on http:\/\/127\.0\.0\.1:\d+: Get "http:\/\/127\.0\.0\.1:\d+\/health": dial tcp 127\.0\.0\.1:\d+: connect: connection refused$/m);
    } finally {
      await Promise.all([healthy, sick, boolHealth, garbled, ...servers].map((s: FakeEtcd) => s.close()));
    }
  });

  test('TLS: --ca-file, a client certificate, and the failures etcdctl reports', async () => {
    const ca = tlsFile('ca.pem');
    const cases: { args: string[]; env?: Record<string, string> }[] = [
      { args: ['--ca-file', ca, 'get', '/k'] },
      { args: ['--ca-file', ca, '--cert-file', tlsFile('client.pem'), '--key-file', tlsFile('client-key.pem'), 'cluster-health'] },
      { args: ['get', '/k'], env: { ETCDCTL_CA_FILE: ca, ETCDCTL_CERT_FILE: tlsFile('client.pem'), ETCDCTL_KEY_FILE: tlsFile('client-key.pem') } },
      { args: ['get', '/k'] },
      { args: ['--ca-file', '/nonexistent/ca.pem', 'cluster-health'] },
      { args: ['--cert-file', tlsFile('client.pem'), 'get', '/k'] },
    ];
    const results = await inBatches(
      cases,
      8,
      async (c) => {
        const server = await startFakeEtcd(etcdLike(), {
          cert: readFileSync(tlsFile('server.pem')),
          key: readFileSync(tlsFile('server-key.pem')),
          ca: readFileSync(ca),
          requestCert: true,
          rejectUnauthorized: false,
        });
        try {
          const runs = await bothAgainst(server.url, c.args, c.env === undefined ? {} : { env: c.env });
          return { runs, cns: server.requests.map((r) => r.clientCn ?? '-') };
        } finally {
          await server.close();
        }
      },
    );
    cases.forEach((c, i) => assertSameRun(`${c.args.join(' ')} ${JSON.stringify(c.env ?? {})}`, results[i]?.runs as { etcdctl: CtlResult; cairn: CtlResult }));
    assert.equal(results[0]?.runs.cairn.stdout, 'v\n');
    // Both programs presented the client certificate on every request of the cluster-health run.
    assert.ok(results[1]?.cns.length !== 0 && results[1]?.cns.every((cn) => cn === 'ctl-client'), String(results[1]?.cns));
    assert.match(results[3]?.runs.cairn.stderr ?? '', /x509: certificate signed by unknown authority/);
  });
});

describe('member add, update and remove on a real two-member etcd', { skip: skipEtcd }, () => {
  let pair: EtcdPair | undefined;

  before(async () => {
    pair = await startEtcdPair();
  });

  after(async () => {
    await pair?.stop();
  });

  /** Adds, inspects, updates and removes one member with `cli`; the transcript names members by role. */
  async function reconfigure(cli: 'etcdctl' | 'cairn', name: string): Promise<string> {
    const endpoints = (pair?.urls ?? []).join(',');
    const [addPort, movedPort] = await Promise.all([freePort(), freePort()]);
    const options = cli === 'cairn' ? { cli: CAIRN_CTL } : {};
    const run = (args: string[]): Promise<CtlResult> => runEtcdctl(endpoints, args, 30_000, options);
    const out: string[] = [];
    const added = await run(['member', 'add', name, `http://127.0.0.1:${addPort}`]);
    const id = /with ID ([0-9a-f]+) to cluster/.exec(added.stdout)?.[1] ?? '<no id>';
    // Members are listed in ID order and IDs are random: once named by role, lines (and cluster entries) compare as sets.
    const norm = (r: CtlResult): string => {
      const swap = (text: string): string =>
        text.replaceAll(id, '<new id>').replaceAll(String(addPort), '<add port>').replaceAll(String(movedPort), '<moved port>').replaceAll(name, '<name>');
      const stdout = swap(r.stdout)
        .split('\n')
        .sort()
        .join('\n')
        .replace(/ETCD_INITIAL_CLUSTER="([^"]*)/, (_w, list: string) => `ETCD_INITIAL_CLUSTER="${list.split(',').sort().join(',')}`);
      return JSON.stringify({ ...r, stdout, stderr: swap(r.stderr) });
    };
    out.push(`add: ${norm(neutral(added))}`);
    out.push(`list: ${norm(await run(['member', 'list']))}`);
    out.push(`health: ${norm(await run(['cluster-health']))}`);
    out.push(`update: ${norm(await run(['member', 'update', id, `http://127.0.0.1:${movedPort}`]))}`);
    out.push(`list: ${norm(await run(['member', 'list']))}`);
    out.push(`remove by name: ${norm(neutral(await run(['member', 'remove', name])))}`);
    out.push(`remove: ${norm(await run(['member', 'remove', id]))}`);
    out.push(`list: ${norm(await run(['member', 'list']))}`);
    return out.join('\n');
  }

  test('the same messages and exit codes, and the cluster ends as it began', async () => {
    const want = await reconfigure('etcdctl', 'first');
    const got = await reconfigure('cairn', 'second');
    assert.equal(got, want);
    assert.match(got, /Added member named <name> with ID <new id> to cluster/);
    assert.match(got, /ETCD_INITIAL_CLUSTER=\\"<name>=http:\/\/127\.0\.0\.1:<add port>,m0=http:\/\/127\.0\.0\.1:\d+,m1=/);
    assert.match(got, /ETCD_NAME=\\"<name>\\"/);
    assert.match(got, /<new id>\[unstarted\]: peerURLs=http:\/\/127\.0\.0\.1:<moved port>/);
    assert.match(got, /cluster is degraded/);
    assert.match(got, /Removed member <new id> from cluster/);
    const members = (await (await fetch(`${pair?.urls[0] ?? ''}/v2/members`)).json()) as { members: unknown[] };
    assert.equal(members.members.length, 2);
  });
});

/** Answers the first keys request with `first`, later ones like etcd. */
function onceThen(first: { status: number; body: string }): FakeHandler {
  let used = false;
  return etcdLike((req) => {
    if (!req.url.startsWith('/v2/keys') || used) return undefined;
    used = true;
    return first;
  });
}

function unstartedMember(): FakeHandler {
  return etcdLike((req, self) => {
    if (req.url !== '/v2/members') return undefined;
    return json(200, {
      members: [
        { id: FAKE_MEMBER_ID, name: 'fake', peerURLs: ['http://127.0.0.1:2380'], clientURLs: [self] },
        { id: '0000000000000abc', name: '', peerURLs: ['http://127.0.0.1:2381', 'http://127.0.0.1:2382'], clientURLs: [] },
      ],
    });
  });
}

/** A long poll that first ends without an event (an empty 200), then delivers one. */
function emptyThenEvent(): FakeHandler {
  let polls = 0;
  return etcdLike((req) => {
    if (!req.url.startsWith('/v2/keys/w')) return undefined;
    polls++;
    return polls === 1 ? { status: 200, body: '' } : json(200, { action: 'set', node: { key: '/w', value: 'second poll', modifiedIndex: 12, createdIndex: 12 } }, { 'X-Etcd-Index': '11' });
  });
}
