import { access } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ServeConfig } from '../config/serve-config.js';
import type { ClusterView } from '../http/cluster-view.js';
import { createClientServer } from '../http/server.js';
import type { Logger } from '../log/logger.js';
import { CLUSTER_MARKER_FILE } from '../replica/replica-storage.js';
import { Replica } from '../replica/replica.js';
import { CairnError } from '../util/errors.js';
import { loadOrCreateIdentity } from './identity.js';
import type { KeyService, MemberInfo } from './key-service.js';
import { SingleNode } from './single-node.js';

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

async function startReplica(config: ServeConfig, logger: Logger): Promise<StartedNode> {
  const cluster = config.cluster as NonNullable<ServeConfig['cluster']>;
  const replica = await Replica.open({
    dataDir: config.dataDir,
    logger,
    name: config.name,
    spec: cluster.spec,
    initialClusterState: cluster.state,
    listenPeerUrls: config.listenPeerUrls,
    clientUrls: config.advertiseClientUrls,
    snapshotCount: config.snapshotCount,
    heartbeatMs: config.heartbeatIntervalMs,
    electionMs: config.electionTimeoutMs,
  });
  const member = { id: replica.memberId, name: config.name, peerURLs: config.initialAdvertisePeerUrls, clientURLs: config.advertiseClientUrls };
  return { node: replica, member, clusterId: replica.clusterId, cluster: replica };
}

/** Starts a store node (alone, or as a cluster member when --initial-cluster is set) and its client listeners. */
export async function startServer(config: ServeConfig, logger: Logger): Promise<RunningServer> {
  const started = config.cluster === undefined ? await startSingle(config, logger) : await startReplica(config, logger);
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
        await Promise.all(
          servers.map(
            (server) =>
              new Promise<void>((resolve) => {
                server.close(() => resolve());
                // Idle keep-alive sockets and parked long polls would hold close() open forever.
                server.closeIdleConnections();
                setTimeout(() => server.closeAllConnections(), 2_000).unref();
              }),
          ),
        );
        await node.close();
      })();
      return closing;
    },
  };
}
