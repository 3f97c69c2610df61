import { CairnError } from '../util/errors.js';

/**
 * A WAL frame failed its checks somewhere other than a repairable torn tail.
 * Opening refuses to continue: loading past it could resurrect or lose
 * acknowledged writes, so an operator has to look at `file` at `offset`.
 */
export class WalCorruptError extends CairnError {
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, reason: string) {
    super('CAIRN_WAL_CORRUPT', `WAL ${file} is corrupt at offset ${offset}: ${reason}`);
    this.file = file;
    this.offset = offset;
  }
}

export class WalClosedError extends CairnError {
  constructor() {
    super('CAIRN_WAL_CLOSED', 'WAL is closed');
  }
}

/**
 * A write or fsync failed. After a failed fsync the kernel may have dropped
 * the dirty pages, so retrying could report durability that does not exist;
 * the WAL refuses all further writes and must be reopened (which re-reads
 * what actually reached the disk).
 */
export class WalFailedError extends CairnError {
  constructor(cause: unknown) {
    super('CAIRN_WAL_FAILED', 'WAL write failed; reopen the WAL to continue', { cause });
  }
}

/** The caller asked for something the storage formats or Raft ordering cannot represent. */
export class StorageArgumentError extends CairnError {
  constructor(message: string) {
    super('CAIRN_STORAGE_INVALID_ARGUMENT', message);
  }
}

export class SnapshotCorruptError extends CairnError {
  readonly file: string;

  constructor(file: string, reason: string) {
    super('CAIRN_SNAP_CORRUPT', `snapshot ${file} is corrupt: ${reason}`);
    this.file = file;
  }
}
