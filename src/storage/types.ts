/**
 * The durable log's vocabulary. It is shaped for Raft (term, vote, commit)
 * from the start: a single node writes term 1 entries and its own vote, and
 * the replicated store reuses the same files later.
 */
/** 'conf' entries carry a membership change; a WAL written before kinds existed holds only normal entries. */
export type LogEntryKind = 'normal' | 'conf';

export interface LogEntry {
  readonly index: number;
  readonly term: number;
  /** Missing means 'normal' (single-node WALs never wrote a kind). */
  readonly kind?: LogEntryKind;
  readonly data: Uint8Array;
}

export interface HardState {
  readonly term: number;
  /** Member id voted for in `term`, '' for none. */
  readonly vote: string;
  readonly commit: number;
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  /**
   * Raft voters as of `index`, for replicated stores. Missing in single-node
   * snapshots and in files written before clusters existed.
   */
  readonly voters?: readonly string[];
}

export interface Snapshot extends SnapshotMeta {
  readonly data: Uint8Array;
}

/** What a WAL holds after the newest snapshot marker, as read back at start-up. */
export interface WalState {
  /** The newest snapshot marker found (index 0 / term 0 when none). */
  readonly snapshot: SnapshotMeta;
  readonly hardState: HardState;
  /** Entries after `snapshot.index`, in index order, later writes winning over earlier ones at the same index. */
  readonly entries: readonly LogEntry[];
  /** Bytes cut off a torn or corrupt tail during this open (0 when the log was clean). */
  readonly repairedBytes: number;
  /** The newest bytes given to `saveMetadata`, if any (e.g. member and cluster id). */
  readonly metadata?: Uint8Array;
}
