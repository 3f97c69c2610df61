import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_INTERVAL_SECONDS, resolveAgentConfig } from '../../../src/config/agent-config.js';
import { ConfigError } from '../../../src/config/layers.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-agent-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function tomlFile(text: string): string {
  fileCount += 1;
  const path = join(dir, `confd-${fileCount}.toml`);
  writeFileSync(path, text);
  return path;
}

function rejects(flags: Record<string, unknown>, env: NodeJS.ProcessEnv, fragment: string | RegExp): void {
  assert.throws(
    () => resolveAgentConfig(flags, env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      assert.equal(err.code, 'CAIRN_CONFIG');
      if (typeof fragment === 'string') assert.ok(err.message.includes(fragment), err.message);
      else assert.match(err.message, fragment);
      return true;
    },
  );
}

describe('resolveAgentConfig: defaults', () => {
  test('nothing given: embedded backend, interval mode every 600 s, as confd', () => {
    const config = resolveAgentConfig({}, {});
    assert.equal(config.confdir, '/etc/cairn');
    assert.equal(config.backend, 'embedded');
    assert.deepEqual(config.nodes, []);
    assert.equal(config.prefix, '');
    assert.deepEqual(config.mode, { kind: 'interval', intervalMs: DEFAULT_INTERVAL_SECONDS * 1000 });
    assert.equal(DEFAULT_INTERVAL_SECONDS, 600);
    assert.equal(config.wait, undefined);
    assert.equal(config.noop, false);
    assert.equal(config.syncOnly, false);
    assert.equal(config.keepStageFile, false);
    assert.equal(config.logLevel, 'info');
    assert.deepEqual(config.files, []);
    assert.equal(config.clientCert, undefined);
    assert.equal(config.username, undefined);
    assert.deepEqual(config.embedded, { logLevel: 'info' });
  });

  test('the etcd backend defaults to the local etcd endpoint; etcdv2 is an alias', () => {
    assert.deepEqual(resolveAgentConfig({ backend: 'etcd' }, {}).nodes, ['http://127.0.0.1:2379']);
    const v2 = resolveAgentConfig({ backend: 'etcdv2' }, {});
    assert.equal(v2.backend, 'etcd');
    assert.deepEqual(v2.nodes, ['http://127.0.0.1:2379']);
  });
});

describe('resolveAgentConfig: a confd.toml config file', () => {
  test("reads confd.toml's spellings: nodes, client_cakeys, client_cert, client_key, log-level", () => {
    const path = tomlFile(`
backend = "etcd"
confdir = "/etc/confd"
nodes = ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]
client_cakeys = "/etc/ssl/ca.pem"
client_cert = "/etc/ssl/client.pem"
client_key = "/etc/ssl/client-key.pem"
log-level = "debug"
prefix = "/production"
interval = 30
noop = true
sync_only = true
keep_stage_file = true
username = "agent"
password = "secret"
`);
    const config = resolveAgentConfig({ configFile: path }, {});
    assert.equal(config.backend, 'etcd');
    assert.equal(config.confdir, '/etc/confd');
    assert.deepEqual(config.nodes, ['http://10.0.0.1:2379', 'http://10.0.0.2:2379']);
    assert.equal(config.clientCaKeys, '/etc/ssl/ca.pem');
    assert.equal(config.clientCert, '/etc/ssl/client.pem');
    assert.equal(config.clientKey, '/etc/ssl/client-key.pem');
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.prefix, '/production');
    assert.deepEqual(config.mode, { kind: 'interval', intervalMs: 30_000 });
    assert.equal(config.noop, true);
    assert.equal(config.syncOnly, true);
    assert.equal(config.keepStageFile, true);
    assert.equal(config.username, 'agent');
    assert.equal(config.password, 'secret');
  });

  test('the file backend takes its data files from the config file', () => {
    const path = tomlFile(`backend = "file"\nfile = ["/data/a.yaml", "/data/b.json"]\n`);
    assert.deepEqual(resolveAgentConfig({ configFile: path }, {}).files, ['/data/a.yaml', '/data/b.json']);
  });

  test('CAIRN_CONFIG_FILE names the file when --config-file does not', () => {
    const path = tomlFile('prefix = "/from-env-file"\n');
    assert.equal(resolveAgentConfig({}, { CAIRN_CONFIG_FILE: path }).prefix, '/from-env-file');
  });

  test('embedded store settings pass through to the serve configuration', () => {
    const path = tomlFile('data-dir = "/var/lib/cairn"\nlisten-client-urls = "http://127.0.0.1:4001"\n');
    const config = resolveAgentConfig({ configFile: path, name: 'node-a' }, {});
    assert.deepEqual(config.embedded, { name: 'node-a', dataDir: '/var/lib/cairn', listenClientUrls: 'http://127.0.0.1:4001', logLevel: 'info' });
  });

  test('an unreadable or invalid file is a clear error', () => {
    rejects({ configFile: join(dir, 'missing.toml') }, {}, 'cannot read config file');
    rejects({ configFile: tomlFile('backend = \n') }, {}, 'is not valid');
  });
});

