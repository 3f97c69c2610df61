import type { NodeId } from '../raft/types.js';
import { NotEnoughStartedMembersError, UnhealthyReconfigError } from './membership-errors.js';

/** What etcd's --strict-reconfig-check looks at before it proposes a membership change. */
export interface ReconfigView {
  readonly self: NodeId;
  readonly voters: readonly NodeId[];
  /** Has the member published itself (started at least once)? */
  started(id: NodeId): boolean;
  /**
   * Peers heard from within the last election timeout. Only a leader talks
   * to every member, so followers pass undefined and that half of the
   * check is left to requests that reach the leader.
   */
  readonly alive: ReadonlySet<NodeId> | undefined;
}

const quorum = (n: number): number => Math.floor(n / 2) + 1;

/**
 * Adding a voter must not leave the cluster without a quorum of started
 * members (a 1-member cluster may always add its second), and a leader
 * refuses while it cannot reach every current member.
 */
export function checkAddVoter(view: ReconfigView): void {
  const members = view.voters.length + 1;
  const started = view.voters.filter((id) => view.started(id)).length;
  if (!(started === 1 && members === 2) && started < quorum(members)) throw new NotEnoughStartedMembersError();
  if (view.alive !== undefined && view.voters.some((id) => id !== view.self && !view.alive?.has(id))) {
    throw new UnhealthyReconfigError();
  }
}

/**
 * The members left after a removal must include a quorum of started ones;
 * and unless the member going is down anyway, the leader must still reach
 * a quorum of the rest.
 */
export function checkRemoveVoter(view: ReconfigView, id: NodeId): void {
  const rest = view.voters.filter((v) => v !== id);
  const started = rest.filter((v) => view.started(v)).length;
  if (started < quorum(rest.length)) throw new NotEnoughStartedMembersError();
  const alive = view.alive;
  if (alive === undefined) return;
  if (id !== view.self && !alive.has(id)) return;
  const active = 1 + view.voters.filter((v) => v !== view.self && alive.has(v)).length;
  if (active - 1 < quorum(view.voters.length - 1)) throw new UnhealthyReconfigError();
}
