/**
 * The vocabulary of the Raft core: log entries, durable state, snapshots,
 * messages and the Ready batch handed to the driver. Everything here is plain
 * data so that a driver can encode it for the WAL and the transport.
 */

/** 16 lowercase hex digits, like etcd member IDs (a uint64 does not fit a JS number). Never reused. */
export type NodeId = string;

/** "No node": no vote cast, no leader known. */
export const NO_NODE: NodeId = '';

export type EntryKind = 'normal' | 'conf';

export interface Entry {
  readonly term: number;
  readonly index: number;
  /** 'conf' entries carry an encoded ConfChange (see conf-change.ts). */
  readonly kind: EntryKind;
  readonly data: Uint8Array;
}

/** What must be durable before any message of the same Ready leaves the node. */
export interface HardState {
  readonly term: number;
  /** Member voted for in `term`; '' for none. */
  readonly vote: NodeId;
  readonly commit: number;
}

export interface RaftSnapshot {
  /** Last log index covered by the snapshot. */
  readonly index: number;
  /** Term of the entry at `index`. */
  readonly term: number;
  /** Voters as of `index` (the membership after applying every entry up to it). */
  readonly voters: readonly NodeId[];
  /** The application's state machine image; opaque to the core. */
  readonly data: Uint8Array;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state, reported when it changes; never persisted. */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/** A linearizable read may be served once the state machine has applied `index`. */
export interface ReadState {
  readonly index: number;
  readonly ctx: Uint8Array;
}

export interface ConfChange {
  readonly type: 'add' | 'remove';
  readonly id: NodeId;
  /**
   * Opaque to the core: what the application needs to apply the change on
   * every member alike (etcd's ConfChange.Context), such as the new
   * member's peer URLs. It travels inside the entry, so the change and its
   * details commit together.
   */
  readonly context?: string;
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  /**
   * Sender's term. 0 on requests forwarded to the leader ('propose',
   * 'readIndex', 'transferLeader'): they are local requests in transit and
   * must not move anyone's term.
   */
  readonly term: number;
}

export type VoteMessage = Envelope & {
  readonly type: 'vote' | 'preVote';
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Campaign started by a leadership transfer: voters must not ignore it because of a leader lease. */
  readonly transfer: boolean;
};

export type VoteRespMessage = Envelope & {
  readonly type: 'voteResp' | 'preVoteResp';
  readonly reject: boolean;
};

export type AppendMessage = Envelope & {
  readonly type: 'append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
};

export type AppendRespMessage = Envelope & {
  readonly type: 'appendResp';
  /** Accepted: last index known to match the leader. Rejected: the rejected prevIndex. */
  readonly index: number;
  readonly reject: boolean;
  /** On reject: the follower's guess of the last index that may match (its log's term there is `hintTerm`). */
  readonly hint: number;
  readonly hintTerm: number;
};

export type HeartbeatMessage = Envelope & {
  readonly type: 'heartbeat';
  readonly commit: number;
  /** Read-index round this heartbeat confirms leadership for. */
  readonly ctx?: Uint8Array;
};

export type HeartbeatRespMessage = Envelope & {
  readonly type: 'heartbeatResp';
  readonly ctx?: Uint8Array;
};

export type SnapshotMessage = Envelope & {
  readonly type: 'snapshot';
  readonly snapshot: RaftSnapshot;
};

export type ReadIndexMessage = Envelope & {
  readonly type: 'readIndex';
  readonly ctx: Uint8Array;
};

export type ReadIndexRespMessage = Envelope & {
  readonly type: 'readIndexResp';
  readonly index: number;
  readonly ctx: Uint8Array;
};

export type TimeoutNowMessage = Envelope & { readonly type: 'timeoutNow' };

/** A follower forwarding proposals to its leader; the leader assigns term and index. */
export type ProposeMessage = Envelope & {
  readonly type: 'propose';
  readonly entries: readonly Entry[];
};

export type TransferLeaderMessage = Envelope & {
  readonly type: 'transferLeader';
  readonly transferee: NodeId;
};

export type Message =
  | VoteMessage
  | VoteRespMessage
  | AppendMessage
  | AppendRespMessage
  | HeartbeatMessage
  | HeartbeatRespMessage
  | SnapshotMessage
  | ReadIndexMessage
  | ReadIndexRespMessage
  | TimeoutNowMessage
  | ProposeMessage
  | TransferLeaderMessage;

export type MessageType = Message['type'];

/**
 * One batch of work for the driver. Order of duties:
 * 1. persist `snapshot`, `entries` and `hardState` (fsync if `mustSync`);
 * 2. send `messages`;
 * 3. restore `snapshot` into the state machine, then apply `committed` in order;
 * 4. call `advance(ready)`.
 */
export interface Ready {
  /** Present when leader or role changed since the previous Ready. */
  readonly soft?: SoftState;
  /** Present when term, vote or commit changed since the previous Ready. */
  readonly hardState?: HardState;
  /** Append to the durable log; writing index i first drops every stored entry >= i. */
  readonly entries: readonly Entry[];
  /** Replaces the whole durable log; the state machine must be restored from it. */
  readonly snapshot?: RaftSnapshot;
  /** Committed entries to apply, in order (conf entries: call applyConfChange). */
  readonly committed: readonly Entry[];
  /** Send only once the writes above are durable. */
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** False when only `commit` changed: the write may skip fsync. */
  readonly mustSync: boolean;
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly recentActive: boolean;
  readonly pendingSnapshot: number;
  readonly inflight: number;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  readonly leader: NodeId;
  readonly role: Role;
  /** Voters as of the applied index (the array is replaced, never mutated). */
  readonly voters: readonly NodeId[];
  readonly leadTransferee: NodeId;
}

/** Subset of pino's Logger the core uses; pass `silentLogger()` or a child logger. */
export interface RaftLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}
