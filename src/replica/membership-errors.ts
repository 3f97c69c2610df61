import { CairnError } from '../util/errors.js';

/*
 * Why a membership change was refused. The messages are etcd's
 * (membership.Err* and etcdserver.Err*), since /v2/members shows some of
 * them to clients verbatim.
 */

export class MembershipError extends CairnError {}

/** A member with this id is in the cluster already. */
export class IdExistsError extends MembershipError {
  constructor() {
    super('CAIRN_MEMBER_ID_EXISTS', 'membership: ID exists');
  }
}

/** Another member already has one of these peer URLs. */
export class PeerUrlExistsError extends MembershipError {
  constructor() {
    super('CAIRN_MEMBER_PEER_URL_EXISTS', 'membership: peerURL exists');
  }
}

export class IdNotFoundError extends MembershipError {
  constructor() {
    super('CAIRN_MEMBER_NOT_FOUND', 'membership: ID not found');
  }
}

/** The id belonged to a member that was removed; ids are never reused. */
export class IdRemovedError extends MembershipError {
  constructor() {
    super('CAIRN_MEMBER_REMOVED', 'membership: ID removed');
  }
}

/** The change would leave fewer started members than a quorum (etcd's --strict-reconfig-check). */
export class NotEnoughStartedMembersError extends MembershipError {
  constructor() {
    super('CAIRN_MEMBER_NOT_ENOUGH_STARTED', 'etcdserver: re-configuration failed due to not enough started members');
  }
}

/** The leader cannot reach every member (add) or a quorum would not survive the removal. */
export class UnhealthyReconfigError extends MembershipError {
  constructor() {
    super('CAIRN_MEMBER_UNHEALTHY', 'etcdserver: unhealthy cluster');
  }
}

/** This member applied its own removal, or a peer told it that it was removed. */
export class MemberRemovedError extends CairnError {
  constructor() {
    super('CAIRN_MEMBER_REMOVED_SELF', 'the member has been permanently removed from the cluster');
  }
}
