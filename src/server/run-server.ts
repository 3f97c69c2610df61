import { access, readdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ServeConfig } from '../config/serve-config.js';
import { joinDiscovery, readDiscoveredCluster } from '../discovery/discovery.js';
import { FullClusterError } from '../discovery/errors.js';
import { etcdIdString } from '../http/member-request.js';
import type { ClusterView } from '../http/cluster-view.js';
import { createClientServer } from '../http/server.js';
import type { Logger } from '../log/logger.js';
import { memberIdFor, normalizePeerUrl, parseInitialCluster, type ClusterSpec } from '../replica/cluster-spec.js';
import { foundJoining, foundNewCluster, JoinError } from '../replica/founding.js';
import { CLUSTER_MARKER_FILE, type Founding } from '../replica/replica-storage.js';
import { Replica } from '../replica/replica.js';
import { startProxy } from '../proxy/run-proxy.js';
import { fetchPeerCluster } from '../transport/peer-members.js';
import { errorMessage } from '../util/errors.js';
import { CairnError } from '../util/errors.js';
import { loadOrCreateIdentity } from './identity.js';
import type { KeyService, MemberInfo } from './key-service.js';
import { SingleNode } from './single-node.js';
import { closeServers } from '../http/close-servers.js';

/** A store node as the CLI drives it: single or a cluster member. */
export interface ServingNode extends KeyService {
  onFatal: (err: Error) => void;
  close(): Promise<void>;
}

export interface RunningServer {
  readonly node: ServingNode;
  readonly servers: readonly Server[];
  readonly urls: readonly string[];
  /** Stops listening, lets in-flight requests finish, flushes and closes the WAL. */
  close(): Promise<void>;
}

interface StartedNode {
  readonly node: ServingNode;
  readonly member: MemberInfo;
  readonly clusterId: string;
  readonly cluster?: ClusterView;
}

