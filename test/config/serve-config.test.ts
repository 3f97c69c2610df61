import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { resolveServeConfig } from '../../src/config/serve-config.js';

describe('cairn serve settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'serve.yaml');
  writeFileSync(file, 'name: from-file\ndata-dir: /file/dir\nlisten-client-urls: http://127.0.0.1:1111\nsnapshot-count: 5\n');

  test('flags win over the environment, which wins over the file', () => {
    const env = { CAIRN_DATA_DIR: '/env/dir', CAIRN_LISTEN_CLIENT_URLS: 'http://127.0.0.1:2222' };
    const config = resolveServeConfig({ configFile: file, listenClientUrls: 'http://127.0.0.1:3333' }, env);
    assert.equal(config.name, 'from-file');
    assert.equal(config.dataDir, '/env/dir');
    assert.deepEqual(config.listenClientUrls, ['http://127.0.0.1:3333']);
    assert.deepEqual(config.advertiseClientUrls, ['http://127.0.0.1:3333'], 'advertise defaults to the listen URLs');
    assert.equal(config.snapshotCount, 5);
  });

  test('defaults follow etcd: member "default", data dir named after it, loopback 2379', () => {
    const config = resolveServeConfig({}, {});
    assert.equal(config.name, 'default');
    assert.equal(config.dataDir, 'default.cairn');
    assert.deepEqual(config.listenClientUrls, ['http://127.0.0.1:2379']);
  });

  test('bad settings are clear errors naming the setting', () => {
    assert.throws(() => resolveServeConfig({ listenClientUrls: 'not a url' }, {}), /listen-client-urls: "not a url" is not a URL/);
    assert.throws(() => resolveServeConfig({}, { CAIRN_SNAPSHOT_COUNT: '-3' }), /snapshot-count must be a positive integer/);
    assert.throws(() => resolveServeConfig({ configFile: join(dir, 'missing.yaml') }, {}), /cannot read config file/);
    writeFileSync(join(dir, 'list.yaml'), '- a\n- b\n');
    assert.throws(() => resolveServeConfig({ configFile: join(dir, 'list.yaml') }, {}), /must hold a mapping/);
  });

  test('the shipped example config is valid', () => {
    const config = resolveServeConfig({ configFile: new URL('../../../examples/serve.yaml', import.meta.url).pathname }, {});
    assert.equal(config.name, 'node1');
  });
});
