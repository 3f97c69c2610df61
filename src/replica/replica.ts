import type { ClusterView } from '../http/cluster-view.js';
import type { Logger } from '../log/logger.js';
import { RaftCore } from '../raft/core.js';
import { ProposalDroppedError } from '../raft/errors.js';
import type { Message, NodeId, SoftState } from '../raft/types.js';
import type { KeyService, MemberInfo } from '../server/key-service.js';
import { PeerTransport } from '../transport/transport.js';
import { CairnError } from '../util/errors.js';
import type { V2Command } from '../v2store/command.js';
import { ErrorCode, V2Error } from '../v2store/errors.js';
import type { V2Event } from '../v2store/event.js';
import type { V2Store } from '../v2store/store.js';
import type { ClusterSpec } from './cluster-spec.js';
import { LeaderExpiry } from './expiry.js';
import { LinearizableReads } from './linearizable-read.js';
import { memberInfo } from './members.js';
import { Proposals } from './proposals.js';
import { RaftNode } from './raft-node.js';
import { openReplicaStorage, type OpenedStorage } from './replica-storage.js';
import { decodeRequest, encodeRequest, type ReplicaRequest } from './request.js';
import { ReplicaStateMachine } from './state-machine.js';
import { LeaderStats, SelfStats } from './stats.js';

export interface ReplicaOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  /** This member's name (--name); must appear in the spec. */
  readonly name: string;
  readonly spec: ClusterSpec;
  readonly initialClusterState: 'new' | 'existing';
  readonly listenPeerUrls: readonly string[];
  /** Published for /v2/members and /v2/machines. */
  readonly clientUrls: readonly string[];
  readonly snapshotCount: number;
  /** Tick length; the leader heartbeats every tick (etcd's --heartbeat-interval). */
  readonly heartbeatMs: number;
  /** etcd's --election-timeout; a whole number of ticks. */
  readonly electionMs: number;
  /** Wall clock, injectable for tests. */
  readonly now?: () => number;
}

// etcd keeps 5000 entries behind a snapshot for followers that lag a little.
const CATCH_UP_ENTRIES = 5000;
const READ_RETRY_MS = 500;
const PUBLISH_RETRY_MS = 500;
/** How long a proposal without a leader waits before trying again (a leader change wakes it sooner). */
const LEADER_WAIT_MS = 100;

export class ReplicaConfigError extends CairnError {
  constructor(message: string) {
    super('CAIRN_REPLICA_CONFIG', message);
  }
}

function timeoutError(): V2Error {
  return new V2Error(ErrorCode.RaftInternal, 'etcdserver: request timed out', 0);
}