describe('resolveAgentConfig: precedence file < CAIRN_* environment < flags', () => {
  const file = (): string =>
    tomlFile(`backend = "etcd"\nnodes = ["http://file:2379"]\nprefix = "/file"\nlog-level = "error"\ninterval = 10\nwatch = true\n`);

  test('the environment overrides the file', () => {
    const config = resolveAgentConfig({ configFile: file() }, {
      CAIRN_PREFIX: '/env',
      CAIRN_NODE: 'http://env1:2379,http://env2:2379',
      CAIRN_LOG_LEVEL: 'warn',
      CAIRN_INTERVAL: '20s',
      CAIRN_WATCH: 'false',
    });
    assert.equal(config.prefix, '/env');
    assert.deepEqual(config.nodes, ['http://env1:2379', 'http://env2:2379']);
    assert.equal(config.logLevel, 'warn');
    assert.deepEqual(config.mode, { kind: 'interval', intervalMs: 20_000 });
  });

  test('flags override the environment and the file', () => {
    const config = resolveAgentConfig(
      { configFile: file(), prefix: '/flag', node: ['http://flag:2379'], logLevel: 'trace', interval: '5', watch: true },
      { CAIRN_PREFIX: '/env', CAIRN_NODE: 'http://env:2379', CAIRN_LOG_LEVEL: 'warn', CAIRN_INTERVAL: '20' },
    );
    assert.equal(config.prefix, '/flag');
    assert.deepEqual(config.nodes, ['http://flag:2379']);
    assert.equal(config.logLevel, 'trace');
    assert.deepEqual(config.mode, { kind: 'watch', reconcileMs: 5000 });
  });

  test('--endpoints is an alias of --node', () => {
    assert.deepEqual(resolveAgentConfig({ backend: 'etcd', endpoints: ['http://a:2379', 'http://b:2379'] }, {}).nodes, ['http://a:2379', 'http://b:2379']);
  });

  test('an empty variable counts as unset', () => {
    assert.equal(resolveAgentConfig({ configFile: file() }, { CAIRN_PREFIX: '' }).prefix, '/file');
  });

  test('boolean variables take the usual spellings', () => {
    assert.equal(resolveAgentConfig({}, { CAIRN_NOOP: '1' }).noop, true);
    assert.equal(resolveAgentConfig({}, { CAIRN_NOOP: 'yes' }).noop, true);
    assert.equal(resolveAgentConfig({}, { CAIRN_NOOP: 'FALSE' }).noop, false);
    assert.deepEqual(resolveAgentConfig({}, { CAIRN_ONETIME: 'true' }).mode, { kind: 'onetime' });
    rejects({}, { CAIRN_NOOP: 'maybe' }, 'noop must be true or false');
  });
});

