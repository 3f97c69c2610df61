import type { ClusterView } from '../http/cluster-view.js';
import type { Logger } from '../log/logger.js';
import { RaftCore } from '../raft/core.js';
import { ProposalDroppedError } from '../raft/errors.js';
import type { ConfChange, Message, NodeId, SoftState } from '../raft/types.js';
import type { KeyService, MemberInfo } from '../server/key-service.js';
import { PeerTransport } from '../transport/transport.js';
import { CairnError } from '../util/errors.js';
import type { V2Command } from '../v2store/command.js';
import { ErrorCode, V2Error } from '../v2store/errors.js';
import type { V2Event } from '../v2store/event.js';
import type { V2Store } from '../v2store/store.js';
import { runtimeMemberId } from './cluster-spec.js';
import { encodeConfContext } from './conf-context.js';
import { LeaderExpiry } from './expiry.js';
import { LinearizableReads } from './linearizable-read.js';
import { IdExistsError, IdNotFoundError, MemberRemovedError, NotEnoughStartedMembersError, PeerUrlExistsError } from './membership-errors.js';
import { memberInfo } from './members.js';
import { Proposals } from './proposals.js';
import { RaftNode } from './raft-node.js';
import { checkAddVoter, checkRemoveVoter, type ReconfigView } from './reconfig-check.js';
import { openReplicaStorage, type Founding, type OpenedStorage } from './replica-storage.js';
import { decodeRequest, encodeRequest, type ReplicaRequest } from './request.js';
import { ReplicaStateMachine } from './state-machine.js';
import { LeaderStats, SelfStats } from './stats.js';

export interface ReplicaOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  /** This member's name (--name). */
  readonly name: string;
  /** How the member starts out when its data dir is empty: founding a cluster, joining one, or after discovery. */
  found(): Promise<Founding>;
  /** The id the flags give this member, to warn when a restarted data dir says otherwise. */
  readonly flagsMemberId?: NodeId;
  readonly listenPeerUrls: readonly string[];
  /** Published for /v2/members and /v2/machines. */
  readonly clientUrls: readonly string[];
  readonly snapshotCount: number;
  /** Tick length; the leader heartbeats every tick (etcd's --heartbeat-interval). */
  readonly heartbeatMs: number;
  /** etcd's --election-timeout; a whole number of ticks. */
  readonly electionMs: number;
  /** etcd's --strict-reconfig-check: refuse membership changes that could cost the quorum (default true). */
  readonly strictReconfigCheck?: boolean;
  /** Wall clock, injectable for tests. */
  readonly now?: () => number;
}

