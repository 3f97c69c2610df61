import { RaftCore, MemoryStorage, decodeConfChange } from '../../src/raft/index.js';
import type { Entry, HardState, Message, MessageType, NodeId, RaftConfig, ReadState, Ready } from '../../src/raft/index.js';
import { Prng } from './sim/prng.js';

/** Member id n as 16 hex digits. */
export function nid(n: number): NodeId {
  return n.toString(16).padStart(16, '0');
}

export const A = nid(1);
export const B = nid(2);
export const C = nid(3);
export const D = nid(4);
export const E = nid(5);

const enc = new TextEncoder();
const dec = new TextDecoder();

export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

export function text(b: Uint8Array): string {
  return dec.decode(b);
}

/**
 * Storage whose log starts at index 1 (no bootstrap snapshot), holding one
 * entry per term in `terms` (entry i+1 has term terms[i]). Paper scenarios
 * are easier to read with the paper's indexes.
 */
export function storageWith(voters: readonly NodeId[], terms: readonly number[] = [], hs?: Partial<HardState>): MemoryStorage {
  const s = new MemoryStorage({ index: 0, term: 0, voters: [...voters].sort(), data: new Uint8Array(0) });
  s.append(terms.map((term, i) => ({ term, index: i + 1, kind: 'normal' as const, data: bytes(`e${i + 1}`) })));
  s.setHardState({ term: terms[terms.length - 1] ?? 0, vote: '', commit: 0, ...hs });
  return s;
}

export type CoreOptions = Omit<RaftConfig, 'id'>;

/** Plain Raft as in the paper unless options say otherwise: no pre-vote, no check-quorum. */
export function newCore(id: NodeId, storage: MemoryStorage, opts: CoreOptions = {}, seed = 1): RaftCore {
  const prng = new Prng(seed * 7919 + parseInt(id.slice(-4), 16));
  return new RaftCore(
    {
      id,
      electionTicks: 10,
      heartbeatTicks: 1,
      preVote: false,
      checkQuorum: false,
      random: () => prng.next(),
      ...opts,
    },
    storage,
  );
}

/** What a driver does with a Ready: persist, (caller sends), apply conf changes, advance. */
export function persist(storage: MemoryStorage, rd: Ready): void {
  if (rd.snapshot !== undefined) storage.applySnapshot(rd.snapshot);
  if (rd.entries.length > 0) storage.append(rd.entries);
  if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
}

export interface Drained {
  messages: Message[];
  committed: Entry[];
  readStates: ReadState[];
  readies: Ready[];
}

/** Handle every pending Ready of one node; returns what came out. */
export function drain(core: RaftCore, storage: MemoryStorage): Drained {
  const out: Drained = { messages: [], committed: [], readStates: [], readies: [] };
  while (core.hasReady()) {
    const rd = core.ready();
    persist(storage, rd);
    for (const e of rd.committed) {
      if (e.kind === 'conf' && e.data.byteLength > 0) core.applyConfChange(decodeConfChange(e.data));
    }
    out.messages.push(...rd.messages);
    out.committed.push(...rd.committed);
    out.readStates.push(...rd.readStates);
    out.readies.push(rd);
    core.advance(rd);
  }
  return out;
}

export interface TestNode {
  readonly id: NodeId;
  readonly opts: CoreOptions;
  core: RaftCore;
  storage: MemoryStorage;
  /** Every entry this node applied, in order. */
  applied: Entry[];
  readStates: ReadState[];
}

/**
 * An in-memory network of cores in the style of etcd's raft_test network:
 * deliver everything until quiet, with links that can be cut and message
 * types that can be ignored.
 */
export class TestNet {
  readonly nodes = new Map<NodeId, TestNode>();
  private readonly cutLinks = new Set<string>();
  private readonly ignored = new Set<MessageType>();
  /** Drop any message this returns true for (scenario-specific losses). */
  dropIf: ((m: Message) => boolean) | undefined;
  /** Every message that was delivered, for assertions. */
  readonly trace: Message[] = [];
  private queue: Message[] = [];

  constructor(ids: readonly NodeId[], opts: CoreOptions = {}, voters: readonly NodeId[] = ids) {
    for (const id of ids) this.add(id, storageWith(voters), opts);
  }

  add(id: NodeId, storage: MemoryStorage, opts: CoreOptions = {}): TestNode {
    const node: TestNode = { id, opts, core: newCore(id, storage, opts), storage, applied: [], readStates: [] };
    this.nodes.set(id, node);
    return node;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  core(id: NodeId): RaftCore {
    return this.node(id).core;
  }

  /** Crash and restart `id`: everything not in its storage is lost. */
  restart(id: NodeId): void {
    const n = this.node(id);
    const snap = n.storage.snapshot();
    n.core = newCore(id, n.storage, { ...n.opts, ...(snap.index > 0 ? { applied: snap.index } : {}) });
    n.applied = [];
  }

  cut(a: NodeId, b: NodeId): void {
    this.cutLinks.add(`${a}>${b}`);
    this.cutLinks.add(`${b}>${a}`);
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.cutLinks.add(`${from}>${to}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  ignore(type: MessageType): void {
    this.ignored.add(type);
  }

  recover(): void {
    this.cutLinks.clear();
    this.ignored.clear();
    this.dropIf = undefined;
  }

  /** Collect Readies of every node into the queue. */
  flush(): void {
    for (const n of this.nodes.values()) this.flushNode(n);
  }

  private flushNode(n: TestNode): void {
    const d = drain(n.core, n.storage);
    n.applied.push(...d.committed);
    n.readStates.push(...d.readStates);
    this.queue.push(...d.messages);
  }

  /** Deliver messages (and their consequences) until the network is quiet. */
  stabilize(limit = 100_000): void {
    this.flush();
    let steps = 0;
    while (this.queue.length > 0) {
      if (++steps > limit) throw new Error('network did not stabilize');
      const m = this.queue.shift() as Message;
      if (this.cutLinks.has(`${m.from}>${m.to}`) || this.ignored.has(m.type)) continue;
      if (this.dropIf?.(m) === true) continue;
      const to = this.nodes.get(m.to);
      if (to === undefined) continue;
      this.trace.push(m);
      to.core.step(m);
      this.flushNode(to);
    }
  }

  /** Queue a hand-made message. */
  send(m: Message): void {
    this.queue.push(m);
  }

  /** Campaign from `id` and deliver until quiet. */
  elect(id: NodeId): void {
    this.core(id).campaign();
    this.stabilize();
  }

  /**
   * Campaign until `id` leads or `tries` elections were lost (a first
   * attempt can fail on votes already cast in that term). Returns whether it leads.
   */
  electWithRetries(id: NodeId, tries = 3): boolean {
    for (let i = 0; i < tries; i++) {
      this.elect(id);
      if (this.core(id).status().role === 'leader') return true;
    }
    return false;
  }

  propose(id: NodeId, data: string): void {
    this.core(id).propose(bytes(data));
    this.stabilize();
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.core(id).tick();
  }

  /** Tick every node n times, stabilizing after each round. */
  tickAll(n: number): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) node.core.tick();
      this.stabilize();
    }
  }

  appliedData(id: NodeId): string[] {
    return this.node(id).applied.filter((e) => e.kind === 'normal' && e.data.byteLength > 0).map((e) => text(e.data));
  }
}
