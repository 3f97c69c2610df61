import { Agent, request } from 'undici';
import type { NodeId } from '../raft/types.js';
import { CairnError, errorMessage } from '../util/errors.js';
import { ETCD_CLUSTER_HEADER, MEMBERS_PATH } from './paths.js';
import type { PeerMemberJson } from './transport.js';

/*
 * The peer listeners' GET /members, in etcd's exact shape: a JSON array of
 * {"id":<uint64 as a JSON number>,"peerURLs":[…],"name":…,"clientURLs":[…]}
 * (name and clientURLs left out while empty) and the cluster id in
 * X-Etcd-Cluster-Id. A member joining a cluster and a proxy read it, from
 * Cairn or from etcd alike.
 */

export class PeerMembersError extends CairnError {
  constructor(message: string, options?: ErrorOptions) {
    super('CAIRN_PEER_MEMBERS', message, options);
  }
}

export interface PeerCluster {
  /** 16 hex digits. */
  readonly clusterId: string;
  readonly members: readonly PeerMemberJson[];
  /** The peer URL that answered. */
  readonly from: string;
}

function pad(id: string): NodeId {
  return id.toLowerCase().padStart(16, '0');
}

export function encodePeerMembers(members: readonly PeerMemberJson[]): string {
  const items = members.map((m) => {
    // A uint64 does not survive JSON.stringify as a number; write its digits.
    let text = `{"id":${BigInt(`0x${m.id}`).toString()},"peerURLs":${JSON.stringify(m.peerURLs)}`;
    if (m.name !== '') text += `,"name":${JSON.stringify(m.name)}`;
    if (m.clientURLs.length > 0) text += `,"clientURLs":${JSON.stringify(m.clientURLs)}`;
    return `${text}}`;
  });
  return `[${items.join(',')}]`;
}

/** Parses a /members body; ids come as JSON numbers (etcd) or hex strings. */
export function decodePeerMembers(text: string): PeerMemberJson[] {
  // Quote numeric ids before JSON.parse rounds them to a double.
  const quoted = text.replace(/"id"\s*:\s*(\d+)/g, (_, digits: string) => `"id":"${BigInt(digits).toString(16)}"`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(quoted);
  } catch (err) {
    throw new PeerMembersError(`member list is not JSON: ${errorMessage(err)}`);
  }
  if (!Array.isArray(parsed)) throw new PeerMembersError('member list is not a JSON array');
  return parsed.map((item: unknown) => {
    const m = item as { id?: unknown; name?: unknown; peerURLs?: unknown; clientURLs?: unknown };
    if (typeof m.id !== 'string' || !/^[0-9a-fA-F]{1,16}$/.test(m.id)) throw new PeerMembersError('a member has no id');
    const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    return { id: pad(m.id), name: typeof m.name === 'string' ? m.name : '', peerURLs: strings(m.peerURLs), clientURLs: strings(m.clientURLs) };
  });
}

/**
 * Asks the given peer URLs, one after the other, for the cluster's member
 * list (etcd's GetClusterFromRemotePeers). Throws when none answers.
 */
export async function fetchPeerCluster(peerUrls: readonly string[], timeoutMs: number): Promise<PeerCluster> {
  const failures: string[] = [];
  const dispatcher = new Agent({ connect: { timeout: timeoutMs }, keepAliveTimeout: 1_000 });
  try {
    for (const base of peerUrls) {
      const url = `${base.replace(/\/+$/, '')}${MEMBERS_PATH}`;
      try {
        const res = await request(url, { dispatcher, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
        const text = await res.body.text();
        if (res.statusCode !== 200) throw new PeerMembersError(`HTTP ${res.statusCode}`);
        const header = res.headers[ETCD_CLUSTER_HEADER];
        const clusterId = Array.isArray(header) ? header[0] : header;
        if (clusterId === undefined || !/^[0-9a-fA-F]{1,16}$/.test(clusterId)) throw new PeerMembersError('no X-Etcd-Cluster-Id header');
        return { clusterId: pad(clusterId), members: decodePeerMembers(text), from: base };
      } catch (err) {
        failures.push(`${url}: ${errorMessage(err)}`);
      }
    }
  } finally {
    await dispatcher.close().catch(() => undefined);
  }
  throw new PeerMembersError(
    `could not retrieve cluster information from the given URLs${failures.length === 0 ? '' : ` (${failures.join('; ')})`}`,
  );
}