// etcd keeps 5000 entries behind a snapshot for followers that lag a little.
const CATCH_UP_ENTRIES = 5000;
const READ_RETRY_MS = 500;
const PUBLISH_RETRY_MS = 500;
/** How long a proposal without a leader waits before trying again (a leader change wakes it sooner). */
const LEADER_WAIT_MS = 100;
/** A member that applied its own removal keeps going this long (as etcd does), so its last answers get out. */
const REMOVAL_STOP_DELAY_MS = 1000;

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
  /** When each peer was last heard from or reached (for the reconfiguration health check). */
  readonly #lastContact = new Map<NodeId, number>();
  #peersVersion = -1;
  #closed = false;
  #removing = false;
  /** Set once open() is done: a removal met while replaying the log is handled by open() itself. */
  #live = false;
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
          if (ok) this.#lastContact.set(id, this.#now());
          if (appends === 0 || this.#soft.role !== 'leader') return;
          if (ok) this.#leaderStats.succ(id, ms);
          else this.#leaderStats.fail(id);
        },
        onUndelivered: (_id, messages) => this.#retryUndelivered(messages),
        onRemoved: (by) => {
          this.#logger.error({ id: this.#id, by }, 'a peer says this member was removed from the cluster');
          this.#stopRemoved(0);
        },
      },
      membership: {
        members: () => this.#machine.members.list(),
        isRemoved: (id) => this.#machine.members.isRemoved(id),
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
        admitConfChange: (change) => {
          const refused = this.#machine.checkConfChange(change);
          if (refused === undefined) return true;
          this.#logger.warn({ change: change.type, member: change.id, reason: refused.ok ? undefined : refused.error.message }, 'membership change refused');
          if (!refused.ok) this.#proposals.reject(refused.id, refused.error);
          return false;
        },
        applyConfChange: (change) => {
          const result = this.#machine.applyConfChange(change);
          this.#logger.info({ member: change.id, peerUrls: this.#machine.members.get(change.id)?.peerURLs }, change.type === 'add' ? 'member added' : 'member removed');
          this.#updatePeers();
          this.#proposals.resolve(result.id, undefined);
          if (change.type === 'remove' && change.id === this.#id && this.#live) this.#stopRemoved(REMOVAL_STOP_DELAY_MS);
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
          // Peer URL updates (PUT /v2/members) come as normal entries.
          if (this.#machine.members.version !== this.#peersVersion) this.#updatePeers();
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
    const electionTicks = options.electionMs / options.heartbeatMs;
    if (!(options.heartbeatMs >= 1) || !(electionTicks >= 2)) {
      throw new ReplicaConfigError('the election timeout must be at least two heartbeat intervals');
    }
    const storage = await openReplicaStorage({
      dataDir: options.dataDir,
      logger: options.logger,
      found: options.found,
      ...(options.flagsMemberId === undefined ? {} : { flagsMemberId: options.flagsMemberId }),
    });
    let replica: Replica;
    try {
      replica = new Replica(options, storage, ReplicaStateMachine.fromImage(storage.snapshot.data));
      await replica.#node.replay();
    } catch (err) {
      await storage.wal.close().catch(() => undefined);
      throw err;
    }
    if (replica.#machine.members.isRemoved(replica.#id)) {
      // Restarted after applying its own removal: there is nothing left to serve.
      await replica.#transport.close();
      await storage.wal.close();
      throw new MemberRemovedError();
    }
    try {
      await replica.#transport.listen(options.listenPeerUrls);
    } catch (err) {
      await replica.close();
      throw err;
    }
    replica.#updatePeers();
    replica.#live = true;
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

  // ---- runtime membership (/v2/members) --------------------------------------

  /**
   * POST /v2/members: admits a new voter with these (normalized) peer URLs
   * under an id derived as etcd derives it. Resolves once the change is
   * applied here; the new member starts with --initial-cluster-state existing.
   */
  async addMember(peerURLs: readonly string[]): Promise<MemberInfo> {
    this.#checkRunning();
    const urls = [...peerURLs].sort();
    const members = this.#machine.members;
    if (members.list().some((m) => m.peerURLs.some((u) => urls.includes(u)))) throw new PeerUrlExistsError();
    if (this.#strict) checkAddVoter(this.#reconfigView());
    const id = runtimeMemberId(urls, this.#now());
    members.checkAdd(id, urls);
    const requestId = this.#proposals.nextId();
    await this.#changeVoters({ type: 'add', id, context: encodeConfContext({ requestId, peerURLs: urls }) }, requestId);
    return { id, name: '', peerURLs: urls, clientURLs: [] };
  }

  /**
   * DELETE /v2/members/<id>. Removing the leader first hands leadership to
   * another member, so the cluster does not wait out an election timeout.
   * A member that applies its own removal stops.
   */
  async removeMember(id: NodeId): Promise<void> {
    this.#checkRunning();
    this.#machine.members.checkRemove(id);
    if (this.#strict) checkRemoveVoter(this.#reconfigView(), id);
    if (this.#soft.leader === id) await this.#moveLeadershipFrom(id);
    const requestId = this.#proposals.nextId();
    await this.#changeVoters({ type: 'remove', id, context: encodeConfContext({ requestId, peerURLs: [] }) }, requestId);
  }

  /** PUT /v2/members/<id>: new peer URLs for a member; peers reconnect to them once the entry is applied. */
  async updateMember(id: NodeId, peerURLs: readonly string[]): Promise<void> {
    this.#checkRunning();
    const urls = [...peerURLs].sort();
    this.#machine.members.checkUpdate(id, urls);
    await this.#submit<undefined>({ id: this.#proposals.nextId(), update: { id, peerURLs: urls } });
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

  get #strict(): boolean {
    return this.#o.strictReconfigCheck ?? true;
  }

  #checkRunning(): void {
    if (this.#failure !== undefined || this.#closed) throw stoppedError();
  }

  #reconfigView(): ReconfigView {
    const status = this.#node.core.status();
    const members = this.#machine.members;
    let alive: Set<NodeId> | undefined;
    if (status.role === 'leader') {
      const since = this.#now() - this.#o.electionMs;
      alive = new Set([...this.#lastContact].filter(([, at]) => at >= since).map(([id]) => id));
    }
    return { self: this.#id, voters: status.voters, started: (id) => (members.get(id)?.name ?? '') !== '', alive };
  }

  /**
   * Proposes a voter change and waits until it is applied here. The core
   * takes one change at a time and a leader drops a forwarded one it cannot
   * take now, so the proposal is made again after each leader change and
   * every couple of election timeouts until it applies or the request times
   * out. That is safe: a change that already applied is refused the second
   * time, as a no-op.
   */
  #changeVoters(change: ConfChange, requestId: string): Promise<void> {
    const result = this.#proposals.wait<void>(requestId, this.#requestTimeoutMs, timeoutError);
    const core = this.#node.core;
    const retryMs = 2 * this.#o.electionMs;
    const loop = async (): Promise<void> => {
      while (this.#proposals.has(requestId)) {
        if (this.#closed || this.#node.stopped) throw stoppedError();
        try {
          this.#node.input(() => core.proposeConfChange(change));
        } catch (err) {
          if (!(err instanceof ProposalDroppedError)) throw err;
          if (err.reason === 'invalidConfChange') throw this.#invalidChangeError(change);
          // No leader, a pending change, a leadership transfer: wait for things to move.
          await this.#leaderChange();
          continue;
        }
        await this.#leaderChange(retryMs);
      }
    };
    loop().catch((err: unknown) => this.#proposals.reject(requestId, err));
    return result;
  }

  /** What the core's refusal of a change this member checked a moment ago means, in etcd's terms. */
  #invalidChangeError(change: ConfChange): Error {
    if (change.type === 'add') return new IdExistsError();
    return this.#node.core.status().voters.length <= 1 ? new NotEnoughStartedMembersError() : new IdNotFoundError();
  }

  /**
   * Hands leadership from `id` (the current leader) to another member and
   * waits for it, up to two election timeouts. If that fails the removal
   * goes ahead anyway: the leader steps down when it applies it.
   */
  async #moveLeadershipFrom(id: NodeId): Promise<void> {
    const core = this.#node.core;
    const target = id === this.#id ? this.#bestFollower() : this.#id;
    if (target === undefined) return;
    this.#logger.info({ from: id, to: target }, 'moving leadership before removing the leader');
    try {
      this.#node.input(() => core.transferLeader(target));
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      return;
    }
    const deadline = Date.now() + 2 * this.#o.electionMs;
    while (this.#soft.leader === id && Date.now() < deadline) await this.#leaderChange();
  }

  /**
   * The voter that has most of the log, when this member leads; one heard
   * from lately if there is any (only such a one with `activeOnly`).
   */
  #bestFollower(activeOnly = false): NodeId | undefined {
    const progress = this.#node.core.progress();
    if (progress === undefined) return undefined;
    let best: { id: NodeId; active: boolean; match: number } | undefined;
    for (const [id, pr] of progress) {
      if (id === this.#id || (activeOnly && !pr.recentActive)) continue;
      const better =
        best === undefined || (pr.recentActive && !best.active) || (pr.recentActive === best.active && pr.match > best.match);
      if (better) best = { id, active: pr.recentActive, match: pr.match };
    }
    return best?.id;
  }

  /** This member is no longer part of the cluster: log it as etcd does, then stop (after `delayMs`). */
  #stopRemoved(delayMs: number): void {
    if (this.#removing || this.#failure !== undefined || this.#closed) return;
    this.#removing = true;
    this.#logger.error({ id: this.#id }, 'the member has been permanently removed from the cluster');
    this.#logger.warn({ dataDir: this.#o.dataDir }, 'the data-dir used by this member must be removed');
    setTimeout(() => this.#fail(new MemberRemovedError()), delayMs).unref();
  }

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

  /** Resolves at the next leader change, or after `ms`. */
  #leaderChange(ms = LEADER_WAIT_MS): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#leaderWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
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
    for (const m of messages) {
      if (m.type === 'append') this.#selfStats.recvAppend(bytes / messages.length, now);
      this.#lastContact.set(m.from, now);
    }
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

  /**
   * Peers are every member of the replicated list but this one, voters or
   * not yet: a member that is joining knows the list before it knows the
   * voters, and must be able to answer the leader.
   */
  #updatePeers(): void {
    const members = this.#machine.members;
    this.#peersVersion = members.version;
    const peers = new Map<NodeId, readonly string[]>();
    for (const m of members.list()) {
      if (m.id !== this.#id) peers.set(m.id, m.peerURLs);
    }
    this.#transport.setPeers(peers);
  }

  async #handOverLeadership(): Promise<void> {
    const core = this.#node.core;
    if (this.#soft.role !== 'leader' || this.#node.stopped) return;
    const target = this.#bestFollower(true);
    if (target === undefined) return;
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
