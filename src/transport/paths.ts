/** The peer API: batches of Raft messages, and snapshots on their own requests. */
export const MESSAGES_PATH = '/raft/messages';
export const SNAPSHOT_PATH = '/raft/snapshot';
/** A message from another cluster (another --initial-cluster-token, say) is refused, never stepped. */
export const CLUSTER_HEADER = 'x-cairn-cluster-id';
export const FROM_HEADER = 'x-cairn-from';
/** GET: the member list, as etcd's peer listeners serve it (joining members and proxies read it). */
export const MEMBERS_PATH = '/members';
export const ETCD_CLUSTER_HEADER = 'x-etcd-cluster-id';