async function startSingle(config: ServeConfig, logger: Logger): Promise<StartedNode> {
  try {
    await access(join(config.dataDir, 'member', CLUSTER_MARKER_FILE));
    throw new CairnError(
      'CAIRN_DATA_DIR_CLUSTER',
      `${config.dataDir} belongs to a cluster member; start it with its cluster flags (--initial-cluster, --listen-peer-urls, …)`,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const node = await SingleNode.open({ dataDir: config.dataDir, logger, snapshotCount: config.snapshotCount });
  const identity = await loadOrCreateIdentity(config.dataDir, config.name);
  const member = { id: identity.memberId, name: config.name, peerURLs: config.initialAdvertisePeerUrls, clientURLs: config.advertiseClientUrls };
  return { node, member, clusterId: identity.clusterId };
}

/** How long a joining member waits for the cluster's member list. */
const JOIN_FETCH_TIMEOUT_MS = 5_000;

/** What an empty data dir becomes: the founding member list of a new cluster, or the running cluster's. */
function founder(config: ServeConfig, logger: Logger, discovered: () => Promise<ClusterSpec>): () => Promise<Founding> {
  return async () => {
    const cluster = config.cluster;
    if (cluster === undefined) return foundNewCluster(await discovered(), config.name);
    if (cluster.state === 'new') return foundNewCluster(cluster.spec, config.name);
    // As etcd: ask the other members named in --initial-cluster for the cluster as it is now.
    const others = cluster.spec.members.filter((m) => m.name !== config.name).flatMap((m) => m.peerURLs);
    let remote;
    try {
      remote = await fetchPeerCluster(others, JOIN_FETCH_TIMEOUT_MS);
    } catch (err) {
      throw new JoinError(`cannot fetch cluster info from peer urls: ${errorMessage(err)}`, { cause: err });
    }
    return foundJoining(cluster.spec, config.name, { clusterId: remote.clusterId, members: remote.members }, logger);
  };
}

/** etcd's discovery: this member's id is hashed with the discovery URL as the cluster token. */
async function discover(config: ServeConfig, logger: Logger): Promise<ClusterSpec> {
  const discovery = config.discovery as NonNullable<ServeConfig['discovery']>;
  const token = discovery.url;
  let urls: string[];
  try {
    urls = config.initialAdvertisePeerUrls.map(normalizePeerUrl).sort();
  } catch (err) {
    throw new JoinError(`initial-advertise-peer-urls: ${errorMessage(err)}`);
  }
  const id = memberIdFor(urls, token);
  const value = urls.map((u) => `${config.name}=${u}`).join(',');
  const initialCluster = await joinDiscovery({ url: discovery.url, logger }, { id: etcdIdString(id), value });
  logger.info({ initialCluster }, 'discovered the founding members');
  return parseInitialCluster(initialCluster, token);
}

async function startReplica(config: ServeConfig, logger: Logger, discovered: ClusterSpec | undefined): Promise<StartedNode> {
  let spec = discovered;
  const replica = await Replica.open({
    dataDir: config.dataDir,
    logger,
    name: config.name,
    found: founder(config, logger, async () => (spec ??= await discover(config, logger))),
    ...(config.cluster === undefined ? {} : { flagsMemberId: config.cluster.spec.members.find((m) => m.name === config.name)?.id ?? '' }),
    listenPeerUrls: config.listenPeerUrls,
    clientUrls: config.advertiseClientUrls,
    snapshotCount: config.snapshotCount,
    heartbeatMs: config.heartbeatIntervalMs,
    electionMs: config.electionTimeoutMs,
    strictReconfigCheck: config.strictReconfigCheck,
  });
  const member = { id: replica.memberId, name: config.name, peerURLs: config.initialAdvertisePeerUrls, clientURLs: config.advertiseClientUrls };
  return { node: replica, member, clusterId: replica.clusterId, cluster: replica };
}

/** Starts a store node (alone, or as a cluster member when --initial-cluster is set) and its client listeners. */
export async function startServer(config: ServeConfig, logger: Logger, discovered?: ClusterSpec): Promise<RunningServer> {
  const started =
    config.cluster === undefined && config.discovery === undefined ? await startSingle(config, logger) : await startReplica(config, logger, discovered);
  const { node, member, clusterId } = started;
  const servers: Server[] = [];
  const urls: string[] = [];
  try {
    for (const listenUrl of config.listenClientUrls) {
      const url = new URL(listenUrl);
      const server = createClientServer({
        service: node,
        member,
        clusterId,
        logger,
        ...(started.cluster === undefined ? {} : { cluster: started.cluster }),
      });
      const host = url.hostname.replace(/^\[|\]$/g, '');
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(url.port || 2379), host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      urls.push(`${url.protocol}//${url.hostname}:${address.port}`);
      servers.push(server);
    }
  } catch (err) {
    for (const server of servers) server.close();
    await node.close();
    throw err;
  }
  logger.info({ name: config.name, id: member.id, urls, dataDir: config.dataDir }, 'serving client requests');

  let closing: Promise<void> | undefined;
  return {
    node,
    servers,
    urls,
    close() {
      closing ??= (async () => {
        await closeServers(servers, 2_000);
        await node.close();
      })();
      return closing;
    },
  };
}

/** What `cairn serve` runs: a single node, a cluster member, or a proxy. */
export interface ServingProcess {
  readonly kind: 'store' | 'proxy';
  readonly urls: readonly string[];
  /** Called once if the node cannot go on: a fatal error, or this member's removal from the cluster. */
  onFatal(handler: (err: Error) => void): void;
  close(): Promise<void>;
}

/** What a data dir already holds; as in etcd, it decides over the flags. */
async function dataDirKind(dataDir: string): Promise<'empty' | 'member' | 'proxy'> {
  const entries = async (dir: string): Promise<string[] | undefined> => {
    try {
      return await readdir(join(dataDir, dir));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };
  if (((await entries(join('member', 'wal'))) ?? []).length > 0) return 'member';
  if ((await entries('proxy')) !== undefined) return 'proxy';
  return 'empty';
}

async function proxyPeerUrls(config: ServeConfig, logger: Logger): Promise<string[]> {
  if (config.proxy.peerUrls.length > 0 || config.discovery === undefined) return [...config.proxy.peerUrls];
  const initialCluster = await readDiscoveredCluster({ url: config.discovery.url, logger });
  return parseInitialCluster(initialCluster, config.discovery.url).members.flatMap((m) => m.peerURLs);
}

async function serveProxy(config: ServeConfig, logger: Logger): Promise<ServingProcess> {
  const settings = config.proxy.mode === 'off' ? { ...config.proxy, mode: 'on' as const } : config.proxy;
  const proxy = await startProxy({
    dataDir: config.dataDir,
    listenClientUrls: config.listenClientUrls,
    settings,
    peerUrls: await proxyPeerUrls(config, logger),
    logger: logger.child({ component: 'proxy' }),
  });
  return { kind: 'proxy', urls: proxy.urls, onFatal: () => undefined, close: () => proxy.close() };
}

/**
 * `cairn serve`: a proxy when asked for (or when the data dir was a
 * proxy's), otherwise a store node. With --discovery and an empty data dir
 * the founding members come from the discovery service first; if the
 * cluster is complete without this member, etcd's --discovery-fallback
 * decides between exiting and proxying.
 */
export async function startServing(config: ServeConfig, logger: Logger): Promise<ServingProcess> {
  const kind = await dataDirKind(config.dataDir);
  if (kind === 'proxy' || (kind === 'empty' && config.proxy.mode !== 'off')) return serveProxy(config, logger);
  let discovered: ClusterSpec | undefined;
  if (config.discovery !== undefined && kind === 'empty') {
    try {
      discovered = await discover(config, logger);
    } catch (err) {
      if (!(err instanceof FullClusterError) || config.discovery.fallback !== 'proxy') throw err;
      logger.warn({ err: err.message }, 'discovery cluster is full, falling back to proxy');
      return serveProxy(config, logger);
    }
  }
  const running = await startServer(config, logger, discovered);
  return {
    kind: 'store',
    urls: running.urls,
    onFatal(handler) {
      running.node.onFatal = handler;
    },
    close: () => running.close(),
  };
}