function stoppedError(): V2Error {
  return new V2Error(ErrorCode.RaftInternal, 'etcdserver: server stopped', 0);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * One member of a replicated store: the v2 keyspace behind Raft. Any member
 * takes writes (followers hand proposals to the leader through Raft) and
 * answers a client once the entry is committed and applied here; plain
 * reads are local, quorum reads go through ReadIndex; only the leader
 * decides TTL expiry.
 */
export class Replica implements KeyService, ClusterView {
  readonly #o: ReplicaOptions;
  readonly #logger: Logger;
  readonly #id: NodeId;
  readonly #clusterId: string;
  readonly #machine: ReplicaStateMachine;
  readonly #storage: OpenedStorage;
  readonly #node: RaftNode;
  readonly #transport: PeerTransport;
  readonly #proposals = new Proposals();
  readonly #reads: LinearizableReads;
  readonly #expiry: LeaderExpiry;
  readonly #selfStats: SelfStats;
  readonly #leaderStats = new LeaderStats();
  readonly #now: () => number;
  readonly #requestTimeoutMs: number;
  #soft: SoftState = { leader: '', role: 'follower' };
  readonly #leaderWaiters = new Set<() => void>();
  #closed = false;
  #failure: Error | undefined;
  onFatal: (err: Error) => void = () => {};

  private constructor(options: ReplicaOptions, storage: OpenedStorage, machine: ReplicaStateMachine) {
    this.#o = options;
    this.#logger = options.logger;
    this.#storage = storage;
    this.#machine = machine;
    this.#id = storage.identity.memberId;
    this.#clusterId = storage.identity.clusterId;
    this.#now = options.now ?? Date.now;
    // etcd's v2 request timeout: 5 s plus two election timeouts.
    this.#requestTimeoutMs = 5000 + 2 * options.electionMs;
    this.#selfStats = new SelfStats(this.#id, () => this.#machine.members.get(this.#id)?.name || options.name, this.#now());

    const core = new RaftCore(
      {
        id: this.#id,
        electionTicks: Math.round(options.electionMs / options.heartbeatMs),
        heartbeatTicks: 1,
        preVote: true,
        checkQuorum: true,
        applied: storage.snapshot.index,
        logger: options.logger.child({ component: 'raft' }),
      },
      storage.memory,
    );
    this.#transport = new PeerTransport({
      id: this.#id,
      clusterId: this.#clusterId,
      logger: options.logger.child({ component: 'transport' }),
      messageTimeoutMs: Math.max(1000, 2 * options.electionMs),
      handlers: {
        onMessages: (messages, bytes) => this.#receive(messages, bytes),
        onUnreachable: (id) => this.#report(() => core.reportUnreachable(id)),
        onSnapshotStatus: (id, ok) => this.#report(() => core.reportSnapshot(id, ok)),
        onBatch: (id, ok, appends, ms) => {
          if (appends === 0 || this.#soft.role !== 'leader') return;
          if (ok) this.#leaderStats.succ(id, ms);
          else this.#leaderStats.fail(id);
        },
        onUndelivered: (_id, messages) => this.#retryUndelivered(messages),
      },
    });
    this.#node = new RaftNode({
      core,
      memory: storage.memory,
      wal: storage.wal,
      snapshotter: storage.snapshotter,
      logger: options.logger,
      tickMs: options.heartbeatMs,
      snapshotCount: options.snapshotCount,
      catchUpEntries: Math.min(CATCH_UP_ENTRIES, options.snapshotCount),
      snapshotIndex: storage.snapshot.index,
      send: (messages) => this.#transport.send(messages),
      applier: {
        applyEntry: (entry) => {
          const result = this.#machine.apply(entry, this.#now());
          if (result === undefined) return;
          if (result.ok) this.#proposals.resolve(result.id, result.event);
          else this.#proposals.reject(result.id, result.error);
        },
        applyConfChange: (change) => {
          this.#machine.applyConfChange(change);
          this.#updatePeers();
        },
        restore: (snapshot) => {
          this.#machine.restore(snapshot.data);
          this.#updatePeers();
        },
        image: () => this.#machine.image(),
      },
      events: {
        onSoftState: (soft) => this.#onSoftState(soft),
        onReadStates: (states) => this.#reads.onReadStates(states),
        onApplied: (applied) => {
          this.#reads.onApplied(applied);
          this.#expiry.reschedule();
        },
        onSend: (messages) => this.#countSent(messages),
        onFatal: (err) => this.#fail(err),
      },
    });
    this.#reads = new LinearizableReads({
      request: (ctx) => this.#node.input(() => core.readIndex(ctx)),
      applied: () => this.#node.applied,
      timeoutMs: this.#requestTimeoutMs,
      retryMs: READ_RETRY_MS,
      timeoutError,
    });
    this.#expiry = new LeaderExpiry({
      nextExpiry: () => this.#machine.store.nextExpiry(),
      proposeExpire: (now) => this.#submit({ id: this.#proposals.nextId(), command: { op: 'expire', now } }),
      now: this.#now,
      logger: options.logger,
    });
  }

  /** Opens or founds the member's storage, replays the log, and starts talking to peers. */
  static async open(options: ReplicaOptions): Promise<Replica> {
    const self = options.spec.members.find((m) => m.name === options.name);
    if (self === undefined) throw new ReplicaConfigError(`--initial-cluster has no member named "${options.name}"`);
    const electionTicks = options.electionMs / options.heartbeatMs;
    if (!(options.heartbeatMs >= 1) || !(electionTicks >= 2)) {
      throw new ReplicaConfigError('the election timeout must be at least two heartbeat intervals');
    }
    const storage = await openReplicaStorage({
      dataDir: options.dataDir,
      logger: options.logger,
      identity: { memberId: self.id, clusterId: options.spec.clusterId, name: options.name },
      voters: options.spec.members.map((m) => m.id),
      initialClusterState: options.initialClusterState,
      genesis: () => ReplicaStateMachine.genesis(options.spec.members),
    });
    let replica: Replica;
    try {
      replica = new Replica(options, storage, ReplicaStateMachine.fromImage(storage.snapshot.data));
      await replica.#node.replay();
    } catch (err) {
      await storage.wal.close().catch(() => undefined);
      throw err;
    }
    try {
      await replica.#transport.listen(options.listenPeerUrls);
    } catch (err) {
      await replica.close();
      throw err;
    }
    replica.#updatePeers();
    replica.#node.startTicker();
    replica.#logger.info(
      { id: replica.#id, cluster: replica.#clusterId, applied: replica.#node.applied, peerUrls: options.listenPeerUrls },
      'cluster member started',
    );
    void replica.#publish();
    return replica;
  }

  // ---- KeyService -----------------------------------------------------------

  get store(): V2Store {
    return this.#machine.store;
  }

  get appliedIndex(): number {
    return this.#node.applied;
  }

  get term(): number {
    return this.#node.core.status().term;
  }

  get memberId(): NodeId {
    return this.#id;
  }

  get clusterId(): string {
    return this.#clusterId;
  }

  propose(command: V2Command): Promise<V2Event> {
    return this.#submit<V2Event>({ id: this.#proposals.nextId(), command });
  }

  linearizableRead(): Promise<void> {
    if (this.#failure !== undefined || this.#closed) return Promise.reject(stoppedError());
    return this.#reads.read();
  }

  // ---- ClusterView ----------------------------------------------------------

  members(): readonly MemberInfo[] {
    return this.#machine.members.list().map(memberInfo);
  }

  leader(): MemberInfo | undefined {
    const lead = this.#soft.leader;
    const record = lead === '' ? undefined : this.#machine.members.get(lead);
    return record === undefined ? undefined : memberInfo(record);
  }

  healthy(): boolean {
    return this.#soft.leader !== '' && this.#failure === undefined && !this.#closed;
  }

  selfStats(): Record<string, unknown> {
    return this.#selfStats.toJson(this.#now());
  }

  leaderStats(): Record<string, unknown> | undefined {
    if (this.#soft.role !== 'leader') return undefined;
    const followers = this.#node.core.status().voters.filter((id) => id !== this.#id);
    return this.#leaderStats.toJson(this.#id, followers);
  }

  // ---- lifecycle ------------------------------------------------------------

  /** Hands leadership over if this member leads, stops Raft and the peer transport, and closes the WAL. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#expiry.stop();
    if (this.#failure === undefined) await this.#handOverLeadership();
    this.#reads.close();
    await this.#node.stop();
    await this.#transport.close();
    this.#proposals.rejectAll(stoppedError);
    this.#wakeLeaderWaiters();
    await this.#storage.wal.close();
    this.#logger.info({ id: this.#id, applied: this.#node.applied }, 'cluster member stopped');
  }

  // ---- internals ------------------------------------------------------------

  /**
   * Proposes a request and resolves with its result once the entry is
   * applied here. Without a known leader it waits for one (until the
   * request times out) instead of failing at once, as etcd does.
   */
  #submit<T>(request: ReplicaRequest): Promise<T> {
    if (this.#failure !== undefined || this.#closed) return Promise.reject(stoppedError());
    const result = this.#proposals.wait<T>(request.id, this.#requestTimeoutMs, timeoutError);
    this.#proposeUntilTaken(request.id, encodeRequest(request));
    return result;
  }

  /** Hands `data` to the core, waiting out "no leader" while the request still waits. */
  #proposeUntilTaken(id: string, data: Uint8Array): void {
    const core = this.#node.core;
    const attempt = async (): Promise<void> => {
      for (;;) {
        if (this.#closed || this.#node.stopped) throw stoppedError();
        if (!this.#proposals.has(id)) return;
        try {
          this.#node.input(() => core.propose(data));
          return;
        } catch (err) {
          if (!(err instanceof ProposalDroppedError)) throw err;
          await this.#leaderChange();
        }
      }
    };
    attempt().catch((err: unknown) => this.#proposals.reject(id, err));
  }

  /**
   * Proposals forwarded to a leader that refused the connection (it died)
   * never reached it, so proposing them again cannot apply them twice.
   * Without this they would wait out the request timeout.
   */
  #retryUndelivered(messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.type !== 'propose') continue;
      for (const e of m.entries) {
        if (e.kind !== 'normal' || e.data.byteLength === 0) continue;
        let id: string;
        try {
          ({ id } = decodeRequest(0, e.data));
        } catch {
          continue;
        }
        if (!this.#proposals.has(id)) continue;
        const data = e.data;
        // After the next leader change (or a short pause), not at once: the same dead leader would refuse again.
        void this.#leaderChange().then(() => this.#proposeUntilTaken(id, data));
      }
    }
  }

  /** Resolves at the next leader change, or after a short while. */
  #leaderChange(): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#leaderWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, LEADER_WAIT_MS);
      this.#leaderWaiters.add(wake);
    });
  }

  #wakeLeaderWaiters(): void {
    for (const wake of [...this.#leaderWaiters]) wake();
  }

  async #publish(): Promise<void> {
    const attributes = { id: this.#id, name: this.#o.name, clientURLs: [...this.#o.clientUrls] };
    while (!this.#closed && this.#failure === undefined) {
      try {
        await this.#submit({ id: this.#proposals.nextId(), publish: attributes });
        this.#logger.info({ id: this.#id, member: this.#o.name, clientUrls: this.#o.clientUrls }, 'published member attributes');
        return;
      } catch (err) {
        if (this.#closed) return;
        this.#logger.debug({ err }, 'publishing member attributes failed; retrying');
        await delay(PUBLISH_RETRY_MS);
      }
    }
  }

  #receive(messages: Message[], bytes: number): void {
    const now = this.#now();
    for (const m of messages) if (m.type === 'append') this.#selfStats.recvAppend(bytes / messages.length, now);
    this.#node.step(messages);
  }

  #countSent(messages: readonly Message[]): void {
    const now = this.#now();
    for (const m of messages) {
      if (m.type !== 'append') continue;
      let bytes = 0;
      for (const e of m.entries) bytes += e.data.byteLength;
      this.#selfStats.sendAppend(bytes, now);
    }
  }

  #report(fn: () => void): void {
    if (this.#closed || this.#node.stopped) return;
    this.#node.input(fn);
  }

  #onSoftState(soft: SoftState): void {
    const prev = this.#soft;
    this.#soft = soft;
    this.#selfStats.setSoft(soft.leader, soft.role, this.#now());
    if (soft.role === 'leader' && prev.role !== 'leader') this.#leaderStats.reset();
    this.#expiry.setLeader(soft.role === 'leader');
    if (soft.leader !== prev.leader) {
      this.#logger.info({ id: this.#id, leader: soft.leader || undefined, role: soft.role, term: this.term }, 'leader changed');
      this.#wakeLeaderWaiters();
    }
  }

  #updatePeers(): void {
    const voters = new Set(this.#node.core.status().voters);
    const peers = new Map<NodeId, readonly string[]>();
    for (const m of this.#machine.members.list()) {
      if (m.id !== this.#id && voters.has(m.id)) peers.set(m.id, m.peerURLs);
    }
    this.#transport.setPeers(peers);
  }

  async #handOverLeadership(): Promise<void> {
    const core = this.#node.core;
    if (this.#soft.role !== 'leader' || this.#node.stopped) return;
    const progress = core.progress();
    if (progress === undefined) return;
    let best: NodeId | undefined;
    let bestMatch = -1;
    for (const [id, pr] of progress) {
      if (id !== this.#id && pr.recentActive && pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    if (best === undefined) return;
    const target = best;
    this.#logger.info({ to: target }, 'handing leadership over before stopping');
    this.#node.input(() => core.transferLeader(target));
    const deadline = Date.now() + this.#o.electionMs;
    while (this.#soft.leader === this.#id && Date.now() < deadline) await this.#leaderChange();
  }

  #fail(err: Error): void {
    if (this.#failure !== undefined) return;
    this.#failure = err;
    this.#proposals.rejectAll(stoppedError);
    this.#reads.close();
    this.#expiry.stop();
    this.onFatal(err);
  }
}
