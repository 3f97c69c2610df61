/**
 * The rules behind runtime membership, without processes: request parsing
 * with etcd's messages, ids as etcd derives and prints them, the strict
 * reconfiguration check, and the replicated member list (removed ids are
 * kept for good, also across snapshots).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkJsonContentType, etcdIdString, MemberRequestError, parseMemberId, parsePeerUrlsBody } from '../../src/http/member-request.js';
import { decodeConfChange, encodeConfChange } from '../../src/raft/conf-change.js';
import { memberIdFor, runtimeMemberId } from '../../src/replica/cluster-spec.js';
import { decodeConfContext, encodeConfContext } from '../../src/replica/conf-context.js';
import {
  IdExistsError,
  IdNotFoundError,
  IdRemovedError,
  NotEnoughStartedMembersError,
  PeerUrlExistsError,
  UnhealthyReconfigError,
} from '../../src/replica/membership-errors.js';
import { checkAddVoter, checkRemoveVoter, type ReconfigView } from '../../src/replica/reconfig-check.js';
import { ReplicaStateMachine } from '../../src/replica/state-machine.js';
import { foundJoining } from '../../src/replica/founding.js';
import { MemberRegistry } from '../../src/replica/members.js';
import { openReplicaStorage } from '../../src/replica/replica-storage.js';
import { parseInitialCluster } from '../../src/replica/cluster-spec.js';
import { silentLogger } from '../../src/log/logger.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const A = '000000000000000a';
const B = '000000000000000b';
const C = '000000000000000c';
const D = '000000000000000d';

function refused(status: number, message: string): (err: unknown) => boolean {
  return (err) => err instanceof MemberRequestError && err.status === status && err.message === message;
}

describe('membership requests and rules', () => {
  test('peer URL bodies are checked as etcd checks them, with its messages', () => {
    assert.deepEqual(parsePeerUrlsBody('{"peerURLs":["http://b:2","http://a:1"]}'), ['http://a:1', 'http://b:2']);
    assert.deepEqual(parsePeerUrlsBody('{"PEERURLS":[" HTTP://a:1 "]}'), ['http://a:1']);
    assert.throws(() => parsePeerUrlsBody('{"peerURLs":["http://a:1/"]}'), refused(400, 'URL must not contain a path: http://a:1/'));
    assert.throws(() => parsePeerUrlsBody('{"peerURLs":["http://a"]}'), refused(400, 'URL address does not have the form "host:port": http://a'));
    assert.throws(() => parsePeerUrlsBody('{"peerURLs":["a:1"]}'), refused(400, 'URL scheme must be http, https, unix, or unixs: a:1'));
    assert.throws(() => parsePeerUrlsBody('{"peerURLs":[]}'), refused(400, 'no valid URLs given'));
    assert.throws(() => parsePeerUrlsBody(''), refused(400, 'unexpected end of JSON input'));
    assert.throws(() => parsePeerUrlsBody('{"peerURLs":{}}'), refused(400, 'json: cannot unmarshal object into Go struct field .peerURLs of type []string'));
    assert.throws(() => checkJsonContentType('text/plain; charset=utf-8'), refused(415, 'Bad Content-Type text/plain, accept application/json'));
    checkJsonContentType('Application/JSON; charset=utf-8');
  });

  test('ids: hex of any case and length up to 64 bits, printed without leading zeros', () => {
    assert.equal(parseMemberId('ABC'), '0000000000000abc');
    assert.equal(parseMemberId('00000000000000000abc'), '0000000000000abc');
    assert.equal(parseMemberId('10000000000000000'), undefined);
    assert.equal(parseMemberId('0x1'), undefined);
    assert.equal(etcdIdString('0000000000000abc'), 'abc');
    assert.equal(etcdIdString('0000000000000000'), '0');
  });

  test('a runtime member id hashes the peer URLs with the Unix second, so it never comes back', () => {
    const urls = ['http://127.0.0.1:2380'];
    assert.equal(runtimeMemberId(urls, 1_700_000_000_999), memberIdFor(urls, '1700000000'));
    assert.notEqual(runtimeMemberId(urls, 1_700_000_001_000), runtimeMemberId(urls, 1_700_000_000_000));
  });

  test('a conf change carries its context through the log entry', () => {
    const context = encodeConfContext({ requestId: 'r-1', peerURLs: ['http://x:1'] });
    const change = decodeConfChange(encodeConfChange({ type: 'add', id: D, context }));
    assert.deepEqual(change, { type: 'add', id: D, context });
    assert.deepEqual(decodeConfContext(change), { requestId: 'r-1', peerURLs: ['http://x:1'] });
    assert.deepEqual(decodeConfChange(encodeConfChange({ type: 'remove', id: D })), { type: 'remove', id: D });
  });

  test("strict reconfiguration: started members and, on a leader, who it can reach", () => {
    const view = (voters: string[], started: string[], alive?: string[]): ReconfigView => ({
      self: A,
      voters,
      started: (id) => started.includes(id),
      alive: alive === undefined ? undefined : new Set(alive),
    });
    // A one-member cluster may add its second member, which then has to start.
    checkAddVoter(view([A], [A]));
    assert.throws(() => checkAddVoter(view([A, B], [A])), NotEnoughStartedMembersError);
    checkAddVoter(view([A, B, C], [A, B, C], [B, C]));
    assert.throws(() => checkAddVoter(view([A, B, C], [A, B, C], [B])), UnhealthyReconfigError);
    // The last member cannot go; a down member can, a live one only if a quorum stays reachable.
    assert.throws(() => checkRemoveVoter(view([A], [A]), A), NotEnoughStartedMembersError);
    checkRemoveVoter(view([A, B, C], [A, B, C], [B]), C);
    assert.throws(() => checkRemoveVoter(view([A, B, C], [A, B, C], [B]), B), UnhealthyReconfigError);
    assert.throws(() => checkRemoveVoter(view([A, B, C, D], [A, B], undefined), B), NotEnoughStartedMembersError);
  });

  test('the member list refuses what etcd refuses, and remembers removed ids across snapshots', () => {
    const founders = [
      { id: A, name: 'a', peerURLs: ['http://a:1'] },
      { id: B, name: 'b', peerURLs: ['http://b:1'] },
    ];
    const machine = ReplicaStateMachine.fromImage(ReplicaStateMachine.genesis(founders));
    const add = (id: string, url: string) => ({ type: 'add' as const, id, context: encodeConfContext({ requestId: `add-${id}`, peerURLs: [url] }) });
    const refusal = (change: Parameters<typeof machine.checkConfChange>[0]) => {
      const r = machine.checkConfChange(change);
      return r === undefined || r.ok ? undefined : r.error;
    };
    assert.ok(refusal(add(C, 'http://a:1')) instanceof PeerUrlExistsError);
    assert.ok(refusal(add(A, 'http://z:1')) instanceof IdExistsError);
    assert.equal(refusal(add(C, 'http://c:1')), undefined);
    assert.deepEqual(machine.applyConfChange(add(C, 'http://c:1')), { id: `add-${C}`, ok: true, event: undefined });
    assert.deepEqual(machine.members.get(C), { id: C, name: '', peerURLs: ['http://c:1'], clientURLs: [] });
    machine.applyConfChange({ type: 'remove', id: C });
    assert.ok(refusal({ type: 'remove', id: C }) instanceof IdRemovedError);
    assert.ok(refusal({ type: 'remove', id: D }) instanceof IdNotFoundError);

    const restored = ReplicaStateMachine.fromImage(machine.image());
    assert.equal(restored.members.isRemoved(C), true);
    assert.throws(() => restored.members.checkAdd(C, ['http://new:1']), IdRemovedError);
    // A freed peer URL may be used again (under a new id).
    restored.members.checkAdd(D, ['http://c:1']);
  });

  test('a joining member takes its id from the cluster, starts empty, and can restart before the leader reached it', async () => {
    const spec = parseInitialCluster('a=http://a:1,new=http://n:1', 'ignored');
    const remote = { clusterId: '00000000000000cc', members: [
      { id: A, name: 'a', peerURLs: ['http://a:1'], clientURLs: ['http://a:2'] },
      { id: D, name: '', peerURLs: ['http://n:1'], clientURLs: [] },
    ] };
    const founding = foundJoining(spec, 'new', remote, silentLogger());
    assert.deepEqual(founding.identity, { memberId: D, clusterId: '00000000000000cc', name: 'new', joined: true });
    assert.deepEqual({ index: founding.snapshot.index, voters: founding.snapshot.voters }, { index: 0, voters: [] });
    assert.throws(() => foundJoining(parseInitialCluster('a=http://a:1', 't'), 'a', remote, silentLogger()), /member count is unequal/);
    assert.throws(() => foundJoining(parseInitialCluster('a=http://a:1,new=http://other:1', 't'), 'new', remote, silentLogger()), /no member with the peer URLs http:\/\/other:1/);

    const dir = mkdtempSync(join(tmpdir(), 'cairn-join-'));
    try {
      const first = await openReplicaStorage({ dataDir: dir, logger: silentLogger(), found: async () => founding });
      assert.equal(first.bootstrapped, true);
      await first.wal.close();
      const again = await openReplicaStorage({ dataDir: dir, logger: silentLogger(), found: async () => assert.fail('found twice') });
      assert.deepEqual(again.identity, founding.identity);
      assert.equal(again.snapshot.index, 0);
      assert.deepEqual(ReplicaStateMachine.fromImage(again.snapshot.data).members.list(), MemberRegistry.fromJson(remote.members).list());
      await again.wal.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
