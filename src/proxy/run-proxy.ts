import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ProxySettings } from '../config/serve-config.js';
import type { Logger } from '../log/logger.js';
import { writeFileAtomic } from '../storage/fsutil.js';
import { fetchPeerCluster } from '../transport/peer-members.js';
import { errorMessage } from '../util/errors.js';
import { Director } from './director.js';
import { ReverseProxy } from './reverse-proxy.js';
import { closeServers } from '../http/close-servers.js';

/** etcd's proxy keeps the cluster's peer URLs here, so a restart finds the cluster even if it changed. */
export const PROXY_CLUSTER_FILE = join('proxy', 'cluster');
/** With no member to forward to, the list is fetched again this soon (etcd's minimum refresh). */
const EMPTY_REFRESH_MS = 1000;
const FETCH_TIMEOUT_MS = 5000;

export interface ProxyOptions {
  readonly dataDir: string;
  readonly listenClientUrls: readonly string[];
  readonly settings: ProxySettings;
  /** The cluster's peer URLs: from --initial-cluster, or from discovery. */
  readonly peerUrls: readonly string[];
  readonly logger: Logger;
}

export interface RunningProxy {
  readonly urls: readonly string[];
  readonly director: Director;
  /** Fetches the member list now (tests; the timer does it every --proxy-refresh-interval). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

async function readClusterFile(dataDir: string): Promise<string[] | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dataDir, PROXY_CLUSTER_FILE), 'utf8')) as { PeerURLs?: unknown };
    return Array.isArray(parsed.PeerURLs) ? parsed.PeerURLs.filter((u): u is string => typeof u === 'string') : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * `cairn serve --proxy on|readonly`: no Raft, no data but the cluster's
 * peer URLs. It learns the members' client URLs from a peer's GET /members
 * (refreshed every --proxy-refresh-interval, and every second while none
 * is known) and forwards the client API to them.
 */
export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const { logger, settings, dataDir } = options;
  await mkdir(join(dataDir, 'proxy'), { recursive: true });
  const stored = await readClusterFile(dataDir);
  let peerUrls: readonly string[] = stored !== undefined && stored.length > 0 ? stored : options.peerUrls;
  if (stored !== undefined && stored.length > 0) logger.info({ peerUrls, file: join(dataDir, PROXY_CLUSTER_FILE) }, 'proxy: using the peer URLs from the cluster file');
  const director = new Director({ failureWaitMs: settings.failureWaitMs });
  const proxy = new ReverseProxy({
    director,
    logger,
    dialTimeoutMs: settings.dialTimeoutMs,
    readTimeoutMs: settings.readTimeoutMs,
    readonly: settings.mode === 'readonly',
  });

  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const refresh = async (): Promise<void> => {
    try {
      const cluster = await fetchPeerCluster(peerUrls, FETCH_TIMEOUT_MS);
      const clientUrls = cluster.members.flatMap((m) => m.clientURLs);
      director.set(clientUrls);
      const fresh = cluster.members.flatMap((m) => m.peerURLs).sort();
      if (fresh.length > 0 && fresh.join(',') !== [...peerUrls].sort().join(',')) {
        peerUrls = fresh;
        await writeFileAtomic(join(dataDir, PROXY_CLUSTER_FILE), Buffer.from(`${JSON.stringify({ PeerURLs: fresh })}\n`));
      }
      logger.debug({ endpoints: clientUrls }, 'proxy: member list refreshed');
    } catch (err) {
      logger.warn({ peerUrls, err: errorMessage(err) }, 'proxy: cannot fetch the member list; keeping the last one');
    }
  };
  const schedule = (): void => {
    if (closed) return;
    const ms = director.available().length === 0 ? EMPTY_REFRESH_MS : settings.refreshIntervalMs;
    timer = setTimeout(() => void refresh().finally(schedule), ms);
    timer.unref();
  };
  await refresh();
  if (stored === undefined && peerUrls.length > 0) {
    await writeFileAtomic(join(dataDir, PROXY_CLUSTER_FILE), Buffer.from(`${JSON.stringify({ PeerURLs: [...peerUrls].sort() })}\n`));
  }
  schedule();

  const servers: Server[] = [];
  const urls: string[] = [];
  const closeAll = async (): Promise<void> => {
    closed = true;
    if (timer !== undefined) clearTimeout(timer);
    await closeServers(servers, 1_000);
    await proxy.close();
  };
  try {
    for (const listenUrl of options.listenClientUrls) {
      const url = new URL(listenUrl);
      const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
        proxy.handle(req, res).catch((err: unknown) => {
          logger.error({ err }, 'proxy: request failed');
          if (!res.headersSent) res.writeHead(500).end();
          else res.destroy();
        });
      });
      server.requestTimeout = 0;
      server.headersTimeout = 60_000;
      const host = url.hostname.replace(/^\[|\]$/g, '');
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(url.port || 2379), host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      servers.push(server);
      urls.push(`${url.protocol}//${url.hostname}:${(server.address() as AddressInfo).port}`);
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  logger.info({ urls, endpoints: director.all(), mode: settings.mode }, 'proxy serving client requests');

  let closing: Promise<void> | undefined;
  return {
    urls,
    director,
    refresh,
    close() {
      closing ??= closeAll();
      return closing;
    },
  };
}
