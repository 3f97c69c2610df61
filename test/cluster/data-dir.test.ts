/**
 * A data dir belongs either to a single node or to one cluster member, and
 * `cairn serve` refuses to open it the other way, instead of replaying log
 * entries it would misread. Also: a one-member cluster works on its own.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { V2Client } from '../../src/client/v2-client.js';
import { CAIRN_MAIN, startCairn, waitForCairnReady } from '../support/cairn.js';
import { freePort } from '../support/ports.js';
import { startProcess } from '../support/process.js';

const root = mkdtempSync(join(tmpdir(), 'cairn-datadir-'));

async function member(dataDir: string, args: readonly string[] = []) {
  const [client, peer] = [await freePort(), await freePort()];
  const clientUrl = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const proc = startProcess(process.execPath, [
    CAIRN_MAIN, 'serve', '--name', 'solo', '--data-dir', dataDir,
    '--listen-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `solo=${peerUrl}`,
    ...args,
  ], { env: { ...process.env, CAIRN_LOG_LEVEL: 'warn' } });
  return { proc, clientUrl };
}

describe('data dirs of single nodes and cluster members', () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a one-member cluster elects itself, takes writes and keeps them across a restart', async () => {
    const dataDir = join(root, 'solo');
    const first = await member(dataDir);
    try {
      await waitForCairnReady(first.proc, first.clientUrl);
      const client = new V2Client({ endpoints: [first.clientUrl] });
      await client.set('/solo', 'one');
      assert.equal((await client.get('/solo', { quorum: true })).node.value, 'one');
      await client.close();
    } finally {
      assert.equal(await first.proc.kill('SIGTERM'), 0);
    }
    const second = await member(dataDir);
    try {
      await waitForCairnReady(second.proc, second.clientUrl);
      const client = new V2Client({ endpoints: [second.clientUrl] });
      assert.equal((await client.get('/solo')).node.value, 'one');
      await client.close();
    } finally {
      await second.proc.kill('SIGTERM');
    }

    // Without the cluster flags the same dir is refused rather than read as a single node's.
    const single = startProcess(process.execPath, [CAIRN_MAIN, 'serve', '--data-dir', dataDir, '--listen-client-urls', `http://127.0.0.1:${await freePort()}`]);
    assert.equal(await single.exited, 1);
    assert.match(single.output(), /belongs to a cluster member/);
  });

  test('a single-node data dir is refused as a cluster member', async () => {
    const dataDir = join(root, 'single');
    const single = await startCairn({ dataDir });
    const client = new V2Client({ endpoints: [single.url] });
    await client.set('/alone', 'yes');
    await client.close();
    await single.stop();
    const { proc } = await member(dataDir);
    assert.equal(await proc.exited, 1);
    assert.match(proc.output(), /holds a single-node store/);
  });

  test('an empty data dir with --initial-cluster-state existing and no other member to ask fails, as in etcd', async () => {
    const { proc } = await member(join(root, 'joiner'), ['--initial-cluster-state', 'existing']);
    assert.equal(await proc.exited, 1);
    assert.match(proc.output(), /cannot fetch cluster info from peer urls: could not retrieve cluster information from the given URLs/);
  });
});
