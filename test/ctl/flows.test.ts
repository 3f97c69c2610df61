/**
 * `cairn ctl` against Cairn must look exactly like etcdctl (ETCDCTL_API=2)
 * against a real etcd 3.4: the same flows run on both pairs, and the
 * transcripts (stdout, stderr, exit code of every command) must match
 * once indexes, TTLs and server identities are normalized.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCairn, type CairnServer } from '../support/cairn.js';
import { startEtcd, type EtcdServer } from '../support/etcd.js';
import { skipUnless } from '../support/require-tool.js';
import {
  ctl,
  ctlStdin,
  ctlUnordered,
  ctlWith,
  modifiedIndexOf,
  waitGone,
  watchLive,
  watchOnce,
  watchOnceWith,
  type FlowTarget,
} from '../support/etcdctl-flow.js';
import { CAIRN_CTL, sameAsEtcdctl } from './harness.js';

const skip = skipUnless('etcd') || skipUnless('etcdctl');

// The exec-watch command of the CoreOS "Getting started with etcd" guide, verbatim.
const SEED_EXEC =
  'echo "\\"$ETCD_WATCH_KEY\\" key was updated to \\"$ETCD_WATCH_VALUE\\" value by \\"$ETCD_WATCH_ACTION\\" action"';
const EXEC_WITH_INDEX = 'echo "$ETCD_WATCH_ACTION $ETCD_WATCH_KEY=$ETCD_WATCH_VALUE index=$ETCD_WATCH_MODIFIED_INDEX"';

function lineCount(text: string): number {
  return text.split('\n').filter((l) => l !== '').length;
}

describe('cairn ctl against Cairn, side by side with etcdctl against etcd', { skip }, () => {
  let etcd: EtcdServer | undefined;
  let cairn: CairnServer | undefined;
  let ref: FlowTarget;
  let subject: FlowTarget;

  before(async () => {
    [etcd, cairn] = await Promise.all([startEtcd(), startCairn()]);
    ref = { name: 'etcd', url: etcd.url, baseIndex: 0 };
    subject = { name: 'cairn', url: cairn.url, baseIndex: 0, cli: CAIRN_CTL };
  });

  after(async () => {
    await Promise.all([etcd?.stop(), cairn?.destroy()]);
  });

  test('tutorial flows: keys, directories, test-and-set, listings and the three output formats', async () => {
    const got = await sameAsEtcdctl(ref, subject, [
      ctl('set', '/message1', 'Book1'),
      ctl('get', '/message1'),
      ctl('rm', '/message1'),
      ctl('get', '/message1'),
      ctl('set', '/foo-directory/foo-key', 'somekey'),
      ctlUnordered('ls', '/foo-directory', '--recursive'),
      ctl('get', '/foo-directory'),
      ctl('mkdir', '/foo-service'),
      ctl('mkdir', '/foo-service'),
      ctl('set', '/foo-service/container1', 'localhost:1111'),
      ctl('set', '/message', 'Hello'),
      ctl('set', '/message', 'Hi', '--swap-with-value', 'Hello'),
      ctl('set', '/message', 'Bye', '--swap-with-value', 'Hello'),
      ctl('-o', 'extended', 'get', '/message'),
      ctl('-o', 'json', 'get', '/message'),
      ctl('--output=json', 'get', '/message1'),
      ctl('-o', 'xml', 'get', '/message'),
      ctl('--no-sync', 'get', '--quorum', '--sort', '/message'),
      ctl('ls', '--sort', '-p', '--recursive', '/'),
      ctl('-o', 'json', 'ls', '--sort', '--recursive', '--quorum', '/foo-service'),
      ctl('-o', 'extended', 'ls', '/foo-service/container1'),
    ]);
    assert.match(got.text, /^\$ etcdctl get \/message1\nerr\| Error: {2}100: Key not found \(\/message1\) \[#\d+\]\n\[exit 4\]$/m);
    assert.match(got.text, /^err\| Error: {2}101: Compare failed \(\[Hello != Hi\]\) \[#\d+\]$/m);
  });

  test('every write command with its flags: conditions, TTLs, directories, in-order keys', async () => {
    await sameAsEtcdctl(ref, subject, [
      ctl('mk', '/example/key', 'data'),
      ctl('mk', '/example/key', 'again'),
      ctl('-o', 'json', 'update', '/example/key', 'turtles', '--ttl', '100'),
      ctl('mkdir', '/here/you/go', '--ttl', '120'),
      ctl('-o', 'extended', 'updatedir', '/here/you/go', '--ttl', '500'),
      ctl('-o', 'json', 'setdir', '/x/y/z', '--ttl', '60'),
      ctl('setdir', '/example/key'),
      ctl('-o', 'json', 'mk', '/fmt/b', 'bravo', '--ttl', '30'),
      ctl('set', '/cas', 'one'),
      ctlWith('set /cas two --swap-with-index <modifiedIndex of /cas>', async (t) => [
        'set', '/cas', 'two', '--swap-with-index', String(await modifiedIndexOf(t, '/cas')),
      ]),
      ctlWith('set /cas three --swap-with-index <stale index>', async (t) => ['set', '/cas', 'three', '--swap-with-index', String(t.baseIndex + 1)]),
      ctl('rm', '/cas', '--with-value', 'nope'),
      ctlWith('-o extended rm /cas --with-index <modifiedIndex of /cas>', async (t) => [
        '-o', 'extended', 'rm', '/cas', '--with-index', String(await modifiedIndexOf(t, '/cas')),
      ]),
      ctl('-o', 'json', 'rm', '/fmt/b', '--with-value', 'bravo'),
      ctl('mk', '--in-order', '/queue', 'job1'),
      ctl('-o', 'json', 'mk', '--in-order', '/queue', 'job2', '--ttl', '100'),
      ctl('ls', '--sort', '/queue'),
      ctl('rm', '/x/y', '--dir'),
      ctl('-o', 'extended', 'rmdir', '/x/y/z'),
      ctl('rmdir', '/example'),
      ctl('-o', 'json', 'rm', '/here', '--recursive'),
      ctl('set', '/short', 'gone soon', '--ttl', '1'),
      waitGone('/short'),
      ctl('get', '/short'),
      ctl('ls', '--sort', '-p', '--recursive', '/'),
    ]);
  });

  test('values from stdin and flags in odd places', async () => {
    await sameAsEtcdctl(ref, subject, [
      ctlStdin('from stdin\n', 'set', '/in/a'),
      ctlStdin('', 'set', '/in/empty'),
      ctlStdin('made', 'mk', '/in/b'),
      ctlStdin('queued', 'mk', '--in-order', '/in/q'),
      ctlStdin('updated\nover two lines\n', 'update', '/in/a'),
      ctlStdin('ignored', 'set', '/in/c', 'from the argument'),
      ctl('-o', 'json', 'ls', '--sort', '--recursive', '/in'),
      ctl('set', '--ttl', '50', '/flags/before', 'v'),
      ctl('-o', 'extended', 'get', '/flags/before'),
      ctl('set', '/flags/after', 'v', '--ttl=50'),
      ctl('set', '/flags/neg', '-5'),
      ctl('set', '--', '/flags/dash', '--ttl'),
      ctl('set', '/flags/extra', 'v', 'more', 'words'),
      ctl('ls', '--sort', '/flags'),
      ctl('ls', '/flags/neg'),
    ]);
  });

  test('watch and exec-watch: one-shot, --forever, --after-index, -o formats, ETCD_WATCH_* variables', async () => {
    const got = await sameAsEtcdctl(ref, subject, [
      ctl('mkdir', '/foo-data'),
      watchOnce(['watch', '/foo-data', '--recursive'], [ctl('set', '/foo-data/Book', 'is_cool')]),
      ctl('set', '/w', 'first'),
      watchOnce(['-o', 'extended', 'watch', '/w'], [ctl('update', '/w', 'again')]),
      watchOnce(['-o', 'json', 'watch', '/w'], [ctl('rm', '/w')]),
      // Directory events are skipped, so a key write ends this watch.
      watchOnce(['watch', '-r', '/'], [ctl('mkdir', '/newdir'), ctl('set', '/newdir/k', 'in new dir')]),
      ctlWith('watch --after-index <first write> --recursive /foo-data', async (t) => [
        'watch', '--after-index', String(t.baseIndex + 1), '--recursive', '/foo-data',
      ]),
      watchOnceWith('watch --after-index <now> /w', async (t) => ['watch', '--after-index', String(await storeIndex(t)), '/w'], [
        ctl('set', '/w', 'after the index'),
      ]),
      watchLive(
        ['watch', '--forever', '--recursive', '/foo-data'],
        [
          ctl('set', '/foo-data/c2', 'localhost:2222'),
          ctl('update', '/foo-data/c2', 'localhost:2223'),
          ctl('rm', '/foo-data/c2'),
          ctl('set', '/foo-data/lease', 'short', '--ttl', '1'),
          waitGone('/foo-data/lease'),
          ctl('set', '/foo-data/done', 'END'),
        ],
        (out) => out.includes('END'),
      ),
      watchLive(
        ['exec-watch', '--recursive', '/foo-data', '--', 'sh', '-c', SEED_EXEC],
        [ctl('mkdir', '/foo-data/dir'), ctl('set', '/foo-data/container3', 'localhost:2222')],
        (out) => out.includes('container3'),
      ),
      ctl('set', '/cfg', 'initial'),
      watchLive(
        ['exec-watch', '-r', '/cfg', '--', 'sh', '-c', EXEC_WITH_INDEX],
        [ctl('set', '/cfg', 'a'), ctl('rm', '/cfg')],
        (out) => lineCount(out) >= 2,
        // etcdctl starts each command without waiting for the last, so lines may interleave.
        { unordered: true },
      ),
      watchLive(
        // A flag without a value must precede the key, or etcdctl takes the key for part of the command.
        async (t) => ['exec-watch', '--after-index', String(t.baseIndex + 1), '-r', '/foo-data/Book', '--', 'sh', '-c', EXEC_WITH_INDEX],
        [ctl('set', '/foo-data/Book', 'FIN')],
        (out) => out.includes('FIN'),
        { label: 'exec-watch --after-index <first write> -r /foo-data/Book -- sh -c ...' },
      ),
    ]);
    assert.match(got.text, /^out\| "\/foo-data\/container3" key was updated to "localhost:2222" value by "set" action$/m);
    assert.match(got.text, /^err\| Ignored dir \/foo-data\/dir change$/m);
  });

  test('member list and cluster-health', async () => {
    const got = await sameAsEtcdctl(ref, subject, [ctl('member', 'list'), ctl('cluster-health'), ctl('member', 'list', 'extra')]);
    assert.match(got.text, /^out\| <id>: name=<name> peerURLs=<peers> clientURLs=<url> isLeader=true$/m);
    assert.match(got.text, /^out\| cluster is healthy$/m);
  });
});

async function storeIndex(target: FlowTarget): Promise<number> {
  const res = await fetch(`${target.url}/v2/keys/`);
  await res.arrayBuffer();
  return Number(res.headers.get('x-etcd-index'));
}
