import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServeConfig } from '../config/serve-config.js';
import { createClientServer } from '../http/server.js';
import type { Logger } from '../log/logger.js';
import { loadOrCreateIdentity } from './identity.js';
import { SingleNode } from './single-node.js';

export interface RunningServer {
  readonly node: SingleNode;
  readonly servers: readonly Server[];
  readonly urls: readonly string[];
  /** Stops listening, lets in-flight requests finish, flushes and closes the WAL. */
  close(): Promise<void>;
}

/** Starts a store node and its client listeners. */
export async function startServer(config: ServeConfig, logger: Logger): Promise<RunningServer> {
  const node = await SingleNode.open({ dataDir: config.dataDir, logger, snapshotCount: config.snapshotCount });
  const identity = await loadOrCreateIdentity(config.dataDir, config.name);
  const member = { id: identity.memberId, name: config.name, peerURLs: config.initialAdvertisePeerUrls, clientURLs: config.advertiseClientUrls };
  const servers: Server[] = [];
  const urls: string[] = [];
  try {
    for (const listenUrl of config.listenClientUrls) {
      const url = new URL(listenUrl);
      const server = createClientServer({ service: node, member, clusterId: identity.clusterId, logger });
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
  logger.info({ name: config.name, id: identity.memberId, urls, dataDir: config.dataDir }, 'serving client requests');

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
