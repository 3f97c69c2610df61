import type { MemberInfo } from '../server/key-service.js';

/**
 * What the client API shows about a replicated cluster. Without one the
 * server describes a single node (itself as the only member and leader).
 */
export interface ClusterView {
  /** Every member, sorted by id. */
  members(): readonly MemberInfo[];
  /** The leader this member knows of; undefined during an election. */
  leader(): MemberInfo | undefined;
  /** /health: a leader is known. */
  healthy(): boolean;
  /** /v2/stats/self body. */
  selfStats(): Record<string, unknown>;
  /** /v2/stats/leader body; undefined when this member does not lead. */
  leaderStats(): Record<string, unknown> | undefined;
  /**
   * POST /v2/members: resolves with the new member once the change is
   * applied; rejects with a MembershipError (or a timeout) as etcd would.
   */
  addMember(peerURLs: readonly string[]): Promise<MemberInfo>;
  /** DELETE /v2/members/<id> (16 hex digits). */
  removeMember(id: string): Promise<void>;
  /** PUT /v2/members/<id>. */
  updateMember(id: string, peerURLs: readonly string[]): Promise<void>;
}
