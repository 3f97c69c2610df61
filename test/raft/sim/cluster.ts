import {
  MemoryStorage,
  ProposalDroppedError,
  RaftCore,
  decodeConfChange,
} from '../../../src/raft/index.js';
import type { HardState, Message, NodeId, Ready } from '../../../src/raft/index.js';
import { Checker, InvariantViolation, chain } from './checker.js';
import { HEALTHY, SimNetwork } from './network.js';
import type { SimParams } from './params.js';
import { Prng } from './prng.js';

const GENESIS_HASH = 0x5eed5eed;

/** The toy state machine: how far it applied, and a hash of everything applied. */
interface ToyState {
  index: number;
  hash: number;
}

function encodeState(s: ToyState): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, s.index);
  v.setUint32(4, s.hash);
  return b;
}

function decodeState(b: Uint8Array, fallbackIndex: number): ToyState {
  if (b.byteLength < 8) return { index: fallbackIndex, hash: 0 };
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { index: v.getUint32(0), hash: v.getUint32(4) };
}

/** Proposal payload: a 4-byte id plus padding so that size limits matter. */
function proposalData(id: number, pad: number): Uint8Array {
  const b = new Uint8Array(4 + pad);
  new DataView(b.buffer).setUint32(0, id);
  return b;
}

