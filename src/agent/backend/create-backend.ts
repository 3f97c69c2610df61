import { readFileSync } from 'node:fs';
import { V2Client } from '../../client/v2-client.js';
import type { AgentConfig } from '../../config/agent-config.js';
import { ConfigError } from '../../config/layers.js';
import { resolveServeConfig } from '../../config/serve-config.js';
import type { Logger } from '../../log/logger.js';
import type { Backend } from './backend.js';

export interface OpenedBackend {
  readonly backend: Backend;
  /** Client URLs of the embedded store, when there is one. */
  readonly storeUrls: readonly string[];
  close(): Promise<void>;
}

function readPem(what: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

function clientTls(config: AgentConfig): { cert?: Buffer; key?: Buffer; ca?: Buffer } {
  const cert = readPem('client certificate', config.clientCert);
  const key = readPem('client key', config.clientKey);
  const ca = readPem('CA certificates', config.clientCaKeys);
  return { ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }), ...(ca === undefined ? {} : { ca }) };
}

function credentials(config: AgentConfig): { username?: string; password?: string } {
  return config.username === undefined ? {} : { username: config.username, password: config.password ?? '' };
}

/** Builds the backend a configuration names; the embedded one starts a store node in this process. */
export async function openBackend(config: AgentConfig, logger: Logger): Promise<OpenedBackend> {
  switch (config.backend) {
    case 'embedded': {
      const [{ startServer }, { EmbeddedBackend }] = await Promise.all([import('../../server/run-server.js'), import('./embedded.js')]);
      const running = await startServer(resolveServeConfig(config.embedded), logger.child({ component: 'store' }));
      return {
        backend: new EmbeddedBackend(() => running.node.store),
        storeUrls: running.urls,
        close: () => running.close(),
      };
    }
    case 'etcd': {
      const { EtcdV2Backend } = await import('./etcd-v2.js');
      const client = new V2Client({
        endpoints: config.nodes,
        tls: clientTls(config),
        ...credentials(config),
        // A one-shot render is over before undici would have loaded; watches need it.
        transport: config.mode.kind === 'onetime' ? 'node-http' : 'undici',
      });
      const backend = new EtcdV2Backend(client);
      return { backend, storeUrls: [], close: () => backend.close() };
    }
    case 'etcdv3': {
      const [{ EtcdV3Client }, { EtcdV3Backend }] = await Promise.all([import('../../client/etcd-v3-client.js'), import('./etcd-v3.js')]);
      const client = new EtcdV3Client({
        endpoints: config.nodes,
        tls: clientTls(config),
        ...credentials(config),
        transport: config.mode.kind === 'onetime' ? 'node-http' : 'undici',
      });
      const backend = new EtcdV3Backend(client);
      return { backend, storeUrls: [], close: () => backend.close() };
    }
    case 'file': {
      const { FileBackend } = await import('./file.js');
      const backend = new FileBackend(config.files, logger.child({ component: 'file-backend' }));
      return { backend, storeUrls: [], close: () => backend.close() };
    }
    case 'env': {
      const { EnvBackend } = await import('./env.js');
      const backend = new EnvBackend();
      return { backend, storeUrls: [], close: () => backend.close() };
    }
  }
}