describe('resolveAgentConfig: modes', () => {
  test('--onetime', () => {
    assert.deepEqual(resolveAgentConfig({ onetime: true }, {}).mode, { kind: 'onetime' });
    assert.deepEqual(resolveAgentConfig({ onetime: true, interval: '30' }, {}).mode, { kind: 'onetime' });
  });

  test('--interval N polls every N seconds; Go durations work too', () => {
    assert.deepEqual(resolveAgentConfig({ interval: '45' }, {}).mode, { kind: 'interval', intervalMs: 45_000 });
    assert.deepEqual(resolveAgentConfig({ interval: '1m30s' }, {}).mode, { kind: 'interval', intervalMs: 90_000 });
  });

  test('--watch alone never polls; --watch --interval N reconciles every N seconds', () => {
    assert.deepEqual(resolveAgentConfig({ watch: true }, {}).mode, { kind: 'watch', reconcileMs: undefined });
    assert.deepEqual(resolveAgentConfig({ watch: true, interval: '60' }, {}).mode, { kind: 'watch', reconcileMs: 60_000 });
  });

  test('--onetime and --watch together are refused, from any layer', () => {
    rejects({ onetime: true, watch: true }, {}, '--onetime and --watch cannot be used together');
    rejects({ onetime: true }, { CAIRN_WATCH: 'true' }, '--onetime and --watch cannot be used together');
  });

  test('a zero, negative or malformed interval is refused', () => {
    for (const interval of ['0', '-5', 'often', '10x']) rejects({ interval }, {}, 'interval must be a positive number of seconds');
  });
});

describe('resolveAgentConfig: --wait', () => {
  test('MIN and MIN:MAX', () => {
    assert.deepEqual(resolveAgentConfig({ wait: '2s' }, {}).wait, { minMs: 2000, maxMs: 8000 });
    assert.deepEqual(resolveAgentConfig({ wait: '500ms:5s' }, {}).wait, { minMs: 500, maxMs: 5000 });
    assert.deepEqual(resolveAgentConfig({}, { CAIRN_WAIT: '1:3' }).wait, { minMs: 1000, maxMs: 3000 });
  });

  test('a bad --wait names the accepted form', () => {
    rejects({ wait: '5s:1s' }, {}, 'wait must be MIN or MIN:MAX durations with MIN <= MAX');
    rejects({ wait: 'soon' }, {}, '"soon"');
  });
});

describe('resolveAgentConfig: errors', () => {
  test('an unknown backend lists the known ones', () => {
    rejects({ backend: 'consul' }, {}, 'backend must be one of embedded, etcd, etcdv3, file, env, got "consul"');
  });

  test('etcdv3 is a backend, with the same default endpoint as etcd', () => {
    const config = resolveAgentConfig({ backend: 'etcdv3' }, {});
    assert.equal(config.backend, 'etcdv3');
    assert.deepEqual(config.nodes, ['http://127.0.0.1:2379']);
  });

  test('the file backend needs --file', () => {
    rejects({ backend: 'file' }, {}, 'the file backend needs at least one --file');
    assert.deepEqual(resolveAgentConfig({ backend: 'file', file: ['a.yaml', 'b.yaml'] }, {}).files, ['a.yaml', 'b.yaml']);
    assert.deepEqual(resolveAgentConfig({ backend: 'file' }, { CAIRN_FILE: 'a.yaml,b.yaml' }).files, ['a.yaml', 'b.yaml']);
  });

  test('a node that is not an http(s) URL is refused', () => {
    rejects({ backend: 'etcd', node: ['127.0.0.1:2379'] }, {}, 'is not a URL');
    rejects({ backend: 'etcd', node: ['ftp://x'] }, {}, 'must be http or https');
  });

  test('an unknown log level is refused', () => {
    rejects({ logLevel: 'verbose' }, {}, 'log-level must be one of');
  });
});
