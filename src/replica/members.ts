import type { NodeId } from '../raft/types.js';
import type { MemberInfo } from '../server/key-service.js';
import type { InitialMember } from './cluster-spec.js';

export interface MemberRecord {
  readonly id: NodeId;
  /** '' until the member has published itself (etcd shows unstarted members so). */
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
}

/** What a member announces about itself once it runs (etcd's "publish"). */
export interface MemberAttributes {
  readonly id: NodeId;
  readonly name: string;
  readonly clientURLs: readonly string[];
}

/**
 * The replicated member list: peer URLs come with a member's admission (the
 * founding list, later conf changes), names and client URLs from the
 * member's own publish entry. It changes only by applying log entries, so
 * every replica shows the same list at the same index.
 */
export class MemberRegistry {
  readonly #members = new Map<NodeId, MemberRecord>();

  static fromInitial(members: readonly InitialMember[]): MemberRegistry {
    const registry = new MemberRegistry();
    for (const m of members) registry.#members.set(m.id, { id: m.id, name: '', peerURLs: [...m.peerURLs], clientURLs: [] });
    return registry;
  }

  static fromJson(records: readonly MemberRecord[]): MemberRegistry {
    const registry = new MemberRegistry();
    for (const r of records) {
      registry.#members.set(r.id, { id: r.id, name: r.name, peerURLs: [...r.peerURLs], clientURLs: [...r.clientURLs] });
    }
    return registry;
  }

  toJson(): MemberRecord[] {
    return this.list();
  }

  /** Sorted by id, as etcd lists them. */
  list(): MemberRecord[] {
    return [...this.#members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(id: NodeId): MemberRecord | undefined {
    return this.#members.get(id);
  }

  publish(attrs: MemberAttributes): void {
    const m = this.#members.get(attrs.id);
    // A member removed before its publish committed stays removed.
    if (m === undefined) return;
    this.#members.set(attrs.id, { ...m, name: attrs.name, clientURLs: [...attrs.clientURLs] });
  }

  /** Admission through a conf change; peer URLs are unknown until runtime membership carries them. */
  admit(id: NodeId): void {
    if (!this.#members.has(id)) this.#members.set(id, { id, name: '', peerURLs: [], clientURLs: [] });
  }

  remove(id: NodeId): void {
    this.#members.delete(id);
  }
}

export function memberInfo(record: MemberRecord): MemberInfo {
  return { id: record.id, name: record.name, peerURLs: record.peerURLs, clientURLs: record.clientURLs };
}
