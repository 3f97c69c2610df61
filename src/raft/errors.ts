import { CairnError } from '../util/errors.js';

/** The requested index lies before the first available entry (it is covered by a snapshot). */
export class CompactedError extends CairnError {
  constructor(index: number, firstIndex: number) {
    super('CAIRN_RAFT_COMPACTED', `log index ${index} is compacted (first available index ${firstIndex})`);
  }
}

/** The requested index lies after the last stored entry. */
export class UnavailableError extends CairnError {
  constructor(index: number, lastIndex: number) {
    super('CAIRN_RAFT_UNAVAILABLE', `log index ${index} is unavailable (last index ${lastIndex})`);
  }
}

/** A snapshot older than (or as old as) the one already stored. */
export class SnapshotOutOfDateError extends CairnError {
  constructor(index: number, current: number) {
    super('CAIRN_RAFT_SNAPSHOT_OUT_OF_DATE', `snapshot at index ${index} is not newer than the stored one at ${current}`);
  }
}

/**
 * Thrown by LogReader.snapshot() when the application is still producing a
 * snapshot; the leader retries on a later heartbeat.
 */
export class SnapshotTemporarilyUnavailableError extends CairnError {
  constructor() {
    super('CAIRN_RAFT_SNAPSHOT_UNAVAILABLE', 'snapshot is temporarily unavailable');
  }
}

export type DropReason = 'noLeader' | 'transferring' | 'confChangePending' | 'invalidConfChange';

/** A proposal, conf change or read request the core cannot take now; the caller may retry. */
export class ProposalDroppedError extends CairnError {
  readonly reason: DropReason;

  constructor(reason: DropReason, detail: string) {
    super('CAIRN_RAFT_PROPOSAL_DROPPED', `proposal dropped: ${detail}`);
    this.reason = reason;
  }
}

export class RaftConfigError extends CairnError {
  constructor(message: string) {
    super('CAIRN_RAFT_CONFIG', message);
  }
}

/** The driver broke the Ready/advance contract. */
export class RaftUsageError extends CairnError {
  constructor(message: string) {
    super('CAIRN_RAFT_USAGE', message);
  }
}

/**
 * A safety invariant would be violated (e.g. truncating a committed entry, a
 * commit index beyond the log). Indicates corrupted storage or a bug; the
 * node must stop rather than continue with a diverged log.
 */
export class RaftInvariantError extends CairnError {
  constructor(message: string) {
    super('CAIRN_RAFT_INVARIANT', message);
  }
}
