import { applyToVoters, decodeConfChange, encodeConfChange, isNodeId } from './conf-change.js';
import {
  ProposalDroppedError,
  RaftConfigError,
  RaftInvariantError,
  RaftUsageError,
  SnapshotTemporarilyUnavailableError,
} from './errors.js';
import { RaftLog } from './log.js';
import type { LogReader } from './log-reader.js';
import { Progress } from './progress.js';
import { majority, quorumIndex, voteOutcome } from './quorum.js';
import { ReadOnlyQueue } from './read-only.js';
import type {
  AppendMessage,
  AppendRespMessage,
  ConfChange,
  Entry,
  HardState,
  HeartbeatMessage,
  HeartbeatRespMessage,
  Message,
  NodeId,
  ProgressStatus,
  RaftLogger,
  RaftSnapshot,
  RaftStatus,
  ReadState,
  Ready,
  Role,
  SnapshotMessage,
  SoftState,
  VoteMessage,
  VoteRespMessage,
} from './types.js';

export type { LogReader } from './log-reader.js';

export interface RaftConfig {
  readonly id: NodeId;
  /** Ticks without hearing from a leader before campaigning; randomized in [electionTicks, 2*electionTicks). Default 10. */
  readonly electionTicks?: number;
  /** Leader heartbeat interval in ticks; must be < electionTicks. Default 1. */
  readonly heartbeatTicks?: number;
  /** Ask "would you vote for me?" before bumping the term, so a rejoining node cannot disrupt a healthy leader. Default true. */
  readonly preVote?: boolean;
  /** Leader steps down after an election timeout without hearing from a quorum; followers ignore votes while they hear from a leader. Default true. */
  readonly checkQuorum?: boolean;
  /** 'safe' confirms leadership with a heartbeat round per read; 'lease' trusts check-quorum timing (needs checkQuorum). Default 'safe'. */
  readonly readOnly?: 'safe' | 'lease';
  /** Soft limit on entry bytes per append message. Default 1 MiB. */
  readonly maxMsgBytes?: number;
  /** Append messages in flight per follower in replicate state. Default 256. */
  readonly maxInflight?: number;
  /** Soft limit on committed entry bytes per Ready. Default 16 MiB. */
  readonly maxCommittedBytesPerReady?: number;
  /**
   * Index the application's state machine already reflects (e.g. its
   * snapshot index) when restarting; committed entries after it are handed
   * out again. Default: the log's compaction point.
   */
  readonly applied?: number;
  /** Uniform [0, 1) source for election timeouts; inject a seeded PRNG for deterministic runs. Default Math.random. */
  readonly random?: () => number;
  readonly logger?: RaftLogger;
}

const EMPTY = new Uint8Array(0);
const NO_ENTRIES: readonly Entry[] = [];
const CONF_SCAN_BYTES = 1 << 20;

const silent: RaftLogger = { debug() {}, info() {}, warn() {} };

/**
 * A single Raft member as a synchronous, deterministic state machine: no
 * timers, no I/O, no async. Inputs are method calls (tick, step, propose,
 * ...); outputs are collected into a Ready.
 *
 * The driver loop (one per node, all calls on one logical thread):
 *
 *   every tick interval:        core.tick()
 *   on a message from a peer:   core.step(msg)
 *   on client requests:         core.propose(data) / readIndex(ctx) / ...
 *   whenever core.hasReady():
 *     const rd = core.ready();
 *     1. persist: rd.snapshot (replaces the log), rd.entries (an entry at
 *        index i drops stored entries >= i) and rd.hardState, in one write,
 *        fsynced when rd.mustSync; then make them visible to the LogReader
 *        (MemoryStorage.applySnapshot/append/setHardState);
 *     2. send rd.messages (only now: they may promise what step 1 stored);
 *        report transport failures with reportUnreachable(), and the fate of
 *        every 'snapshot' message with reportSnapshot();
 *     3. apply: restore the state machine from rd.snapshot if present, then
 *        rd.committed in order, calling applyConfChange() for 'conf'
 *        entries; serve reads from rd.readStates once applied >= index;
 *     4. core.advance(rd).
 *
 * Inputs may arrive between ready() and advance() (an async driver awaiting
 * its fsync); their output goes into the next Ready. ready() may not be
 * called again before advance(); hasReady() is false in between.
 */
