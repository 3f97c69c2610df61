import type { Logger } from '../log/logger.js';
import type { NodeId } from '../raft/types.js';
import { CairnError } from '../util/errors.js';
import type { ClusterSpec } from './cluster-spec.js';
import { MemberRegistry, type MemberRecord } from './members.js';
import type { Founding } from './replica-storage.js';
import { ReplicaStateMachine } from './state-machine.js';

export class JoinError extends CairnError {
  constructor(message: string, options?: ErrorOptions) {
    super('CAIRN_CLUSTER_JOIN', message, options);
  }
}

/** The member list and cluster id a running cluster reports (from a peer's GET /members). */
export interface RemoteCluster {
  readonly clusterId: string;
  readonly members: readonly MemberRecord[];
}

/**
 * A founding member of a new cluster: every founder computes the same
 * member ids, cluster id and genesis snapshot (index 1, every founder a
 * voter) from the flags alone.
 */
export function foundNewCluster(spec: ClusterSpec, name: string): Founding {
  const self = spec.members.find((m) => m.name === name);
  if (self === undefined) throw new JoinError(`--initial-cluster has no member named "${name}"`);
  return {
    identity: { memberId: self.id, clusterId: spec.clusterId, name },
    snapshot: { index: 1, term: 1, voters: spec.members.map((m) => m.id).sort(), data: ReplicaStateMachine.genesis(spec.members) },
  };
}

/**
 * A member joining a running cluster (--initial-cluster-state existing),
 * after `member add`: as etcd does, its --initial-cluster must list exactly
 * the cluster's members by peer URL, itself included; its id and the
 * cluster id are the cluster's. It starts with no log and no voters and
 * receives everything, membership included, from the leader.
 */
export function foundJoining(spec: ClusterSpec, name: string, remote: RemoteCluster, logger: Logger): Founding {
  if (remote.members.length !== spec.members.length) {
    throw new JoinError(
      `error validating peerURLs: member count is unequal (--initial-cluster names ${spec.members.length}, the cluster has ${remote.members.length})`,
    );
  }
  const idByUrls = new Map<string, NodeId>();
  for (const m of remote.members) idByUrls.set([...m.peerURLs].sort().join(','), m.id);
  for (const m of spec.members) {
    if (!idByUrls.has(m.peerURLs.join(','))) {
      throw new JoinError(`error validating peerURLs: the cluster has no member with the peer URLs ${m.peerURLs.join(',')} (${m.name})`);
    }
  }
  const self = spec.members.find((m) => m.name === name);
  if (self === undefined) throw new JoinError(`--initial-cluster has no member named "${name}"`);
  const memberId = idByUrls.get(self.peerURLs.join(',')) as NodeId;
  const record = remote.members.find((m) => m.id === memberId);
  if (record !== undefined && record.name !== '' && record.name !== name) {
    logger.warn({ id: memberId, published: record.name, name }, 'joining under the id of a member that published another name');
  }
  logger.info({ id: memberId, cluster: remote.clusterId }, 'joining a running cluster');
  return {
    identity: { memberId, clusterId: remote.clusterId, name, joined: true },
    snapshot: { index: 0, term: 0, voters: [], data: ReplicaStateMachine.joining(MemberRegistry.fromJson(remote.members)) },
  };
}
