/**
 * Debian's etcdctl in v2 mode, run through the tutorial flows against a real
 * etcd and against Cairn: what a user sees (stdout, stderr, exit code) must
 * be the same, apart from values that legitimately differ between two
 * servers (see etcdctl-normalize.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCairn, type CairnServer } from '../support/cairn.js';
import { startEtcd, type EtcdServer } from '../support/etcd.js';
import { skipUnless } from '../support/require-tool.js';
import { ttlsAgree } from '../support/etcdctl-normalize.js';
import { v2Put } from '../support/v2-probe.js';
import {
  act,
  ctl,
  ctlUnordered,
  ctlWith,
  modifiedIndexOf,
  runFlow,
  waitGone,
  watchLive,
  watchOnce,
  watchOnceWith,
  type FlowStep,
  type FlowTarget,
  type FlowTranscript,
} from '../support/etcdctl-flow.js';

const skip = skipUnless('etcd') || skipUnless('etcdctl');

// The exec-watch command from the CoreOS "Getting started with etcd" guide, verbatim.
const SEED_EXEC =
  'echo "\\"$ETCD_WATCH_KEY\\" key was updated to \\"$ETCD_WATCH_VALUE\\" value by \\"$ETCD_WATCH_ACTION\\" action"';
const EXEC_WITH_INDEX = 'echo "$ETCD_WATCH_ACTION $ETCD_WATCH_KEY=$ETCD_WATCH_VALUE index=$ETCD_WATCH_MODIFIED_INDEX"';

function lineCount(text: string): number {
  return text.split('\n').filter((l) => l !== '').length;
}

describe('etcdctl (ETCDCTL_API=2) against etcd and Cairn', { skip }, () => {
  let etcd: EtcdServer | undefined;
  let cairn: CairnServer | undefined;
  let ref: FlowTarget;
  let subject: FlowTarget;

  before(async () => {
    [etcd, cairn] = await Promise.all([startEtcd(), startCairn()]);
    ref = { name: 'etcd', url: etcd.url, baseIndex: 0 };
    subject = { name: 'cairn', url: cairn.url, baseIndex: 0 };
  });

  after(async () => {
    await Promise.all([etcd?.stop(), cairn?.destroy()]);
  });

  /** Runs the flow on etcd, then on Cairn, and requires the same transcript. */
  async function sameAsEtcd(steps: readonly FlowStep[], hidden: readonly string[] = []): Promise<FlowTranscript> {
    const want = await runFlow(ref, steps, hidden);
    const got = await runFlow(subject, steps, hidden);
    try {
      assert.equal(got.text, want.text);
    } catch (err) {
      if (err instanceof assert.AssertionError) {
        err.message += `\n\n--- etcd, as printed ---\n${want.raw}\n\n--- cairn, as printed ---\n${got.raw}`;
      }
      throw err;
    }
    assert.ok(ttlsAgree(got.ttls, want.ttls), `TTLs differ by more than 1 s: cairn [${got.ttls.join(', ')}], etcd [${want.ttls.join(', ')}]`);
    return got;
  }

  test('getting started: set, get, rm, directories, test-and-set, listings', async () => {
    const got = await sameAsEtcd([
      ctl('set', '/message1', 'Book1'),
      ctl('get', '/message1'),
      ctl('rm', '/message1'),
      ctl('get', '/message1'),
      ctl('set', '/foo-directory/foo-key', 'somekey'),
      ctlUnordered('ls', '/foo-directory', '--recursive'),
      ctl('get', '/foo-directory/foo-key'),
      ctl('get', '/foo-directory'),
      ctl('mkdir', '/foo-service'),
      ctl('mkdir', '/foo-service'),
      ctl('set', '/foo-service/container1', 'localhost:1111'),
      ctlUnordered('ls', '/foo-service'),
      ctl('set', '/message', 'Hello'),
      ctl('set', '/message', 'Hi', '--swap-with-value', 'Hello'),
      ctl('set', '/message', 'Bye', '--swap-with-value', 'Hello'),
      ctl('get', '/message'),
      ctlUnordered('ls', '/'),
      ctlUnordered('ls', '/', '--recursive'),
      ctl('get', '/'),
      ctl('-o', 'extended', 'get', '/message'),
      ctl('-o', 'json', 'get', '/message'),
      ctl('--no-sync', 'get', '/message'),
      ctl('get', '--quorum', '/message'),
    ]);
    // What the tutorials print, checked on Cairn's own output too.
    assert.match(got.text, /^\$ etcdctl get \/message1\nerr\| Error: {2}100: Key not found \(\/message1\) \[#\d+\]\n\[exit 4\]$/m);
    assert.match(got.text, /^err\| Error: {2}101: Compare failed \(\[Hello != Hi\]\) \[#\d+\]$/m);
  });

  test('etcdctl tutorial: mk, mkdir, update, updatedir, set, setdir, rm, rmdir', async () => {
    await sameAsEtcd([
      ctl('mkdir', '/example'),
      ctl('mk', '/example/key', 'data'),
      ctl('mk', '/example/key', 'again'),
      ctl('get', '/example/key'),
      ctl('update', '/example/key', 'turtles'),
      ctl('update', '/example/missing', 'x'),
      ctl('update', '/example', 'x'),
      ctl('mkdir', '/here/you/go', '--ttl', '120'),
      ctl('-o', 'extended', 'ls', '/here/you/go'),
      ctl('updatedir', '/here/you/go', '--ttl', '500'),
      ctl('-o', 'extended', 'ls', '/here/you/go'),
      ctl('updatedir', '/here/nowhere', '--ttl', '5'),
      ctl('updatedir', '/example/key', '--ttl', '5'),
      ctl('set', '/example/key', 'new'),
      ctl('set', '/example', 'new'),
      ctl('set', '/a/b/c', 'here'),
      ctl('set', '/a/b/c/d', 'under a key'),
      ctl('setdir', '/x/y/z'),
      ctl('setdir', '/x/y/z'),
      ctl('setdir', '/example/key'),
      ctl('mkdir', '/example/key'),
      ctl('rm', '/a/b/c'),
      ctl('rm', '/a/b'),
      ctl('rm', '/a', '--recursive'),
      ctl('rm', '/a', '--recursive'),
      ctl('rmdir', '/x/y/z'),
      ctl('rmdir', '/x'),
      ctl('rm', '/x'),
      ctl('rm', '/x', '--dir'),
      ctl('rm', '/x/y', '--dir'),
      ctl('rmdir', '/example/key'),
      ctl('rmdir', '/nothing'),
      ctl('rm', '/nothing'),
      ctl('ls', '/nothing'),
      ctl('ls', '--sort', '-p', '--recursive', '/'),
      ctl('ls', '--sort', '-p', '/'),
      ctl('ls', '--sort', '/example'),
    ]);
  });

  test('hidden keys stay out of listings but can be read directly', async () => {
    await sameAsEtcd(
      [
        ctl('set', '/_hidden/secret', 's3cret'),
        ctl('mkdir', '/_hiddendir'),
        ctl('set', '/visible', 'v'),
        ctl('set', '/d/_inner', 'x'),
        ctl('set', '/d/shown', 'y'),
        ctlUnordered('ls', '/'),
        ctlUnordered('ls', '--recursive', '/'),
        ctl('ls', '--sort', '/d'),
        ctl('get', '/_hidden/secret'),
        ctl('get', '/d/_inner'),
        ctl('ls', '/_hidden'),
        ctl('-o', 'json', 'ls', '--sort', '/d'),
        ctl('set', '/visible/child', 'x'),
        // From the etcdctl tutorial (etcd 0.4 kept its machines there; etcd 3.4 has no such key).
        ctl('ls', '/_etcd/machines', '--recursive'),
      ],
      ['/_hidden', '/_hiddendir'],
    );
  });

  test('unusual keys, values and paths survive the round trip', async () => {
    await sameAsEtcd([
      ctl('set', '/odd keys/a b', 'v w'),
      ctl('set', '/odd keys/ü/é', 'ünïcödé ☃'),
      ctl('set', '/odd keys/p%20q', 'percent'),
      ctl('set', '/odd keys/q?x=1', 'question'),
      ctl('set', '/odd keys/h#frag', 'hash'),
      ctl('set', '/odd keys/amp&eq=', 'a=b&c=d+e'),
      ctl('set', '--', '/odd keys/dash', '-leading'),
      ctl('set', '/odd keys/nl', 'line1\nline2'),
      ctl('set', '/odd keys/empty', ''),
      ctl('ls', '--sort', '--recursive', '/odd keys'),
      ctl('get', '/odd keys/q?x=1'),
      ctl('get', '/odd keys/p%20q'),
      ctl('get', '/odd keys/amp&eq='),
      ctl('-o', 'json', 'get', '/odd keys/ü/é'),
      ctl('-o', 'extended', 'get', '/odd keys/nl'),
      ctl('-o', 'json', 'get', '/odd keys/empty'),
      ctl('set', '//dbl//slash', 'x'),
      ctl('get', '/dbl/slash'),
      ctl('set', '/trail/', 'x'),
      ctl('ls', '--sort', '/trail'),
      ctl('set', '/odd/./dot', 'd'),
      ctl('get', '/odd/dot'),
      ctl('set', '/odd/..', 'dots'),
      ctl('set', '/', 'x'),
      ctl('rm', '/', '--recursive'),
      ctl('mkdir', '/'),
      ctl('rmdir', '/'),
      ctl('ls', '--sort', '-p', '/'),
    ]);
  });

  test('TTLs: keys and directories expire, update and set change the TTL', async () => {
    const got = await sameAsEtcd([
      ctl('set', '/foo', "I'm Expiring in 30 sec", '--ttl', '30'),
      ctl('get', '/foo'),
      ctl('-o', 'extended', 'get', '/foo'),
      ctl('-o', 'json', 'get', '/foo'),
      ctl('update', '/foo', 'still here', '--ttl', '40'),
      ctl('-o', 'extended', 'get', '/foo'),
      ctl('set', '/foo', 'forever'),
      ctl('-o', 'extended', 'get', '/foo'),
      ctl('setdir', '/tdir', '--ttl', '30'),
      ctl('-o', 'extended', 'ls', '/tdir'),
      ctl('updatedir', '/tdir', '--ttl', '60'),
      ctl('-o', 'json', 'ls', '/tdir'),
      ctl('set', '/short', 'gone soon', '--ttl', '1'),
      waitGone('/short'),
      ctl('mkdir', '/shortdir', '--ttl', '1'),
      ctl('set', '/shortdir/child', 'goes with its dir'),
      waitGone('/shortdir'),
      ctl('get', '/short'),
      ctl('get', '/shortdir/child'),
      ctl('ls', '/shortdir'),
    ]);
    assert.match(got.text, /^err\| Error: {2}100: Key not found \(\/short\) \[#\d+\]$/m);
  });

  test('conditional writes, conditional deletes and in-order keys', async () => {
    await sameAsEtcd([
      ctl('set', '/cas', 'one'),
      ctlWith('set /cas two --swap-with-index <modifiedIndex of /cas>', async (t) => [
        'set', '/cas', 'two', '--swap-with-index', String(await modifiedIndexOf(t, '/cas')),
      ]),
      // base + 1 is the index the first write of the flow got: now stale.
      ctlWith('set /cas three --swap-with-index <stale index>', async (t) => ['set', '/cas', 'three', '--swap-with-index', String(t.baseIndex + 1)]),
      ctl('set', '/cas', 'three', '--swap-with-value', 'one'),
      ctl('-o', 'extended', 'set', '/cas', 'three', '--swap-with-value', 'two'),
      ctl('set', '/missing', 'x', '--swap-with-value', 'y'),
      ctl('mk', '/cas', 'x'),
      ctl('rm', '/cas', '--with-value', 'nope'),
      ctlWith('rm /cas --with-index <stale index>', async (t) => ['rm', '/cas', '--with-index', String(t.baseIndex + 1)]),
      ctlWith('-o extended rm /cas --with-index <modifiedIndex of /cas>', async (t) => [
        '-o', 'extended', 'rm', '/cas', '--with-index', String(await modifiedIndexOf(t, '/cas')),
      ]),
      ctl('set', '/cas2', 'v'),
      ctl('-o', 'json', 'rm', '/cas2', '--with-value', 'v'),
      ctl('rm', '/cas2', '--with-value', 'v'),
      ctl('mk', '--in-order', '/queue', 'job1'),
      ctl('mk', '--in-order', '/queue', 'job2'),
      ctl('-o', 'json', 'mk', '--in-order', '/queue', 'job3'),
      ctl('-o', 'extended', 'mk', '--in-order', '/queue', 'job4'),
      ctl('ls', '--sort', '/queue'),
      ctl('-o', 'json', 'ls', '--sort', '/queue'),
      ctl('ls', '--sort', '-p', '/'),
    ]);
  });

  test('-o json and -o extended output of every write command', async () => {
    await sameAsEtcd([
      ctl('-o', 'json', 'set', '/fmt/a', 'alpha'),
      ctl('-o', 'extended', 'set', '/fmt/a', 'beta'),
      ctl('-o', 'json', 'mk', '/fmt/b', 'bravo'),
      ctl('-o', 'extended', 'mk', '/fmt/c', 'charlie'),
      ctl('-o', 'json', 'mkdir', '/fmt/d'),
      ctl('-o', 'extended', 'mkdir', '/fmt/e'),
      ctl('-o', 'json', 'setdir', '/fmt/f'),
      ctl('-o', 'extended', 'update', '/fmt/a', 'gamma'),
      ctl('-o', 'json', 'update', '/fmt/a', 'delta', '--ttl', '100'),
      ctl('-o', 'json', 'updatedir', '/fmt/d', '--ttl', '100'),
      ctl('-o', 'json', 'rmdir', '/fmt/e'),
      ctl('-o', 'extended', 'rmdir', '/fmt/f'),
      ctl('-o', 'json', 'rm', '/fmt/a'),
      ctl('-o', 'extended', 'rm', '/fmt', '--recursive'),
      ctl('-o', 'json', 'get', '/fmt'),
      ctl('-o', 'extended', 'get', '/fmt'),
      ctl('-o', 'json', 'mk', '/dup', 'x'),
      ctl('-o', 'json', 'mk', '/dup', 'x'),
      ctl('-o', 'extended', 'mkdir', '/dup'),
    ]);
  });

  test('member list and cluster-health', async () => {
    const got = await sameAsEtcd([ctl('member', 'list'), ctl('cluster-health')]);
    assert.match(got.text, /^out\| <id>: name=<name> peerURLs=<peers> clientURLs=<url> isLeader=true$/m);
    assert.match(got.text, /^out\| cluster is healthy$/m);
  });

  test('watch: one-shot watches on keys and directories, and --after-index from history', async () => {
    await sameAsEtcd([
      ctl('mkdir', '/foo-data'),
      watchOnce(['watch', '/foo-data', '--recursive'], [ctl('set', '/foo-data/Book', 'is_cool')]),
      ctl('set', '/w', 'first'),
      watchOnce(['watch', '/w'], [ctl('set', '/w', 'hello')]),
      watchOnce(['-o', 'extended', 'watch', '/w'], [ctl('update', '/w', 'again')]),
      watchOnce(['-o', 'json', 'watch', '/w'], [ctl('rm', '/w')]),
      // etcdctl's watch skips events on directories and keeps waiting, so a key write ends these.
      watchOnce(['watch', '--recursive', '/'], [ctl('mkdir', '/newdir'), ctl('set', '/newdir/k', 'in new dir')]),
      watchOnce(['watch', '/foo-data/Book'], [ctl('rm', '/foo-data', '--recursive'), ctl('set', '/foo-data/Book', 'back')]),
      ctlWith('watch --after-index <first write> --recursive /foo-data', async (t) => [
        'watch', '--after-index', String(t.baseIndex + 1), '--recursive', '/foo-data',
      ]),
      ctlWith('-o extended watch --after-index <first write> /w', async (t) => ['-o', 'extended', 'watch', '--after-index', String(t.baseIndex + 1), '/w']),
      watchOnceWith('watch --after-index <current index> /w', async (t) => ['watch', '--after-index', String(await currentIndex(t)), '/w'], [
        ctl('set', '/w', 'after the index'),
      ]),
    ]);
  });

  test('watch --after-index older than the event history gives error 401', async () => {
    await sameAsEtcd([
      ctl('set', '/hist/first', 'x'),
      act('(1100 PUTs to /hist/k<i> over HTTP)', async (t) => {
        await writeMany(t.url, 1100, (i) => `/hist/k${i % 50}`);
      }),
      ctlWith('watch --after-index <first write> /hist/first', async (t) => ['watch', '--after-index', String(t.baseIndex + 1), '/hist/first']),
      ctlWith('watch --after-index <index before the first write> --recursive /hist', async (t) => ['watch', '--after-index', String(t.baseIndex), '--recursive', '/hist']),
    ]);
  });

  test('watch --forever sees set, update, delete and expire in order, and replays from --after-index', async () => {
    await sameAsEtcd([
      ctl('mkdir', '/foo-service'),
      watchLive(
        ['watch', '--forever', '--recursive', '/foo-service'],
        [
          ctl('set', '/foo-service/container2', 'localhost:2222'),
          ctl('update', '/foo-service/container2', 'localhost:2223'),
          ctl('rm', '/foo-service/container2'),
          ctl('set', '/foo-service/lease', 'short', '--ttl', '1'),
          waitGone('/foo-service/lease'),
          ctl('mkdir', '/foo-service/sub'),
          ctl('set', '/foo-service/sub/done', 'END'),
        ],
        (out) => out.includes('END'),
      ),
      watchLive(
        async (t) => ['watch', '--forever', '--after-index', String(t.baseIndex + 1), '/foo-service/container2'],
        [ctl('set', '/foo-service/container2', 'back'), ctl('set', '/foo-service/container2', 'FIN')],
        (out) => out.includes('FIN'),
        { label: 'watch --forever --after-index <first write> /foo-service/container2' },
      ),
    ]);
  });

  test('exec-watch runs the command with ETCD_WATCH_* for every change', async () => {
    const got = await sameAsEtcd([
      ctl('mkdir', '/foo-service'),
      watchLive(
        ['exec-watch', '--recursive', '/foo-service', '--', 'sh', '-c', SEED_EXEC],
        [ctl('set', '/foo-service/container3', 'localhost:2222')],
        (out) => out.includes('container3'),
      ),
      watchLive(
        ['exec-watch', '--recursive', '/foo-service', '--', 'sh', '-c', EXEC_WITH_INDEX],
        [
          ctl('set', '/foo-service/c4', 'one'),
          ctl('update', '/foo-service/c4', 'two'),
          ctl('rm', '/foo-service/c4'),
          ctl('set', '/foo-service/c5', 'END'),
        ],
        (out) => lineCount(out) >= 4,
        // etcdctl starts each command in its own goroutine, so lines may interleave.
        { unordered: true },
      ),
      ctl('set', '/cfg', 'initial'),
      watchLive(
        // Without a flag before the key, etcdctl 3.4 mis-parses "key -- command"; -r on a key watches just that key.
        ['exec-watch', '-r', '/cfg', '--', 'sh', '-c', EXEC_WITH_INDEX],
        [ctl('set', '/cfg', 'a'), ctl('set', '/other', 'ignored'), ctl('set', '/cfg', 'b')],
        (out) => lineCount(out) >= 2,
        { unordered: true },
      ),
    ]);
    assert.match(got.text, /^out\| "\/foo-service\/container3" key was updated to "localhost:2222" value by "set" action$/m);
  });
});

async function currentIndex(target: FlowTarget): Promise<number> {
  const res = await fetch(`${target.url}/v2/keys/`);
  await res.arrayBuffer();
  return Number(res.headers.get('x-etcd-index'));
}

/** `count` PUTs with a few in flight at a time; every one must succeed. */
async function writeMany(url: string, count: number, keyOf: (i: number) => string): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const res = await v2Put(url, keyOf(i), { value: `v${i}` });
      if (res.status >= 300) throw new Error(`PUT ${keyOf(i)} failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}
