import { V2ApiError, V2Client, type V2Node } from '../../src/client/v2-client.js';
import type { FaultMember } from './cluster-fault-cluster.js';
import { waitFor } from './wait.js';

/** A member's whole keyspace as it answers a plain (local) GET: what it has applied, not what the leader has. */
export interface KeyspaceImage {
  readonly member: string;
  readonly etcdIndex: number;
  /** Canonical JSON of the recursive, sorted root listing: keys, values, createdIndex and modifiedIndex. */
  readonly tree: string;
}

function canonical(node: V2Node): unknown {
  return {
    key: node.key,
    value: node.value,
    dir: node.dir,
    createdIndex: node.createdIndex,
    modifiedIndex: node.modifiedIndex,
    expiration: node.expiration,
    nodes: node.nodes?.map(canonical),
  };
}

export async function keyspaceImage(member: FaultMember): Promise<KeyspaceImage> {
  const client = new V2Client({ endpoints: [member.clientUrl], requestTimeoutMs: 5_000 });
  try {
    const res = await client.get('/', { recursive: true, sorted: true });
    return { member: member.name, etcdIndex: res.etcdIndex, tree: JSON.stringify(canonical(res.node)) };
  } finally {
    await client.close();
  }
}

/**
 * Polls until every given member answers with the same store index and the same keyspace, down to each
 * node's created and modified index; resolves with that image.
 */
export async function waitForConvergence(members: readonly FaultMember[], timeoutMs = 60_000): Promise<KeyspaceImage> {
  let last: KeyspaceImage[] = [];
  try {
    return await waitFor(
      async () => {
        last = await Promise.all(members.map((m) => keyspaceImage(m)));
        const [first, ...rest] = last;
        if (first === undefined) return undefined;
        return rest.every((img) => img.etcdIndex === first.etcdIndex && img.tree === first.tree) ? first : undefined;
      },
      { what: `${members.map((m) => m.name).join(', ')} to hold the same keyspace`, timeoutMs, intervalMs: 200 },
    );
  } catch (err) {
    const detail = last.map((img) => `${img.member}: index ${img.etcdIndex}, ${img.tree.length} bytes`).join('; ');
    throw new Error(`${String(err)}\n${detail}`);
  }
}

/** How a request ended, for tests that expect it not to succeed. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export function settle<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

export function describeError(err: unknown): string {
  if (err instanceof V2ApiError) return `etcd error ${err.errorCode} (HTTP ${err.status}): ${err.reason}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