export class RaftCore {
  readonly id: NodeId;
  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly readOnlyMode: 'safe' | 'lease';
  private readonly maxMsgBytes: number;
  private readonly maxInflight: number;
  private readonly maxCommittedBytes: number;
  private readonly random: () => number;
  private readonly logger: RaftLogger;

  private term = 0;
  private vote: NodeId = '';
  private lead: NodeId = '';
  private role: Role = 'follower';
  private readonly log: RaftLog;
  /** Membership as of the applied index, sorted so that message order is deterministic. */
  private voters: NodeId[];
  private readonly prs = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private readonly readOnly = new ReadOnlyQueue();
  /** Read requests held back until the leader has committed an entry of its own term. */
  private pendingReads: Array<{ from: NodeId; ctx: Uint8Array }> = [];
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: NodeId = '';
  /** No conf change may be proposed until this index is applied (one pending change at a time). */
  private pendingConfIndex = 0;

  private prevSoft: SoftState = { leader: '', role: 'follower' };
  private prevHard: HardState;
  private outstanding: Ready | undefined;

  constructor(config: RaftConfig, storage: LogReader) {
    if (!isNodeId(config.id)) throw new RaftConfigError(`node id ${JSON.stringify(config.id)} is not 16 lowercase hex digits`);
    this.id = config.id;
    this.electionTicks = config.electionTicks ?? 10;
    this.heartbeatTicks = config.heartbeatTicks ?? 1;
    this.preVote = config.preVote ?? true;
    this.checkQuorum = config.checkQuorum ?? true;
    this.readOnlyMode = config.readOnly ?? 'safe';
    this.maxMsgBytes = config.maxMsgBytes ?? 1 << 20;
    this.maxInflight = config.maxInflight ?? 256;
    this.maxCommittedBytes = config.maxCommittedBytesPerReady ?? 16 << 20;
    this.random = config.random ?? Math.random;
    this.logger = config.logger ?? silent;
    if (!(this.heartbeatTicks >= 1 && this.electionTicks > this.heartbeatTicks)) {
      throw new RaftConfigError('need 1 <= heartbeatTicks < electionTicks');
    }
    if (!(this.maxInflight >= 1) || !(this.maxMsgBytes > 0) || !(this.maxCommittedBytes > 0)) {
      throw new RaftConfigError('maxInflight, maxMsgBytes and maxCommittedBytesPerReady must be positive');
    }
    if (this.readOnlyMode === 'lease' && !this.checkQuorum) {
      throw new RaftConfigError("readOnly 'lease' requires checkQuorum");
    }

    const { hardState, voters } = storage.initialState();
    this.log = new RaftLog(storage);
    this.voters = [...voters].sort();
    if (hardState.commit > this.log.lastIndex()) {
      throw new RaftInvariantError(`stored commit ${hardState.commit} is beyond the last index ${this.log.lastIndex()}`);
    }
    this.log.commitTo(hardState.commit);
    const applied = config.applied ?? 0;
    if (applied > 0) {
      if (applied < this.log.applied || applied > this.log.lastIndex()) {
        throw new RaftConfigError(`applied ${applied} outside the log [${this.log.applied}, ${this.log.lastIndex()}]`);
      }
      // A durable state machine at `applied` proves those entries committed,
      // even if the commit index write was lost (it is not always fsynced).
      this.log.commitTo(applied);
      this.log.appliedTo(applied);
    }
    this.prevHard = hardState;
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.becomeFollower(this.term, '');
  }

  // ---- inputs -------------------------------------------------------------

  /** Advance logical time by one tick. */
  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /** Start an election now (pre-vote first if enabled). */
  campaign(): void {
    this.hup(false);
  }

  /** Propose application data. Followers forward to the leader; throws ProposalDroppedError when that is impossible. */
  propose(data: Uint8Array): void {
    this.proposeLocal({ term: 0, index: 0, kind: 'normal', data });
  }

