/**
 * The pure parts of `cairn ctl`: Go's value parsers, the urfave/cli + Go
 * flag grammar etcdctl users rely on, URL handling and output encoding.
 * Every expectation here was checked against Debian's etcdctl 3.4 (v2 mode)
 * first; the side-by-side tests in this folder compare whole runs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCtlArgs, rawCtlArgs, type CtlInvocation } from '../../src/ctl/argv.js';
import { ClusterError, EndpointError, goTransportError, isConnectionError, DeadlineError } from '../../src/ctl/go-errors.js';
import { parseGoFlags, reorderCommandArgs, type FlagSpec } from '../../src/ctl/go-flag-set.js';
import { canonicalUrlPath, goEncodeValues, goEscapePath, goUrlString, parseGoUrl } from '../../src/ctl/go-url.js';
import { goQuote, parseGoBool, parseGoDuration, parseGoInt } from '../../src/ctl/go-values.js';
import { responseJson } from '../../src/ctl/output.js';
import { haveTool, skipUnless } from '../support/require-tool.js';

const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });

describe("Go's value parsers", () => {
  test('ints are read with strconv.ParseInt(s, 0, 64)', () => {
    assert.deepEqual(parseGoInt('10'), ok(10));
    assert.deepEqual(parseGoInt('0x10'), ok(16));
    assert.deepEqual(parseGoInt('010'), ok(8));
    assert.deepEqual(parseGoInt('0b101'), ok(5));
    assert.deepEqual(parseGoInt('0o17'), ok(15));
    assert.deepEqual(parseGoInt('1_000'), ok(1000));
    assert.deepEqual(parseGoInt('-5'), ok(-5));
    assert.deepEqual(parseGoInt('+7'), ok(7));
    for (const bad of ['', 'abc', '08', '_1', '1_', '0x', '1.5', ' 1']) assert.deepEqual(parseGoInt(bad), { ok: false, error: 'parse error' }, bad);
    assert.deepEqual(parseGoInt('9223372036854775808'), { ok: false, error: 'value out of range' });
  });

  test('bools and durations', () => {
    assert.deepEqual(parseGoBool('T'), ok(true));
    assert.deepEqual(parseGoBool('False'), ok(false));
    assert.equal(parseGoBool('yes').ok, false);
    assert.deepEqual(parseGoDuration('2s'), ok(2000));
    assert.deepEqual(parseGoDuration('1m30s'), ok(90_000));
    assert.deepEqual(parseGoDuration('1.5h'), ok(5_400_000));
    assert.deepEqual(parseGoDuration('-300ms'), ok(-300));
    assert.deepEqual(parseGoDuration('.5s'), ok(500));
    assert.deepEqual(parseGoDuration('0'), ok(0));
    assert.deepEqual(parseGoDuration('1us'), ok(0.001));
    for (const bad of ['', '1', '1x', 's', '.s', '1..5s']) assert.equal(parseGoDuration(bad).ok, false, bad);
  });

  test('%q quoting', () => {
    assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(goQuote('line\nnext\ttab\x01'), '"line\\nnext\\ttab\\x01"');
    assert.equal(goQuote('ünï'), '"ünï"');
  });
});

describe('the flag grammar', () => {
  const specs: FlagSpec[] = [
    { names: ['output', 'o'], kind: 'string', usage: '' },
    { names: ['sort'], kind: 'bool', usage: '' },
    { names: ['ttl'], kind: 'int', usage: '' },
    { names: ['recursive', 'r'], kind: 'bool', usage: '' },
  ];

  test("Go's flag package: one or two dashes, =value or the next word, bools only take =value", () => {
    for (const args of [['-o', 'json'], ['--output=json'], ['-output', 'json'], ['--o', 'json']]) {
      const parsed = parseGoFlags(specs, [...args, 'get', '/k', '--sort']);
      assert.equal(parsed.values.string('output'), 'json', args.join(' '));
      assert.equal(parsed.values.string('o'), 'json', 'aliases share the value');
      // Parsing stops at the first word that is not a flag.
      assert.deepEqual(parsed.args, ['get', '/k', '--sort']);
    }
    const bools = parseGoFlags(specs, ['--sort=false', '-r', 'x']);
    assert.equal(bools.values.bool('sort'), false);
    assert.equal(bools.values.has('sort'), true);
    assert.equal(bools.values.bool('recursive'), true);
    assert.deepEqual(parseGoFlags(specs, ['--', '-x']).args, ['-x']);
    assert.deepEqual(parseGoFlags(specs, ['-', 'x']).args, ['-', 'x']);
  });

  test('errors are worded as Go words them', () => {
    const message = (args: string[]): string => {
      try {
        parseGoFlags(specs, args);
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    };
    assert.equal(message(['--bogus']), 'flag provided but not defined: -bogus');
    assert.equal(message(['-ojson']), 'flag provided but not defined: -ojson');
    assert.equal(message(['--ttl']), 'flag needs an argument: -ttl');
    assert.equal(message(['--ttl', 'abc']), 'invalid value "abc" for flag -ttl: parse error');
    assert.equal(message(['--sort=maybe']), 'invalid boolean value "maybe" for -sort: parse error');
    assert.equal(message(['---x']), 'bad flag syntax: ---x');
    assert.equal(message(['-r', '--recursive']), 'Cannot use two forms of the same flag: r recursive');
  });

  test("urfave/cli 1.22 moves a command's flags (and the word after each) to the front", () => {
    const ttl: FlagSpec[] = [{ names: ['ttl'], kind: 'int', usage: '' }];
    assert.deepEqual(reorderCommandArgs(ttl, ['/k', 'v', '--ttl', '5']), ['--ttl', '5', '/k', 'v']);
    assert.deepEqual(reorderCommandArgs(ttl, ['/k', 'v', '--ttl']), ['--ttl', '/k', 'v']);
    // An unknown dash word is an argument (`set /k -5` sets "-5").
    assert.deepEqual(reorderCommandArgs(ttl, ['/k', '-5']), ['/k', '-5']);
    const r: FlagSpec[] = [{ names: ['recursive', 'r'], kind: 'bool', usage: '' }];
    // `--` goes first, taking the words before it along: why `exec-watch key -- cmd` needs a flag before the key.
    assert.deepEqual(reorderCommandArgs(r, ['/cfg', '--', 'sh', '-c', 'x']), ['--', '/cfg', 'sh', '-c', 'x']);
    assert.deepEqual(reorderCommandArgs(r, ['-r', '/cfg', '--', 'sh']), ['-r', '/cfg', '--', 'sh']);
  });
});

describe('the etcdctl command line', () => {
  const parse = (...args: string[]): CtlInvocation => parseCtlArgs(args, '9.9.9');

  test('global flags, then the command and its flags anywhere', () => {
    const run = parse('--endpoints', 'http://x:1', '-o', 'json', 'ls', '/dir', '--sort', '-p');
    assert.equal(run.kind, 'run');
    if (run.kind !== 'run') return;
    assert.equal(run.command, 'ls');
    assert.equal(run.global.string('endpoints'), 'http://x:1');
    assert.equal(run.global.string('output'), 'json');
    assert.equal(run.flags.bool('sort'), true);
    assert.equal(run.flags.bool('p'), true);
    assert.deepEqual(run.args, ['/dir']);
    const member = parse('-C', 'http://y:2', 'member', 'remove', 'abc');
    assert.ok(member.kind === 'run' && member.command === 'member remove' && member.args[0] === 'abc');
    const set = parse('set', '--', '/k', '--ttl');
    assert.ok(set.kind === 'run' && set.args.join(' ') === '/k --ttl');
  });

  test('help, version and usage errors print what etcdctl prints, with its exit codes', () => {
    const expectPrint = (inv: CtlInvocation): { stdout: string; stderr: string; exitCode: number } => {
      assert.equal(inv.kind, 'print');
      return inv as { stdout: string; stderr: string; exitCode: number };
    };
    assert.equal(expectPrint(parse('-v')).stdout, 'cairn ctl version: 9.9.9\nAPI version: 2\n');
    assert.match(expectPrint(parse()).stdout, /^NAME:\n {3}cairn ctl - /);
    assert.match(expectPrint(parse('--help')).stdout, /\nGLOBAL OPTIONS:\n {3}--debug {21}output cURL commands/);
    const frob = expectPrint(parse('frob'));
    assert.deepEqual([frob.stdout, frob.stderr, frob.exitCode], ['', "No help topic for 'frob'\n", 3]);
    const bogus = expectPrint(parse('--bogus', 'get'));
    assert.equal(bogus.stderr, 'flag provided but not defined: -bogus\n');
    assert.equal(bogus.exitCode, 1);
    assert.match(bogus.stdout, /^Incorrect Usage\. flag provided but not defined: -bogus\n\nNAME:\n/);
    const ttl = expectPrint(parse('set', '/k', 'v', '--ttl', 'x'));
    assert.match(ttl.stdout, /^Incorrect Usage: invalid value "x" for flag -ttl: parse error\n\nNAME:\n {3}cairn ctl set - set the value of a key\n/);
    assert.match(ttl.stdout, /\nOPTIONS:\n {3}--ttl value {14}key time-to-live in seconds \(default: 0\)\n/);
    assert.equal(expectPrint(parse('help', 'rmdir')).stdout, 'NAME:\n   cairn ctl rmdir - removes the key if it is an empty directory or a key-value pair\n\nUSAGE:\n   cairn ctl rmdir <key>\n');
    assert.match(expectPrint(parse('member')).stdout, /^NAME:\n {3}cairn ctl member - member add, remove and list subcommands\n/);
    assert.equal(expectPrint(parse('member', 'frob')).exitCode, 3);
    assert.match(expectPrint(parse('member', 'add', '--help')).stdout, /cairn ctl member add <name> <peerURL>\n$/);
  });

  test("the raw words come from the process's argv, where commander would have dropped a bare --", () => {
    const argv = ['node', 'main.js', 'ctl', 'exec-watch', '/k', '--', 'sh', '-c', 'echo'];
    assert.deepEqual(rawCtlArgs(argv, ['exec-watch', '/k', 'sh', '-c', 'echo']), ['exec-watch', '/k', '--', 'sh', '-c', 'echo']);
    // Embedded elsewhere (argv is not ours): commander's words are used.
    assert.deepEqual(rawCtlArgs(['node', 'other.js', 'serve'], ['get', '/k']), ['get', '/k']);
  });
});

describe('URLs, paths and encodings', () => {
  test('endpoints are read like url.Parse reads them', () => {
    const error = (raw: string): string => {
      try {
        parseGoUrl(raw);
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    };
    assert.equal(error('127.0.0.1:2379'), 'parse "127.0.0.1:2379": first path segment in URL cannot contain colon');
    assert.equal(error(' http://a:1'), 'parse " http://a:1": first path segment in URL cannot contain colon');
    assert.equal(error('http://[::1'), `parse "http://[::1": missing ']' in host`);
    assert.equal(error(':x'), 'parse ":x": missing protocol scheme');
    const opaque = parseGoUrl('localhost:2379');
    assert.equal(opaque.scheme, 'localhost');
    assert.equal(goUrlString(opaque), 'localhost:2379');
    assert.equal(goUrlString({ ...parseGoUrl('//127.0.0.1:2379'), scheme: 'http' }), 'http://127.0.0.1:2379');
    assert.equal(goUrlString({ ...parseGoUrl('example.com'), scheme: 'http' }), 'http://example.com');
  });

  test('request paths, queries and forms are escaped like Go escapes them', () => {
    assert.equal(goEscapePath('/v2/keys/a b/c?d/ü$&+,:;=@!*'), '/v2/keys/a%20b/c%3Fd/%C3%BC$&+,:;=@%21%2A');
    assert.equal(goEncodeValues({ value: 'x y&z=1', ttl: '100' }), 'ttl=100&value=x+y%26z%3D1');
    assert.equal(canonicalUrlPath('/v2/keys//a/./b/../c/'), '/v2/keys/a/c/');
    assert.equal(canonicalUrlPath('/v2/keys/odd/..'), '/v2/keys');
  });

  test('-o json re-encodes the response as Go encodes the client struct', () => {
    const json = responseJson({
      action: 'get',
      index: 7,
      node: {
        key: '',
        dir: true,
        value: '',
        nodes: [{ key: '/a', dir: false, value: '<&>', nodes: null, createdIndex: 3, modifiedIndex: 4, expiration: '2026-01-02T03:04:05.5Z', ttl: 9 }],
        createdIndex: 0,
        modifiedIndex: 0,
        expiration: undefined,
        ttl: 0,
      },
      prevNode: null,
    });
    assert.equal(
      json,
      '{"action":"get","node":{"key":"","dir":true,"value":"","nodes":[{"key":"/a","value":"\\u003c\\u0026\\u003e","nodes":null,' +
        '"createdIndex":3,"modifiedIndex":4,"expiration":"2026-01-02T03:04:05.5Z","ttl":9}],"createdIndex":0,"modifiedIndex":0},"prevNode":null}',
    );
  });

  test('transport failures read like Go net errors; only dial failures and timeouts count as connection errors', () => {
    const refused = goTransportError({ code: 'ECONNREFUSED', syscall: 'connect', address: '::1', port: 2379 }, 'localhost:2379');
    assert.equal(refused.message, 'dial tcp [::1]:2379: connect: connection refused');
    assert.ok(refused.connection && refused.notSent);
    const cluster = new ClusterError([refused, new EndpointError('client: etcd member http://a:1 has no leader')]);
    assert.equal(
      cluster.message,
      'client: etcd cluster is unavailable or misconfigured; error #0: dial tcp [::1]:2379: connect: connection refused\n' +
        '; error #1: client: etcd member http://a:1 has no leader\n',
    );
    assert.equal(cluster.detail(), 'error #0: dial tcp [::1]:2379: connect: connection refused\nerror #1: client: etcd member http://a:1 has no leader\n');
    assert.equal(isConnectionError(cluster), false);
    assert.equal(isConnectionError(new ClusterError([refused])), true);
    assert.equal(isConnectionError(new DeadlineError()), true);
  });
});

describe('required tools', () => {
  test('under CI=true a missing etcdctl fails the run instead of skipping it', () => {
    const saved = { CI: process.env['CI'], PATH: process.env['PATH'] };
    const empty = mkdtempSync(join(tmpdir(), 'cairn-no-tools-'));
    try {
      process.env['PATH'] = empty;
      process.env['CI'] = 'true';
      assert.throws(() => skipUnless('etcdctl'), /etcdctl is required in CI/);
      process.env['CI'] = 'false';
      assert.equal(skipUnless('etcdctl'), 'etcdctl is not installed');
      assert.equal(haveTool('etcdctl'), false);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