function proposalId(b: Uint8Array): number | undefined {
  if (b.byteLength < 4) return undefined;
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function simNodeId(n: number): NodeId {
  return (0xc0de0000 + n).toString(16).padStart(16, '0');
}

interface SimNode {
  readonly id: NodeId;
  /** The disk: everything written. */
  readonly storage: MemoryStorage;
  /** The hard state as of the last fsync; an unsynced commit update may be lost on a crash. */
  syncedHard: HardState;
  core: RaftCore | undefined;
  state: ToyState | undefined;
  readonly prng: Prng;
  downUntil: number;
  /** Removed from the cluster and shut down for good. */
  removed: boolean;
  lastRole: string;
}

const LIVENESS_BASE = 0x7f000000;

/**
 * N Raft cores wired to MemoryStorage disks, a toy state machine and a
 * faulty network, all driven by one seeded PRNG and a virtual clock. Plays
 * the driver's part exactly as a real one must: persist, send, apply,
 * advance. Every step is checked by the Checker.
 */
export class SimCluster {
  now = 0;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly net: SimNetwork;
  readonly checker: Checker;
  private readonly reads = new Map<string, number>();
  private nextProposal = 1;
  private nextRead = 1;
  private nextNodeNum: number;
  private chaos = true;
  private latestConf = { index: 0, voters: [] as readonly NodeId[] };
  private livenessId = 0;
  private livenessDone = false;
  readonly stats = { crashes: 0, partitions: 0, confChanges: 0, transfers: 0, compactions: 0, proposals: 0 };

  constructor(
    readonly params: SimParams,
    private readonly prng: Prng,
    private readonly trace: ((line: string) => void) | undefined,
  ) {
    this.net = new SimNetwork(prng.fork(), { drop: params.drop, duplicate: params.duplicate, maxDelay: params.maxDelay });
    this.checker = new Checker(1, GENESIS_HASH);
    const voters = Array.from({ length: params.voters }, (_, i) => simNodeId(i + 1));
    this.latestConf = { index: 1, voters: [...voters].sort() };
    this.nextNodeNum = params.voters + 1;
    const genesis = encodeState({ index: 1, hash: GENESIS_HASH });
    for (const id of voters) this.addNode(id, MemoryStorage.bootstrap(voters, genesis));
  }

  private log(line: string): void {
    this.trace?.(`t=${this.now} ${line}`);
  }

  private addNode(id: NodeId, storage: MemoryStorage): void {
    const node: SimNode = {
      id,
      storage,
      syncedHard: storage.initialState().hardState,
      core: undefined,
      state: undefined,
      prng: this.prng.fork(),
      downUntil: 0,
      removed: false,
      lastRole: 'down',
    };
    this.nodes.set(id, node);
    this.start(node);
  }

  private start(n: SimNode): void {
    const p = this.params;
    const snap = n.storage.snapshot();
    n.core = new RaftCore(
      {
        id: n.id,
        electionTicks: p.electionTicks,
        heartbeatTicks: p.heartbeatTicks,
        preVote: p.preVote,
        checkQuorum: p.checkQuorum,
        maxInflight: p.maxInflight,
        maxMsgBytes: p.maxMsgBytes,
        random: () => n.prng.next(),
        ...(snap.index > 0 ? { applied: snap.index } : {}),
      },
      n.storage,
    );
    n.state = decodeState(snap.data, snap.index);
    const st = n.core.status();
    this.checker.restarted(n.id, st.term, st.vote);
    n.lastRole = st.role;
    this.log(`start ${n.id} term=${st.term} commit=${st.commit} last=${st.lastIndex} snap=${snap.index}`);
  }

  private crash(n: SimNode, why: string): void {
    // An unsynced write (commit-only hard state) may or may not have reached the disk.
    if (n.prng.chance(0.5)) n.storage.setHardState(n.syncedHard);
    n.syncedHard = n.storage.initialState().hardState;
    n.core = undefined;
    n.state = undefined;
    n.lastRole = 'down';
    n.downUntil = this.now + 5 + this.prng.int(40);
    this.stats.crashes++;
    this.log(`crash ${n.id} (${why})`);
  }

  private alive(): SimNode[] {
    const out: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.core !== undefined) out.push(n);
    return out;
  }

  /** The live leader with the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const n of this.nodes.values()) {
      const st = n.core?.status();
      if (st !== undefined && st.role === 'leader' && st.term > bestTerm) {
        best = n;
        bestTerm = st.term;
      }
    }
    return best;
  }

  /** Safety checks after every input to a node. */
  private observe(n: SimNode): void {
    const core = n.core;
    if (core === undefined) return;
    const st = core.status();
    if (st.role !== n.lastRole) {
      this.log(`${n.id} ${n.lastRole} -> ${st.role} term=${st.term} last=${st.lastIndex} commit=${st.commit}`);
      n.lastRole = st.role;
    }
    if (st.role === 'leader') {
      this.checker.observeLeader(n.id, st.term, st.commit, {
        termAt: (i) => core.termAt(i),
        firstIndex: st.firstIndex,
      });
    }
  }

  // ---- the driver ---------------------------------------------------------------

  private processReady(n: SimNode): void {
    const core = n.core;
    if (core === undefined || !core.hasReady()) return;
    const rd = core.ready();
    this.persist(n, rd);
    if (this.chaos && n.prng.chance(this.params.crashMidReady)) {
      this.crash(n, 'after persisting a Ready, before sending it');
      return;
    }
    for (const m of rd.messages) this.send(n, m);
    this.apply(n, core, rd);
    core.advance(rd);
    this.observe(n);
  }

  private persist(n: SimNode, rd: Ready): void {
    const s = n.storage;
    if (rd.snapshot !== undefined) s.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) {
      s.append(rd.entries);
      const first = s.firstIndex();
      for (const e of rd.entries) {
        this.checker.persistedEntry(n.id, e, e.index - 1 >= first - 1 ? s.term(e.index - 1) : undefined);
      }
    }
    if (rd.hardState !== undefined) {
      const before = s.initialState().hardState;
      if (!rd.mustSync && (rd.hardState.term !== before.term || rd.hardState.vote !== before.vote)) {
        throw new InvariantViolation(`node ${n.id}: term/vote changed in a Ready with mustSync=false`);
      }
      this.checker.persistedHard(n.id, rd.hardState);
      s.setHardState(rd.hardState);
    }
    // An fsync makes every earlier write durable too.
    if (rd.mustSync) n.syncedHard = s.initialState().hardState;
  }

  private send(n: SimNode, m: Message): void {
    // Persist-before-send, checked at the edge: a granted vote and an
    // accepted append must already be durable when they leave.
    // (A grant for an older term is harmless once a newer term is durable:
    // the node can never vote in that term again.)
    const hs = n.syncedHard;
    if (m.type === 'voteResp' && !m.reject && (hs.term < m.term || (hs.term === m.term && hs.vote !== m.to))) {
      throw new InvariantViolation(`node ${n.id} granted a vote in term ${m.term} to ${m.to} that is not durable (synced ${JSON.stringify(n.syncedHard)})`);
    }
    // An ack from an older term may name entries a newer leader overwrote
    // before they were written; it is harmless (the node durably moved on,
    // and it judged votes on a log that still held them). Same-term acks
    // must be backed by the disk.
    if (m.type === 'appendResp' && !m.reject && m.term >= hs.term && m.index > n.storage.lastIndex()) {
      throw new InvariantViolation(`node ${n.id} acked index ${m.index} beyond its durable log ${n.storage.lastIndex()}`);
    }
    if (this.trace !== undefined && m.type !== 'heartbeat' && m.type !== 'heartbeatResp') this.log(`send ${describeMessage(m)}`);
    if (!this.net.send(m, this.now)) this.dropped(m);
  }

  /** What a transport tells the sender about a message it could not deliver. */
  private dropped(m: Message): void {
    const sender = this.nodes.get(m.from);
    const core = sender?.core;
    if (core === undefined) return;
    if (m.type === 'snapshot') core.reportSnapshot(m.to, false);
    else if (sender !== undefined && sender.prng.chance(0.2)) core.reportUnreachable(m.to);
  }

  private apply(n: SimNode, core: RaftCore, rd: Ready): void {
    let state = n.state as ToyState;
    if (rd.snapshot !== undefined) {
      state = decodeState(rd.snapshot.data, rd.snapshot.index);
      if (state.index !== rd.snapshot.index) {
        throw new InvariantViolation(`snapshot ${rd.snapshot.index} carries state at ${state.index}`);
      }
      this.checker.restoredSnapshot(n.id, state.index, state.hash);
      this.log(`${n.id} restored snapshot ${state.index}`);
    }
    for (const e of rd.committed) {
      if (e.index !== state.index + 1) {
        throw new InvariantViolation(`node ${n.id} applies ${e.index} right after ${state.index}`);
      }
      state = { index: e.index, hash: chain(state.hash, e) };
      this.checker.applied(n.id, e.index, state.hash);
      if (e.kind === 'conf') {
        const cc = decodeConfChange(e.data);
        const { voters } = core.applyConfChange(cc);
        this.confApplied(e.index, cc.type, cc.id, voters);
      } else {
        const id = proposalId(e.data);
        if (id !== undefined) {
          this.checker.ack(id, e.index, e.term);
          if (id === this.livenessId) this.livenessDone = true;
        }
      }
    }
    n.state = state;
    for (const rs of rd.readStates) {
      const min = this.reads.get(hex(rs.ctx));
      if (min !== undefined) this.checker.readState(n.id, rs.index, min);
    }
  }

  private confApplied(index: number, type: 'add' | 'remove', id: NodeId, voters: readonly NodeId[]): void {
    if (index <= this.latestConf.index) return;
    this.latestConf = { index, voters };
    this.log(`conf ${type} ${id} committed at ${index}: voters ${voters.join(',')}`);
    if (type === 'remove') {
      const gone = this.nodes.get(id);
      // The operator shuts a removed member down once its removal is committed.
      if (gone !== undefined && !gone.removed) {
        gone.removed = true;
        gone.core = undefined;
        gone.state = undefined;
        gone.lastRole = 'down';
      }
    }
  }

  private deliver(m: Message): void {
    const to = this.nodes.get(m.to);
    if (to?.core === undefined || this.net.isBlocked(m.from, m.to)) {
      this.dropped(m);
      return;
    }
    to.core.step(m);
    this.observe(to);
    if (m.type === 'snapshot') {
      const sender = this.nodes.get(m.from);
      if (sender?.core !== undefined) {
        sender.core.reportSnapshot(m.to, true);
        this.observe(sender);
      }
    }
    if (to.prng.chance(this.params.readyNow)) this.processReady(to);
  }

  private deliverAll(): void {
    let guard = 0;
    for (let batch = this.net.take(this.now); batch !== undefined; batch = this.net.take(this.now)) {
      for (const m of batch) {
        if (++guard > 200_000) throw new InvariantViolation('message storm: no quiescence within a tick');
        this.deliver(m);
      }
    }
  }

  // ---- client activity and faults ---------------------------------------------

  private propose(): void {
    const leader = this.leader();
    const alive = this.alive();
    if (alive.length === 0) return;
    const target = leader !== undefined && this.prng.chance(0.7) ? leader : this.prng.pick(alive);
    const id = this.nextProposal++;
    try {
      (target.core as RaftCore).propose(proposalData(id, this.prng.int(120)));
      this.stats.proposals++;
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
    }
  }

  private read(): void {
    const alive = this.alive();
    if (alive.length === 0) return;
    const n = this.prng.pick(alive);
    const ctx = proposalData(this.nextRead++, 0);
    try {
      (n.core as RaftCore).readIndex(ctx);
      this.reads.set(hex(ctx), this.checker.maxApplied);
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
    }
  }

  private compact(): void {
    const alive = this.alive();
    if (alive.length === 0) return;
    const n = this.prng.pick(alive);
    const state = n.state as ToyState;
    const s = n.storage;
    if (state.index <= s.snapshot().index) return;
    const voters = (n.core as RaftCore).status().voters;
    s.createSnapshot(state.index, voters, encodeState(state));
    const upTo = state.index - this.prng.int(8);
    if (upTo >= s.firstIndex()) s.compact(upTo);
    this.stats.compactions++;
    this.log(`${n.id} snapshot at ${state.index}, compacted to ${upTo}`);
  }

  private confChange(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const core = leader.core as RaftCore;
    const voters = core.status().voters;
    try {
      if (voters.length < 3 || (voters.length < 5 && this.prng.chance(0.5))) {
        const id = simNodeId(this.nextNodeNum);
        core.proposeConfChange({ type: 'add', id });
        this.nextNodeNum++;
        // A new member starts empty; it learns everything, membership included, from the leader's snapshot.
        this.addNode(id, new MemoryStorage());
        this.log(`propose add ${id}`);
      } else {
        // Never shrink a 2-voter cluster: if the removal's commit reaches only
        // the removed node, the survivor can never again win an election.
        const victim = this.prng.pick(voters);
        core.proposeConfChange({ type: 'remove', id: victim });
        this.log(`propose remove ${victim}`);
      }
      this.stats.confChanges++;
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
    }
  }

  private transfer(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const voters = (leader.core as RaftCore).status().voters.filter((v) => v !== leader.id);
    if (voters.length === 0) return;
    const to = this.prng.pick(voters);
    (leader.core as RaftCore).transferLeader(to);
    this.stats.transfers++;
    this.log(`transfer ${leader.id} -> ${to}`);
  }

  private partition(): void {
    const ids = [...this.nodes.values()].filter((n) => !n.removed).map((n) => n.id);
    if (ids.length < 2) return;
    const kind = this.prng.int(4);
    const leader = this.leader();
    if (kind === 3 && leader !== undefined) {
      // Strand the leader with a minority: a deposed leader that still hears
      // from some followers must not serve reads or commit anything.
      const minority = new Set([leader.id]);
      for (const id of this.prng.shuffle(ids.filter((i) => i !== leader.id)).slice(0, Math.floor((ids.length - 1) / 2) - 1)) {
        minority.add(id);
      }
      for (const a of ids) for (const b of ids) if (minority.has(a) !== minority.has(b)) this.net.block(a, b);
      this.log(`partition: leader with minority {${[...minority].join(',')}}`);
    } else if (kind === 0) {
      const victim = this.prng.pick(ids);
      for (const o of ids) if (o !== victim) {
        this.net.block(victim, o);
        this.net.block(o, victim);
      }
      this.log(`partition: isolate ${victim}`);
    } else if (kind === 1) {
      const side = new Set(ids.filter(() => this.prng.chance(0.5)));
      for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) this.net.block(a, b);
      this.log(`partition: split {${[...side].join(',')}}`);
    } else {
      const links = 1 + this.prng.int(3);
      for (let i = 0; i < links; i++) {
        const a = this.prng.pick(ids);
        const b = this.prng.pick(ids);
        if (a !== b) this.net.block(a, b);
        this.log(`partition: one-way ${a} -/-> ${b}`);
      }
    }
    this.stats.partitions++;
  }

  private events(): void {
    for (const n of this.nodes.values()) {
      if (n.core === undefined && !n.removed && this.now >= n.downUntil) this.start(n);
    }
    if (!this.chaos) return;
    const p = this.params;
    const r = this.prng;
    if (r.chance(p.crash)) {
      // Leaders half the time: their crashes are what exposes commit and election bugs.
      const leader = this.leader();
      const alive = this.alive();
      if (leader !== undefined && r.chance(0.5)) this.crash(leader, 'leader');
      else if (alive.length > 0) this.crash(r.pick(alive), 'random');
    }
    if (this.net.partitioned) {
      if (r.chance(p.healPartition)) {
        this.net.heal();
        this.log('partition healed');
      }
    } else if (r.chance(p.partition)) {
      this.partition();
    }
    if (r.chance(p.propose)) this.propose();
    if (r.chance(p.read)) this.read();
    if (r.chance(p.compact)) this.compact();
    if (r.chance(p.confChange)) this.confChange();
    if (r.chance(p.transfer)) this.transfer();
  }

  private step(): void {
    this.events();
    for (const n of this.alive()) {
      if (this.chaos && n.prng.chance(this.params.tickSkip)) continue;
      (n.core as RaftCore).tick();
      this.observe(n);
    }
    for (const n of this.alive()) {
      if (!this.chaos || n.prng.chance(this.params.readyNow)) this.processReady(n);
    }
    this.deliverAll();
    this.now++;
  }

  /** The chaos phase, then heal everything and require progress. */
  run(): void {
    while (this.now < this.params.chaosTicks) this.step();
    this.chaos = false;
    this.net.heal();
    this.net.faults = HEALTHY;
    for (const n of this.nodes.values()) n.downUntil = 0;
    this.log('--- healed; checking liveness ---');
    const deadline = this.now + this.params.healTicks;
    this.livenessId = LIVENESS_BASE + 1;
    while (!this.livenessDone) {
      if (this.now >= deadline) {
        const leader = this.leader();
        throw new InvariantViolation(
          `liveness: nothing committed within ${this.params.healTicks} ticks after healing ` +
            `(leader ${leader?.id ?? 'none'}, voters ${this.latestConf.voters.join(',')})`,
        );
      }
      const leader = this.leader();
      if (leader !== undefined && this.now % 5 === 0) {
        try {
          (leader.core as RaftCore).propose(proposalData(this.livenessId, 0));
        } catch (err) {
          if (!(err instanceof ProposalDroppedError)) throw err;
        }
      }
      this.step();
    }
  }
}

export function describeMessage(m: Message): string {
  const head = `${m.type} ${m.from.slice(-2)}->${m.to.slice(-2)} t${m.term}`;
  switch (m.type) {
    case 'append':
      return `${head} prev=${m.prevIndex}/${m.prevTerm} n=${m.entries.length} commit=${m.commit}`;
    case 'appendResp':
      return `${head} index=${m.index}${m.reject ? ` reject hint=${m.hint}/${m.hintTerm}` : ''}`;
    case 'vote':
    case 'preVote':
      return `${head} last=${m.lastIndex}/${m.lastTerm}${m.transfer ? ' transfer' : ''}`;
    case 'voteResp':
    case 'preVoteResp':
      return `${head}${m.reject ? ' reject' : ' grant'}`;
    case 'snapshot':
      return `${head} snap=${m.snapshot.index}/${m.snapshot.term}`;
    case 'readIndexResp':
      return `${head} index=${m.index}`;
    default:
      return head;
  }
}
