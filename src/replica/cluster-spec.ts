import { createHash } from 'node:crypto';
import type { NodeId } from '../raft/types.js';
import { CairnError } from '../util/errors.js';

/** A founding member as --initial-cluster names it. */
export interface InitialMember {
  readonly id: NodeId;
  readonly name: string;
  /** Normalized (scheme://host:port) and sorted. */
  readonly peerURLs: readonly string[];
}

export interface ClusterSpec {
  readonly token: string;
  readonly clusterId: string;
  /** Sorted by id. */
  readonly members: readonly InitialMember[];
}

export class ClusterSpecError extends CairnError {
  constructor(message: string) {
    super('CAIRN_CLUSTER_SPEC', message);
  }
}

/**
 * A peer URL as etcd keeps it: http(s), host and port, nothing else. The
 * text matters, since member ids are hashed from it.
 */
export function normalizePeerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ClusterSpecError(`"${text}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ClusterSpecError(`peer URL "${text}" must be http or https`);
  if (url.port === '') throw new ClusterSpecError(`peer URL "${text}" must name a port`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '') {
    throw new ClusterSpecError(`peer URL "${text}" must not contain a path, query or credentials`);
  }
  return url.origin;
}

function first8Hex(data: Buffer | string): string {
  return createHash('sha1').update(data).digest('hex').slice(0, 16);
}

/**
 * etcd's member id: the first 8 bytes of SHA-1 over the sorted peer URLs
 * and the cluster token. Every founding member computes every other
 * member's id from the flags alone, so nothing has to be exchanged first.
 */
export function memberIdFor(peerURLs: readonly string[], token: string): NodeId {
  const id = first8Hex(`${[...peerURLs].sort().join('')}${token}`);
  // etcd never uses id 0 ("no node"); a hash of zero is astronomically unlikely but must not pass.
  if (/^0+$/.test(id)) throw new ClusterSpecError('peer URLs hash to member id 0; change --initial-cluster-token');
  return id;
}

/**
 * The id of a member added at runtime (POST /v2/members), as etcd derives
 * it: the sorted peer URLs, no cluster name, and the Unix time in seconds.
 * The time makes an id never come back, even for the same URLs.
 */
export function runtimeMemberId(peerURLs: readonly string[], nowMs: number): NodeId {
  return memberIdFor(peerURLs, String(Math.floor(nowMs / 1000)));
}

/** etcd's cluster id: SHA-1 over the sorted member ids as 8-byte big-endian numbers. */
export function clusterIdFor(memberIds: readonly NodeId[]): string {
  return first8Hex(Buffer.from([...memberIds].sort().join(''), 'hex'));
}

/** Parses `name=url,name=url,…` (a name may repeat to give a member several URLs). */
export function parseInitialCluster(text: string, token: string): ClusterSpec {
  const byName = new Map<string, string[]>();
  for (const item of text.split(',')) {
    const pair = item.trim();
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ClusterSpecError(`initial-cluster entry "${pair}" is not name=url`);
    const name = pair.slice(0, eq).trim();
    const url = normalizePeerUrl(pair.slice(eq + 1).trim());
    const urls = byName.get(name) ?? [];
    if (!urls.includes(url)) urls.push(url);
    byName.set(name, urls);
  }
  if (byName.size === 0) throw new ClusterSpecError('initial-cluster names no member');
  const seen = new Map<string, string>();
  const members: InitialMember[] = [];
  for (const [name, urls] of byName) {
    for (const url of urls) {
      const other = seen.get(url);
      if (other !== undefined) throw new ClusterSpecError(`peer URL ${url} is given to both ${other} and ${name}`);
      seen.set(url, name);
    }
    const peerURLs = [...urls].sort();
    members.push({ id: memberIdFor(peerURLs, token), name, peerURLs });
  }
  members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { token, clusterId: clusterIdFor(members.map((m) => m.id)), members };
}
