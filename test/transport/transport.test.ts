import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { silentLogger } from '../../src/log/logger.js';
import type { Message, NodeId } from '../../src/raft/types.js';
import { PeerTransport, type TransportHandlers } from '../../src/transport/transport.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

const A: NodeId = '000000000000000a';
const B: NodeId = '000000000000000b';

interface Recorder extends TransportHandlers {
  readonly received: Message[];
  readonly unreachable: NodeId[];
  readonly snapshots: [NodeId, boolean][];
  readonly undelivered: Message[];
}

function recorder(): Recorder {
  const r: Recorder = {
    received: [],
    unreachable: [],
    snapshots: [],
    undelivered: [],
    onMessages: (messages) => r.received.push(...messages),
    onUnreachable: (id) => r.unreachable.push(id),
    onSnapshotStatus: (id, ok) => r.snapshots.push([id, ok]),
    onBatch: () => undefined,
    onUndelivered: (_id, messages) => r.undelivered.push(...messages),
  };
  return r;
}

const heartbeat = (from: NodeId, to: NodeId, commit: number): Message => ({ type: 'heartbeat', from, to, term: 2, commit });

describe('peer transport over HTTP', () => {
  const open: PeerTransport[] = [];
  after(async () => {
    await Promise.all(open.map((t) => t.close()));
  });

  async function node(id: NodeId, clusterId: string, handlers: TransportHandlers): Promise<{ transport: PeerTransport; url: string }> {
    const transport = new PeerTransport({ id, clusterId, logger: silentLogger(), handlers, messageTimeoutMs: 2_000 });
    open.push(transport);
    const [url] = await transport.listen([`http://127.0.0.1:${await freePort()}`]);
    return { transport, url: url as string };
  }

  test('messages arrive in the order they were sent, snapshots are reported delivered', async () => {
    const ra = recorder();
    const rb = recorder();
    const a = await node(A, 'c1', ra);
    const b = await node(B, 'c1', rb);
    a.transport.setPeers(new Map([[B, [b.url]]]));
    for (let i = 1; i <= 300; i++) a.transport.send([heartbeat(A, B, i)]);
    a.transport.send([{ type: 'snapshot', from: A, to: B, term: 2, snapshot: { index: 9, term: 2, voters: [A, B], data: new Uint8Array(100_000) } }]);
    await waitFor(() => rb.received.length === 301 && ra.snapshots.length === 1);
    const commits = rb.received.filter((m) => m.type === 'heartbeat').map((m) => (m.type === 'heartbeat' ? m.commit : 0));
    assert.deepEqual(commits, Array.from({ length: 300 }, (_, i) => i + 1));
    assert.deepEqual(ra.snapshots, [[B, true]]);
    assert.deepEqual(ra.unreachable, []);
  });

  test('a member of another cluster is refused; its messages are never handed on', async () => {
    const rb = recorder();
    const b = await node(B, 'c1', rb);
    const rx = recorder();
    const x = await node(A, 'other', rx);
    x.transport.setPeers(new Map([[B, [b.url]]]));
    x.transport.send([heartbeat(A, B, 1)]);
    await waitFor(() => rx.unreachable.length > 0);
    assert.deepEqual(rb.received, []);
    assert.deepEqual(rx.undelivered, [], 'a refusal is an answer: not proof that nothing arrived');
  });

  test('a peer that is down: unreachable reported, refused connections report the batch undelivered, snapshots fail', async () => {
    const ra = recorder();
    const a = await node(A, 'c1', ra);
    const down = `http://127.0.0.1:${await freePort()}`;
    a.transport.setPeers(new Map([[B, [down]]]));
    const propose: Message = { type: 'propose', from: A, to: B, term: 0, entries: [{ term: 0, index: 0, kind: 'normal', data: new Uint8Array([1]) }] };
    a.transport.send([propose]);
    a.transport.send([{ type: 'snapshot', from: A, to: B, term: 2, snapshot: { index: 9, term: 2, voters: [A, B], data: new Uint8Array(10) } }]);
    await waitFor(() => ra.snapshots.length === 1 && ra.undelivered.length === 1);
    assert.deepEqual(ra.snapshots, [[B, false]]);
    assert.ok(ra.unreachable.includes(B));
    assert.equal(ra.undelivered[0]?.type, 'propose');
  });
});
