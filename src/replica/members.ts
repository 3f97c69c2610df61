import type { NodeId } from '../raft/types.js';
import type { MemberInfo } from '../server/key-service.js';
import type { InitialMember } from './cluster-spec.js';
import { IdExistsError, IdNotFoundError, IdRemovedError, PeerUrlExistsError } from './membership-errors.js';

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
 * every replica shows the same list at the same index. Removed ids are
 * remembered for good: they are never admitted again, and their messages
 * are refused.
 */
let versions = 0;

export class MemberRegistry {
  readonly #members = new Map<NodeId, MemberRecord>();
  readonly #removed = new Set<NodeId>();
  #version = ++versions;

  /** Changes whenever the list does (unique across registries), so a watcher can tell it needs to look again. */
  get version(): number {
    return this.#version;
  }

  static fromInitial(members: readonly InitialMember[]): MemberRegistry {
    const registry = new MemberRegistry();
    for (const m of members) registry.#members.set(m.id, { id: m.id, name: '', peerURLs: [...m.peerURLs], clientURLs: [] });
    return registry;
  }

  static fromJson(records: readonly MemberRecord[], removed: readonly NodeId[] = []): MemberRegistry {
    const registry = new MemberRegistry();
    for (const r of records) {
      registry.#members.set(r.id, { id: r.id, name: r.name, peerURLs: [...r.peerURLs], clientURLs: [...r.clientURLs] });
    }
    for (const id of removed) registry.#removed.add(id);
    return registry;
  }

  toJson(): MemberRecord[] {
    return this.list();
  }

  /** Removed ids, sorted (for the snapshot image). */
  removedIds(): NodeId[] {
    return [...this.#removed].sort();
  }

  /** Sorted by id, as etcd lists them. */
  list(): MemberRecord[] {
    return [...this.#members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(id: NodeId): MemberRecord | undefined {
    return this.#members.get(id);
  }

  isRemoved(id: NodeId): boolean {
    return this.#removed.has(id);
  }

  publish(attrs: MemberAttributes): void {
    const m = this.#members.get(attrs.id);
    // A member removed before its publish committed stays removed.
    if (m === undefined) return;
    this.#members.set(attrs.id, { ...m, name: attrs.name, clientURLs: [...attrs.clientURLs] });
    this.#version = ++versions;
  }

  /** Throws the membership error etcd would answer if `id` could not join with these peer URLs. */
  checkAdd(id: NodeId, peerURLs: readonly string[]): void {
    if (this.#removed.has(id)) throw new IdRemovedError();
    if (this.#members.has(id)) throw new IdExistsError();
    this.#checkUrlsFree(peerURLs, undefined);
  }

  checkRemove(id: NodeId): void {
    if (this.#removed.has(id)) throw new IdRemovedError();
    if (!this.#members.has(id)) throw new IdNotFoundError();
  }

  checkUpdate(id: NodeId, peerURLs: readonly string[]): void {
    if (this.#removed.has(id)) throw new IdRemovedError();
    if (!this.#members.has(id)) throw new IdNotFoundError();
    this.#checkUrlsFree(peerURLs, id);
  }

  /** Admission through a conf change (call checkAdd first). */
  admit(id: NodeId, peerURLs: readonly string[]): void {
    if (!this.#members.has(id)) this.#members.set(id, { id, name: '', peerURLs: [...peerURLs].sort(), clientURLs: [] });
    this.#version = ++versions;
  }

  remove(id: NodeId): void {
    this.#members.delete(id);
    this.#removed.add(id);
    this.#version = ++versions;
  }

  updatePeerUrls(id: NodeId, peerURLs: readonly string[]): void {
    const m = this.#members.get(id);
    if (m !== undefined) this.#members.set(id, { ...m, peerURLs: [...peerURLs].sort() });
    this.#version = ++versions;
  }

  #checkUrlsFree(peerURLs: readonly string[], except: NodeId | undefined): void {
    const wanted = new Set(peerURLs);
    for (const m of this.#members.values()) {
      if (m.id === except) continue;
      if (m.peerURLs.some((u) => wanted.has(u))) throw new PeerUrlExistsError();
    }
  }
}

export function memberInfo(record: MemberRecord): MemberInfo {
  return { id: record.id, name: record.name, peerURLs: record.peerURLs, clientURLs: record.clientURLs };
}