  /**
   * Propose a single-step membership change. It takes effect when each node
   * applies the entry and calls applyConfChange(). Only one may be pending;
   * the leader also refuses until it has applied an entry of its own term.
   */
  proposeConfChange(change: ConfChange): void {
    if (!isNodeId(change.id)) throw new ProposalDroppedError('invalidConfChange', `bad node id ${JSON.stringify(change.id)}`);
    this.proposeLocal({ term: 0, index: 0, kind: 'conf', data: encodeConfChange(change) });
  }

  /**
   * Ask for a linearizable read point. A ReadState with the same ctx (unique
   * per request) appears in a later Ready; serve the read once the state
   * machine has applied ReadState.index. Requests may be dropped on
   * leadership changes: callers need a timeout.
   */
  readIndex(ctx: Uint8Array): void {
    if (this.role === 'leader') {
      this.handleReadRequest(this.id, ctx);
    } else if (this.lead !== '') {
      this.msgs.push({ type: 'readIndex', from: this.id, to: this.lead, term: 0, ctx });
    } else {
      throw new ProposalDroppedError('noLeader', 'read index without a known leader');
    }
  }

  /** Hand leadership to `to` (forwarded to the leader when called on a follower). */
  transferLeader(to: NodeId): void {
    if (this.role === 'leader') {
      this.handleTransferLeader(to);
    } else if (this.lead !== '') {
      this.msgs.push({ type: 'transferLeader', from: this.id, to: this.lead, term: 0, transferee: to });
    } else {
      throw new ProposalDroppedError('noLeader', 'leadership transfer without a known leader');
    }
  }

  /** Apply a committed conf entry's change. Call it while applying that entry, in log order. */
  applyConfChange(change: ConfChange): { voters: readonly NodeId[] } {
    this.voters = applyToVoters(this.voters, change);
    if (this.role !== 'leader') return { voters: this.voters };
    if (change.type === 'add') {
      if (!this.prs.has(change.id)) {
        const pr = new Progress(this.log.lastIndex() + 1, this.maxInflight);
        // Give it a check-quorum period to answer before it counts as down.
        pr.recentActive = true;
        this.prs.set(change.id, pr);
      }
    } else {
      this.prs.delete(change.id);
      if (change.id === this.id) {
        this.logger.info({ id: this.id, term: this.term }, 'raft: leader removed from the cluster, stepping down');
        this.becomeFollower(this.term, '');
        return { voters: this.voters };
      }
    }
    if (this.leadTransferee !== '' && !this.voters.includes(this.leadTransferee)) this.abortLeaderTransfer();
    // A smaller quorum may already cover more entries.
    if (this.maybeCommit()) this.bcastAppend();
    return { voters: this.voters };
  }

