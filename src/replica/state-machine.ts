import type { ConfChange, Entry } from '../raft/types.js';
import { V2Error } from '../v2store/errors.js';
import type { V2Event } from '../v2store/event.js';
import { V2Store } from '../v2store/store.js';
import type { InitialMember } from './cluster-spec.js';
import { decodeConfContext } from './conf-context.js';
import { MembershipError } from './membership-errors.js';
import { MemberRegistry } from './members.js';
import { decodeRequest } from './request.js';
import { decodeImage, encodeImage } from './state-image.js';

/** What applying one normal entry produced, for the member that proposed it. */
export type ApplyResult =
  | { readonly id: string; readonly ok: true; readonly event: V2Event | undefined }
  | { readonly id: string; readonly ok: false; readonly error: V2Error | MembershipError };

/**
 * The replicated state: the v2 keyspace and the member list. Applying the
 * same entries in the same order gives the same state on every member; the
 * wall clock passed to `apply` only renders `ttl` fields in responses.
 */
export class ReplicaStateMachine {
  store: V2Store;
  members: MemberRegistry;

  private constructor(store: V2Store, members: MemberRegistry) {
    this.store = store;
    this.members = members;
  }

  /** The snapshot data every founding member starts from. */
  static genesis(members: readonly InitialMember[]): Uint8Array {
    return encodeImage({ members: MemberRegistry.fromInitial(members).toJson(), store: new V2Store().save() });
  }

  static fromImage(data: Uint8Array): ReplicaStateMachine {
    const image = decodeImage(data);
    return new ReplicaStateMachine(V2Store.restore(image.store), MemberRegistry.fromJson(image.members, image.removed));
  }

  /** The image a joining member starts from: the member list it was told, no keys; the leader's snapshot replaces it. */
  static joining(members: MemberRegistry): Uint8Array {
    return encodeImage({ members: members.toJson(), removed: members.removedIds(), store: new V2Store().save() });
  }

  image(): Uint8Array {
    return encodeImage({ members: this.members.toJson(), removed: this.members.removedIds(), store: this.store.save() });
  }

  /** Replaces everything with a leader's snapshot. Watchers of the old keyspace are ended so their clients re-watch. */
  restore(data: Uint8Array): void {
    const next = ReplicaStateMachine.fromImage(data);
    const old = this.store;
    this.store = next.store;
    this.members = next.members;
    old.endWatchers();
  }

  /** Applies a normal entry; undefined for a leader's empty entry. Throws only for entries no member could apply. */
  apply(entry: Entry, now: number): ApplyResult | undefined {
    if (entry.data.byteLength === 0) return undefined;
    const request = decodeRequest(entry.index, entry.data);
    if ('publish' in request) {
      this.members.publish(request.publish);
      return { id: request.id, ok: true, event: undefined };
    }
    if ('update' in request) {
      const { id, peerURLs } = request.update;
      try {
        this.members.checkUpdate(id, peerURLs);
      } catch (err) {
        if (err instanceof MembershipError) return { id: request.id, ok: false, error: err };
        throw err;
      }
      this.members.updatePeerUrls(id, peerURLs);
      return { id: request.id, ok: true, event: undefined };
    }
    try {
      return { id: request.id, ok: true, event: this.store.apply(request.command, now) };
    } catch (err) {
      // A failed compare or a missing key fails identically on every member.
      if (err instanceof V2Error) return { id: request.id, ok: false, error: err };
      throw err;
    }
  }

  /**
   * Checks a committed conf change against the member list, as etcd does at
   * apply time. A refused change is a no-op on every member alike (the same
   * list gives the same verdict); the proposer's client gets the error.
   */
  checkConfChange(change: ConfChange): ApplyResult | undefined {
    const { requestId, peerURLs } = decodeConfContext(change);
    try {
      if (change.type === 'add') this.members.checkAdd(change.id, peerURLs);
      else this.members.checkRemove(change.id);
    } catch (err) {
      if (err instanceof MembershipError) return { id: requestId, ok: false, error: err };
      throw err;
    }
    return undefined;
  }

  /** Applies a conf change that passed checkConfChange; the result answers the proposer. */
  applyConfChange(change: ConfChange): ApplyResult {
    const { requestId, peerURLs } = decodeConfContext(change);
    if (change.type === 'add') this.members.admit(change.id, peerURLs);
    else this.members.remove(change.id);
    return { id: requestId, ok: true, event: undefined };
  }
}
