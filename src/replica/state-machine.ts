import type { ConfChange, Entry } from '../raft/types.js';
import { V2Error } from '../v2store/errors.js';
import type { V2Event } from '../v2store/event.js';
import { V2Store } from '../v2store/store.js';
import type { InitialMember } from './cluster-spec.js';
import { MemberRegistry } from './members.js';
import { decodeRequest } from './request.js';
import { decodeImage, encodeImage } from './state-image.js';

/** What applying one normal entry produced, for the member that proposed it. */
export type ApplyResult =
  | { readonly id: string; readonly ok: true; readonly event: V2Event | undefined }
  | { readonly id: string; readonly ok: false; readonly error: V2Error };

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
    return new ReplicaStateMachine(V2Store.restore(image.store), MemberRegistry.fromJson(image.members));
  }

  image(): Uint8Array {
    return encodeImage({ members: this.members.toJson(), store: this.store.save() });
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
    try {
      return { id: request.id, ok: true, event: this.store.apply(request.command, now) };
    } catch (err) {
      // A failed compare or a missing key fails identically on every member.
      if (err instanceof V2Error) return { id: request.id, ok: false, error: err };
      throw err;
    }
  }

  applyConfChange(change: ConfChange): void {
    if (change.type === 'add') this.members.admit(change.id);
    else this.members.remove(change.id);
  }
}
