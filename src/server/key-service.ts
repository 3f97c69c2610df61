import type { V2Command } from '../v2store/command.js';
import type { V2Event } from '../v2store/event.js';
import type { V2Store } from '../v2store/store.js';

/**
 * What the HTTP layer needs from a store node, whether it stands alone or is
 * one member of a Raft cluster: local reads and watches on `store`, writes
 * through `propose`, which resolves once the command is durable and applied.
 */
export interface KeyService {
  readonly store: V2Store;
  /** Index of the last applied log entry (X-Raft-Index). */
  readonly appliedIndex: number;
  /** Current term (X-Raft-Term). */
  readonly term: number;
  /** Applies a command after it is durable; rejects with the store's V2Error when the command fails. */
  propose(command: V2Command): Promise<V2Event>;
  /**
   * Resolves once a local read reflects every write acknowledged anywhere
   * before the call (quorum=true). A single node is always there, so it
   * leaves this out.
   */
  linearizableRead?(): Promise<void>;
}

export interface MemberInfo {
  readonly id: string;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
}