  /** The transport could not reach `id`: stop streaming to it and probe instead. */
  reportUnreachable(id: NodeId): void {
    const pr = this.role === 'leader' ? this.prs.get(id) : undefined;
    if (pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
  }

  /** Outcome of sending a snapshot message to `id`; the driver must report failures. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.role === 'leader' ? this.prs.get(id) : undefined;
    if (pr === undefined || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Success: wait for the follower's ack. Failure: retry on the next heartbeat answer.
    pr.probeSent = true;
  }

  /** Feed a message received from a peer. Messages for another node or from the past are ignored. */
  step(m: Message): void {
    if (m.to !== this.id) return;
    if (m.term === 0) {
      // Forwarded local request: no term semantics.
    } else if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        const inLease = this.checkQuorum && this.lead !== '' && this.electionElapsed < this.electionTicks;
        if (inLease && !m.transfer) {
          // We heard from a leader within the minimum election timeout: a
          // node campaigning now is partitioned or late, not needed.
          this.logger.debug({ id: this.id, from: m.from, term: m.term }, 'raft: ignoring vote request within leader lease');
          return;
        }
      }
      if (m.type === 'preVote' || (m.type === 'preVoteResp' && !m.reject)) {
        // Pre-votes name a future term; nothing moves until a real election.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, '');
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // A leader cut off from the rest would otherwise never learn it lost
        // its term (its followers ignore it, and with pre-vote/check-quorum
        // nobody bumps their term by campaigning at it). Tell it.
        this.msgs.push(this.appendResp(m.from, 0, false, 0, 0));
      } else if (m.type === 'vote' || m.type === 'preVote') {
        // Reject with our term so that the candidate catches up (§5.1).
        // Staying silent can livelock: a node whose membership view lags
        // may never send the candidate anything else, and both keep
        // campaigning with the candidate's term always behind.
        const type = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
        this.msgs.push({ type, from: this.id, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'preVote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
    }
  }

  // ---- Ready / advance ----------------------------------------------------

  /** Whether ready() has work; false while a Ready is handed out and not yet advanced. */
  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    if (this.msgs.length > 0 || this.readStates.length > 0) return true;
    if (this.log.unstable.entries.length > 0 || this.log.unstable.snapshot !== undefined) return true;
    if (this.log.hasNextCommitted()) return true;
    if (this.softChanged() || this.hardChanged()) return true;
    return false;
  }

  /**
   * Collect the pending work. Must be followed by advance(ready) before the
   * next ready(); step()/tick()/propose() may be called in between (their
   * output goes into the next Ready).
   */
  ready(): Ready {
    if (this.outstanding !== undefined) throw new RaftUsageError('ready() called again before advance()');
    const entries = this.log.unstableEntries();
    const snapshot = this.log.unstable.snapshot;
    const hard = this.hardState();
    const hardChanged = this.hardChanged();
    const mustSync =
      entries.length > 0 || snapshot !== undefined || hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote;
    const rd: Ready = {
      entries,
      committed: this.log.hasNextCommitted() ? this.log.nextCommitted(this.maxCommittedBytes) : NO_ENTRIES,
      messages: this.msgs,
      readStates: this.readStates,
      mustSync,
      ...(this.softChanged() ? { soft: this.softState() } : {}),
      ...(hardChanged ? { hardState: hard } : {}),
      ...(snapshot !== undefined ? { snapshot } : {}),
    };
    this.msgs = [];
    this.readStates = [];
    if (rd.soft !== undefined) this.prevSoft = rd.soft;
    if (hardChanged) this.prevHard = hard;
    this.outstanding = rd;
    return rd;
  }

  /** The Ready has been persisted, sent and applied. */
  advance(rd: Ready): void {
    if (rd !== this.outstanding) throw new RaftUsageError('advance() with a Ready that is not the outstanding one');
    this.outstanding = undefined;
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) {
      this.log.stableTo(last.index, last.term);
      if (this.role === 'leader' && this.log.term(last.index) === last.term) {
        // Our own entries are durable now: count them.
        this.prs.get(this.id)?.maybeUpdate(last.index);
        if (this.maybeCommit()) this.bcastAppend();
      }
    }
    if (rd.snapshot !== undefined) {
      this.log.stableSnapTo(rd.snapshot.index);
      if (rd.snapshot.index > this.log.applied) this.log.appliedTo(rd.snapshot.index);
    }
    const lastApplied = rd.committed[rd.committed.length - 1];
    if (lastApplied !== undefined && lastApplied.index > this.log.applied) this.log.appliedTo(lastApplied.index);
  }

