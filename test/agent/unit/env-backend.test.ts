import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EnvBackend, envNameForKey, keyForEnvName } from '../../../src/agent/backend/env.js';

describe('env backend: confd mapping', () => {
  test('/database/host ↔ DATABASE_HOST', () => {
    assert.equal(envNameForKey('/database/host'), 'DATABASE_HOST');
    assert.equal(envNameForKey('database/host'), 'DATABASE_HOST');
    assert.equal(envNameForKey('/'), '');
    assert.equal(keyForEnvName('DATABASE_HOST'), '/database/host');
    assert.equal(keyForEnvName('PATH'), '/path');
  });

  test('list returns the variables under a prefix as keys', async () => {
    const backend = new EnvBackend({
      DATABASE_HOST: 'db.local',
      DATABASE_PORT: '5432',
      DATABASEX: 'also matches, as in confd',
      APP_NAME: 'web',
      UNSET: undefined,
    });
    const db = await backend.list('/database');
    assert.deepEqual(Object.fromEntries(db.pairs), {
      '/database/host': 'db.local',
      '/database/port': '5432',
      '/databasex': 'also matches, as in confd',
    });
    assert.deepEqual(Object.fromEntries((await backend.list('/database/host')).pairs), { '/database/host': 'db.local' });
    assert.deepEqual(Object.fromEntries((await backend.list('/app')).pairs), { '/app/name': 'web' });
    assert.equal((await backend.list('/missing')).pairs.size, 0);
    assert.equal((await backend.list('/')).pairs.size, 4, 'the root prefix sees every set variable');
  });

  test('nothing changes while the process runs: not watchable, and watch only waits for abort', async () => {
    const backend = new EnvBackend({ A: '1' });
    assert.equal(backend.watchable, false);
    const stop = new AbortController();
    const seen: unknown[] = [];
    const done = (async () => {
      for await (const change of backend.watch('/', 1, stop.signal)) seen.push(change);
    })();
    stop.abort();
    await done;
    assert.deepEqual(seen, []);
    const afterAbort: unknown[] = [];
    for await (const change of backend.watch('/', 1, AbortSignal.abort())) afterAbort.push(change);
    assert.deepEqual(afterAbort, []);
  });

  test('defaults to process.env', async () => {
    process.env['CAIRN_UNIT_ENV_PROBE'] = 'here';
    try {
      const listing = await new EnvBackend().list('/cairn/unit/env');
      assert.equal(listing.pairs.get('/cairn/unit/env/probe'), 'here');
    } finally {
      delete process.env['CAIRN_UNIT_ENV_PROBE'];
    }
  });
});
