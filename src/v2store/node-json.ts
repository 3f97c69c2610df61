/**
 * A node as the v2 API shows it. Property order is etcd's (Go struct order),
 * and absent fields are left out the way Go's `omitempty` leaves them out, so
 * JSON.stringify of these objects matches etcd's bodies byte for byte.
 */
export interface NodeJson {
  key?: string;
  value?: string;
  dir?: true;
  expiration?: string;
  ttl?: number;
  nodes?: NodeJson[];
  modifiedIndex?: number;
  createdIndex?: number;
}

export function compareNodeKeys(a: NodeJson, b: NodeJson): number {
  const ka = a.key ?? '';
  const kb = b.key ?? '';
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
