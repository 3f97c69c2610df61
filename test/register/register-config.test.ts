import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveRegisterConfig } from '../../src/register/register-config.js';
import { timingForTtl } from '../../src/register/register-service.js';

const REQUIRED = { key: '/services/web/h1', value: '10.0.0.5:8080' };

test('defaults: local endpoint, etcd v2 backend, TTL 30, no check', () => {
  const config = resolveRegisterConfig(REQUIRED, {});
  assert.deepEqual(config.endpoints, ['http://127.0.0.1:2379']);
  assert.equal(config.backend, 'etcd');
  assert.equal(config.ttlSeconds, 30);
  assert.equal(config.check, undefined);
  assert.deepEqual(config.tls, {});
  assert.equal(config.logLevel, 'info');
});

test('flags win over CAIRN_* variables, which fill in what flags leave out', () => {
  const env = {
    CAIRN_ENDPOINTS: 'http://10.0.0.1:2379, http://10.0.0.2:2379',
    CAIRN_KEY: '/from/env',
    CAIRN_VALUE: 'env-value',
    CAIRN_TTL: '12',
    CAIRN_CHECK: 'true',
    CAIRN_CHECK_INTERVAL: '500ms',
  };
  const fromEnv = resolveRegisterConfig({}, env);
  assert.deepEqual(fromEnv.endpoints, ['http://10.0.0.1:2379', 'http://10.0.0.2:2379']);
  assert.equal(fromEnv.key, '/from/env');
  assert.equal(fromEnv.ttlSeconds, 12);
  assert.deepEqual(fromEnv.check, { command: 'true', intervalMs: 500, timeoutMs: 5_000 });

  const flagged = resolveRegisterConfig({ endpoints: 'http://127.0.0.1:1', key: '/from/flag', ttl: '9', checkTimeout: '2' }, env);
  assert.deepEqual(flagged.endpoints, ['http://127.0.0.1:1']);
  assert.equal(flagged.key, '/from/flag');
  assert.equal(flagged.value, 'env-value');
  assert.equal(flagged.ttlSeconds, 9);
  assert.deepEqual(flagged.check, { command: 'true', intervalMs: 500, timeoutMs: 2_000 });
});

test('the check interval defaults to a third of the TTL, at most 10 s; the timeout to the interval, at least 5 s', () => {
  assert.deepEqual(resolveRegisterConfig({ ...REQUIRED, ttl: '9', check: 'true' }, {}).check, { command: 'true', intervalMs: 3_000, timeoutMs: 5_000 });
  assert.deepEqual(resolveRegisterConfig({ ...REQUIRED, ttl: '300', check: 'true' }, {}).check, { command: 'true', intervalMs: 10_000, timeoutMs: 10_000 });
});

test('--username user:password is split as etcdctl does, unless --password is given', () => {
  const split = resolveRegisterConfig({ ...REQUIRED, username: 'root:s3:cret' }, {});
  assert.equal(split.username, 'root');
  assert.equal(split.password, 's3:cret');
  const explicit = resolveRegisterConfig({ ...REQUIRED, username: 'a:b' }, { CAIRN_PASSWORD: 'pw' });
  assert.equal(explicit.username, 'a:b');
  assert.equal(explicit.password, 'pw');
});

test('bad settings are refused with the setting named', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ value: 'v' }, /--key is required/],
    [{ key: '/', value: 'v' }, /--key is required/],
    [{ key: '/k' }, /--value is required/],
    [{ ...REQUIRED, ttl: '0' }, /ttl must be a positive integer/],
    [{ ...REQUIRED, ttl: '1.5' }, /ttl must be a positive integer/],
    [{ ...REQUIRED, backend: 'consul' }, /backend must be one of etcd, etcdv3 \(got "consul"\)/],
    [{ ...REQUIRED, endpoints: 'ftp://x' }, /endpoints: "ftp:\/\/x" must be http or https/],
    [{ ...REQUIRED, check: 'true', checkInterval: '0' }, /check-interval must be a positive/],
    [{ ...REQUIRED, check: 'true', checkTimeout: 'soon' }, /check-timeout must be a positive/],
    [{ ...REQUIRED, certFile: '/nonexistent.pem' }, /--cert-file and --key-file go together/],
    [{ ...REQUIRED, caFile: '/nonexistent/ca.pem' }, /cannot read ca-file/],
    [{ ...REQUIRED, logLevel: 'loud' }, /log-level must be one of/],
  ];
  for (const [flags, message] of cases) {
    assert.throws(() => resolveRegisterConfig(flags, {}), (err: unknown) => {
      assert.equal((err as { code?: unknown }).code, 'CAIRN_CONFIG');
      assert.match((err as Error).message, message);
      return true;
    }, JSON.stringify(flags));
  }
});

test('timings follow the TTL: refresh at a third, retries and request timeouts within one refresh period', () => {
  assert.deepEqual(timingForTtl(30), {
    refreshMs: 10_000,
    retry: { baseMs: 250, capMs: 5_000 },
    requestTimeoutMs: 5_000,
    stopTimeoutMs: 10_000,
  });
  const short = timingForTtl(3);
  assert.equal(short.refreshMs, 1_000);
  assert.equal(short.retry.capMs, 1_000);
  assert.equal(short.requestTimeoutMs, 2_000);
  assert.equal(short.stopTimeoutMs, 3_000);
});