  /** Cheap snapshot of the node's state (no copies); safe to call after every input. */
  status(): RaftStatus {
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      leader: this.lead,
      role: this.role,
      voters: this.voters,
      leadTransferee: this.leadTransferee,
    };
  }

  /** Replication state per voter; undefined unless leader. */
  progress(): ReadonlyMap<NodeId, ProgressStatus> | undefined {
    if (this.role !== 'leader') return undefined;
    const out = new Map<NodeId, ProgressStatus>();
    for (const [id, pr] of this.prs) out.set(id, pr.status());
    return out;
  }

  /** Term at `index` in this node's log (unstable included), or undefined outside it. For drivers and tests. */
  termAt(index: number): number | undefined {
    return this.log.term(index);
  }

  // ---- roles --------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = '';
    }
    this.lead = '';
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTicks + Math.floor(this.random() * this.electionTicks);
    this.leadTransferee = '';
    this.votes.clear();
    this.prs.clear();
    this.readOnly.clear();
    this.pendingReads = [];
  }

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    // Term and vote stay: a pre-vote changes nothing durable.
    this.votes.clear();
    this.lead = '';
    this.role = 'preCandidate';
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    const last = this.log.lastIndex();
    for (const id of this.voters) {
      const pr = new Progress(last + 1, this.maxInflight);
      if (id === this.id) {
        pr.match = this.log.stableLastIndex();
        pr.recentActive = true;
        pr.becomeReplicate();
      }
      this.prs.set(id, pr);
    }
    this.logger.info({ id: this.id, term: this.term }, 'raft: became leader');
    // An entry of our own term lets us commit everything before it (§5.4.2).
    this.appendEntries([{ term: 0, index: 0, kind: 'normal', data: EMPTY }]);
    // Conf changes wait until this entry is applied: a leader must commit in
    // its term before changing membership (the single-server change bug).
    this.pendingConfIndex = this.log.lastIndex();
  }

  private promotable(): boolean {
    return this.voters.includes(this.id) && this.log.unstable.snapshot === undefined;
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.quorumActive()) {
        this.logger.warn({ id: this.id, term: this.term }, 'raft: leader lost contact with a quorum, stepping down');
        this.becomeFollower(this.term, '');
        return;
      }
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.leadTransferee !== '') this.abortLeaderTransfer();
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  /** Counts voters heard from during the period, and starts a new period. */
  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.voters) {
      const pr = this.prs.get(id);
      if (pr === undefined) continue;
      if (id === this.id || pr.recentActive) active++;
      if (id !== this.id) pr.recentActive = false;
    }
    return active >= majority(this.voters.length);
  }

  private hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    if (this.hasUnappliedConfChanges()) {
      // Our membership view lags the log; campaigning with it could count
      // votes against a configuration the cluster has already left.
      this.logger.warn({ id: this.id, term: this.term }, 'raft: not campaigning with unapplied conf changes');
      return;
    }
    this.logger.info({ id: this.id, term: this.term, preVote: this.preVote && !transfer }, 'raft: starting election');
    this.startCampaign(this.preVote && !transfer ? 'preVote' : 'vote', transfer);
  }

  private hasUnappliedConfChanges(): boolean {
    let lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    const hi = this.log.committed + 1;
    while (lo < hi) {
      const ents = this.log.slice(lo, hi, CONF_SCAN_BYTES);
      for (const e of ents) if (e.kind === 'conf') return true;
      lo += ents.length;
    }
    return false;
  }

  private startCampaign(kind: 'preVote' | 'vote', transfer: boolean): void {
    let term: number;
    if (kind === 'preVote') {
      this.becomePreCandidate();
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      term = this.term;
    }
    if (this.recordVote(this.id, true) === 'won') {
      // Single-voter cluster.
      if (kind === 'preVote') this.startCampaign('vote', transfer);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.voters) {
      if (id === this.id) continue;
      this.msgs.push({ type: kind, from: this.id, to: id, term, lastIndex, lastTerm, transfer } satisfies VoteMessage);
    }
  }

  private recordVote(id: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteOutcome(this.voters, this.votes);
  }

  private handleVoteRequest(m: VoteMessage): void {
    const respType = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
    const canVote =
      this.vote === m.from ||
      (this.vote === '' && this.lead === '') ||
      (m.type === 'preVote' && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm)) {
      // A grant carries the request's term (for a pre-vote, the future term).
      this.msgs.push({ type: respType, from: this.id, to: m.from, term: m.term, reject: false } satisfies VoteRespMessage);
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.msgs.push({ type: respType, from: this.id, to: m.from, term: this.term, reject: true } satisfies VoteRespMessage);
    }
  }

  // ---- per-role message handling -------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'propose':
        if (this.lead === '') {
          this.logger.debug({ id: this.id }, 'raft: dropping forwarded proposal, no leader');
        } else {
          this.msgs.push({ type: 'propose', from: this.id, to: this.lead, term: 0, entries: m.entries });
        }
        return;
      case 'append':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case 'transferLeader':
        if (this.lead !== '') this.msgs.push({ ...m, from: this.id, to: this.lead, term: 0 });
        return;
      case 'timeoutNow':
        this.logger.info({ id: this.id, from: m.from, term: this.term }, 'raft: leadership handed over, campaigning');
        this.hup(true);
        return;
      case 'readIndexResp':
        this.readStates.push({ index: m.index, ctx: m.ctx });
        return;
      default:
        // Another follower's read request (its leader view is stale) and stray responses: drop.
        return;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'voteResp':
      case 'preVoteResp': {
        const mine = this.role === 'preCandidate' ? 'preVoteResp' : 'voteResp';
        if (m.type !== mine) return;
        const outcome = this.recordVote(m.from, !m.reject);
        if (outcome === 'won') {
          if (this.role === 'preCandidate') {
            this.startCampaign('vote', false);
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (outcome === 'lost') {
          this.becomeFollower(this.term, '');
        }
        return;
      }
      default:
        return;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'propose':
        for (const e of m.entries) this.appendProposal(e, false);
        return;
      case 'readIndex':
        this.handleReadRequest(m.from, m.ctx);
        return;
      case 'transferLeader':
        this.handleTransferLeader(m.transferee);
        return;
      case 'appendResp':
        this.handleAppendResp(m);
        return;
      case 'heartbeatResp':
        this.handleHeartbeatResp(m);
        return;
      default:
        return;
    }
  }

  // ---- follower side of replication ----------------------------------------

  private appendResp(to: NodeId, index: number, reject: boolean, hint: number, hintTerm: number): AppendRespMessage {
    return { type: 'appendResp', from: this.id, to, term: this.term, index, reject, hint, hintTerm };
  }

  private handleAppend(m: AppendMessage): void {
    if (m.prevIndex < this.log.committed) {
      this.msgs.push(this.appendResp(m.from, this.log.committed, false, 0, 0));
      return;
    }
    const last = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
    if (last !== undefined) {
      this.msgs.push(this.appendResp(m.from, last, false, 0, 0));
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
    this.msgs.push(this.appendResp(m.from, m.prevIndex, true, hint.index, hint.term));
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(m.commit);
    const resp: HeartbeatRespMessage =
      m.ctx === undefined
        ? { type: 'heartbeatResp', from: this.id, to: m.from, term: this.term }
        : { type: 'heartbeatResp', from: this.id, to: m.from, term: this.term, ctx: m.ctx };
    this.msgs.push(resp);
  }

  private handleSnapshot(m: SnapshotMessage): void {
    if (this.restore(m.snapshot)) {
      this.msgs.push(this.appendResp(m.from, this.log.lastIndex(), false, 0, 0));
    } else {
      this.msgs.push(this.appendResp(m.from, this.log.committed, false, 0, 0));
    }
  }

  /** Install a leader's snapshot; false when it brings nothing new. */
  private restore(s: RaftSnapshot): boolean {
    // Stale or duplicated: everything it covers is committed here already,
    // and replacing the log would throw away committed entries after it.
    if (s.index <= this.log.committed) return false;
    if (this.log.matchTerm(s.index, s.term)) {
      // Our log already holds the snapshot's last entry: keep the log (it
      // may extend beyond, in the current term) and just learn the commit.
      this.log.commitTo(s.index);
      return false;
    }
    this.logger.info({ id: this.id, index: s.index, term: s.term }, 'raft: restoring snapshot');
    this.log.restore(s);
    this.voters = [...s.voters].sort();
    return true;
  }

  // ---- leader side of replication ------------------------------------------

  private proposeLocal(e: Entry): void {
    if (this.role === 'leader') {
      this.appendProposal(e, true);
    } else if (this.lead !== '') {
      this.msgs.push({ type: 'propose', from: this.id, to: this.lead, term: 0, entries: [e] });
    } else {
      throw new ProposalDroppedError('noLeader', 'no leader is known');
    }
  }

  private appendProposal(e: Entry, local: boolean): void {
    const drop = (reason: ProposalDroppedError['reason'], detail: string): void => {
      if (local) throw new ProposalDroppedError(reason, detail);
      this.logger.debug({ id: this.id, reason }, 'raft: dropping forwarded proposal');
    };
    if (this.leadTransferee !== '') return drop('transferring', `leadership is moving to ${this.leadTransferee}`);
    if (e.kind === 'conf') {
      if (this.pendingConfIndex > this.log.applied) {
        return drop('confChangePending', `a conf change at or before ${this.pendingConfIndex} is not applied yet`);
      }
      const cc = decodeConfChange(e.data);
      const member = this.voters.includes(cc.id);
      if (cc.type === 'add' && member) return drop('invalidConfChange', `${cc.id} is already a voter`);
      if (cc.type === 'remove' && !member) return drop('invalidConfChange', `${cc.id} is not a voter`);
      if (cc.type === 'remove' && this.voters.length === 1) return drop('invalidConfChange', 'cannot remove the last voter');
    }
    this.appendEntries([{ term: 0, index: 0, kind: e.kind, data: e.data }]);
    if (e.kind === 'conf') this.pendingConfIndex = this.log.lastIndex();
    this.bcastAppend();
  }

  /**
   * Leader: stamp term and index and append. Our own copy counts towards
   * commit only once it is durable (see advance()), so a commit index never
   * covers entries a crash could still take back, even in a 1-node cluster.
   */
  private appendEntries(ents: readonly Entry[]): void {
    let index = this.log.lastIndex();
    const stamped = ents.map((e) => ({ term: this.term, index: ++index, kind: e.kind, data: e.data }));
    this.log.append(stamped);
  }

  /** Move commit to the quorum's match index if that entry is from our term. */
  private maybeCommit(): boolean {
    const index = quorumIndex(this.voters, (id) => this.prs.get(id)?.match ?? 0);
    if (!this.log.maybeCommit(index, this.term)) return false;
    if (this.pendingReads.length > 0) this.releasePendingReads();
    return true;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private bcastAppend(): void {
    for (const id of this.voters) if (id !== this.id) this.maybeSendAppend(id, true);
  }

  private bcastHeartbeat(): void {
    const ctx = this.readOnlyMode === 'safe' ? this.readOnly.lastPendingCtx() : undefined;
    for (const id of this.voters) {
      if (id === this.id) continue;
      const pr = this.prs.get(id);
      if (pr === undefined) continue;
      // Never ask a follower to commit past what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed);
      this.msgs.push(
        ctx === undefined
          ? { type: 'heartbeat', from: this.id, to: id, term: this.term, commit }
          : { type: 'heartbeat', from: this.id, to: id, term: this.term, commit, ctx },
      );
    }
  }

  /**
   * Send the next append to `to` if its progress allows; a snapshot when the
   * entries it needs are compacted. Returns whether a message was sent.
   */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) return this.maybeSendSnapshot(to, pr);
    const entries = this.log.entriesFrom(pr.next, this.maxMsgBytes);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.msgs.push({
      type: 'append',
      from: this.id,
      to,
      term: this.term,
      prevIndex,
      prevTerm,
      entries,
      commit: this.log.committed,
    });
    pr.sentAppend(entries.length, prevIndex + entries.length);
    return true;
  }

  private maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    // Snapshots are expensive: only for followers that answered recently.
    if (!pr.recentActive) return false;
    let snapshot: RaftSnapshot;
    try {
      snapshot = this.log.snapshot();
    } catch (err) {
      if (err instanceof SnapshotTemporarilyUnavailableError) return false;
      throw err;
    }
    if (snapshot.index < this.log.firstIndex() - 1) {
      throw new RaftInvariantError(`snapshot at ${snapshot.index} does not reach the log start ${this.log.firstIndex()}`);
    }
    pr.becomeSnapshot(snapshot.index);
    this.msgs.push({ type: 'snapshot', from: this.id, to, term: this.term, snapshot });
    return true;
  }

  private handleAppendResp(m: AppendRespMessage): void {
    const pr = this.prs.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.reject) {
      let probe = m.hint;
      if (m.hintTerm > 0) probe = this.log.findConflictByTerm(m.hint, m.hintTerm).index;
      if (pr.maybeDecrTo(m.index, probe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.maybeSendAppend(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      // The follower caught up far enough (snapshot applied, or entries from
      // someone else) for the log to serve it again.
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else if (wasPaused) {
      this.maybeSendAppend(m.from, true);
    }
    // Fill the pipeline.
    while (this.maybeSendAppend(m.from, false)) {
      // keep sending while the window and the log allow
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private handleHeartbeatResp(m: HeartbeatRespMessage): void {
    const pr = this.prs.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    pr.probeSent = false;
    // Appends may have been lost: free a slot so the pipeline cannot wedge.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex() || pr.state === 'probe') this.maybeSendAppend(m.from, true);

    if (this.readOnlyMode !== 'safe' || m.ctx === undefined) return;
    const acks = this.readOnly.recvAck(m.from, m.ctx);
    if (acks === undefined) return;
    let voterAcks = 0;
    for (const id of acks) if (this.voters.includes(id)) voterAcks++;
    if (voterAcks < majority(this.voters.length)) return;
    for (const req of this.readOnly.advance(m.ctx)) this.respondRead(req.from, req.index, req.ctx);
  }

  // ---- reads ------------------------------------------------------------

  private handleReadRequest(from: NodeId, ctx: Uint8Array): void {
    if (!this.committedEntryInCurrentTerm()) {
      // Our commit index may lag what the previous leader committed; it is
      // only a safe read point once we committed an entry of our own term.
      this.pendingReads.push({ from, ctx });
      return;
    }
    const index = this.log.committed;
    if (this.voters.length === 1 && this.voters[0] === this.id) {
      this.respondRead(from, index, ctx);
      return;
    }
    if (this.readOnlyMode === 'lease') {
      this.respondRead(from, index, ctx);
      return;
    }
    this.readOnly.add(index, from, ctx);
    this.readOnly.recvAck(this.id, ctx);
    this.bcastHeartbeatWith(ctx);
  }

  private bcastHeartbeatWith(ctx: Uint8Array): void {
    for (const id of this.voters) {
      if (id === this.id) continue;
      const pr = this.prs.get(id);
      if (pr === undefined) continue;
      const commit = Math.min(pr.match, this.log.committed);
      this.msgs.push({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit, ctx });
    }
  }

  private releasePendingReads(): void {
    if (!this.committedEntryInCurrentTerm()) return;
    const reads = this.pendingReads;
    this.pendingReads = [];
    for (const r of reads) this.handleReadRequest(r.from, r.ctx);
  }

  private respondRead(from: NodeId, index: number, ctx: Uint8Array): void {
    if (from === this.id) this.readStates.push({ index, ctx });
    else this.msgs.push({ type: 'readIndexResp', from: this.id, to: from, term: this.term, index, ctx });
  }

  // ---- leadership transfer ------------------------------------------------

  private handleTransferLeader(to: NodeId): void {
    if (to === this.id || !this.voters.includes(to)) return;
    if (this.leadTransferee !== '') {
      if (this.leadTransferee === to) return;
      this.abortLeaderTransfer();
    }
    this.logger.info({ id: this.id, to, term: this.term }, 'raft: transferring leadership');
    // The transfer must finish within one election timeout (see tickLeader).
    this.electionElapsed = 0;
    this.leadTransferee = to;
    const pr = this.prs.get(to);
    if (pr !== undefined && pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.maybeSendAppend(to, true);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.msgs.push({ type: 'timeoutNow', from: this.id, to, term: this.term });
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = '';
  }

  // ---- state snapshots for Ready ------------------------------------------------

  private softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  private softChanged(): boolean {
    return this.prevSoft.leader !== this.lead || this.prevSoft.role !== this.role;
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private hardChanged(): boolean {
    const p = this.prevHard;
    return p.term !== this.term || p.vote !== this.vote || p.commit !== this.log.committed;
  }
}
