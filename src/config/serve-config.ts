import { ClusterSpecError, normalizePeerUrl, parseInitialCluster, type ClusterSpec } from '../replica/cluster-spec.js';
import { asPositiveInt, asString, asUrlList, ConfigError, pickSetting, readConfigFile } from './layers.js';

/** Present when --initial-cluster is given: the node runs as a member of a replicated cluster. */
export interface ClusterSettings {
  readonly spec: ClusterSpec;
  readonly state: 'new' | 'existing';
}

export interface ServeConfig {
  readonly name: string;
  readonly dataDir: string;
  readonly listenClientUrls: readonly string[];
  readonly advertiseClientUrls: readonly string[];
  /** This member's peer URLs: how others reach it, and what /v2/members reports. */
  readonly initialAdvertisePeerUrls: readonly string[];
  /** Where to listen for peers (cluster members only). */
  readonly listenPeerUrls: readonly string[];
  readonly initialClusterToken: string;
  readonly snapshotCount: number;
  /** Raft tick and leader heartbeat (etcd's --heartbeat-interval, ms). */
  readonly heartbeatIntervalMs: number;
  /** etcd's --election-timeout, ms. */
  readonly electionTimeoutMs: number;
  readonly logLevel: string;
  readonly cluster?: ClusterSettings;
}

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
const CLUSTER_STATES = new Set(['new', 'existing']);
// etcd's upper bound: longer timeouts stop making sense for a local network.
const MAX_ELECTION_MS = 50_000;

/** Settings for `cairn serve`: flags > CAIRN_* environment > --config-file (YAML) > defaults. */
export function resolveServeConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const configFile = asString('config-file', flags['configFile'] ?? env['CAIRN_CONFIG_FILE']);
  const file = configFile === undefined ? {} : readConfigFile(configFile);
  const pick = (flag: string): unknown => pickSetting(flag, flags, env, file);

  const name = asString('name', pick('name')) ?? 'default';
  const listenClientUrls = asUrlList('listen-client-urls', pick('listen-client-urls')) ?? ['http://127.0.0.1:2379'];
  if (listenClientUrls.length === 0) throw new ConfigError('listen-client-urls must name at least one URL');
  for (const url of listenClientUrls) {
    if (new URL(url).protocol === 'https:') throw new ConfigError(`listen-client-urls: TLS listeners are not supported yet (${url})`);
  }
  const advertiseClientUrls = asUrlList('advertise-client-urls', pick('advertise-client-urls')) ?? listenClientUrls;
  const initialAdvertisePeerUrls = asUrlList('initial-advertise-peer-urls', pick('initial-advertise-peer-urls')) ?? ['http://localhost:2380'];
  const listenPeerUrls = asUrlList('listen-peer-urls', pick('listen-peer-urls')) ?? ['http://localhost:2380'];
  const logLevel = asString('log-level', pick('log-level')) ?? 'info';
  if (!LOG_LEVELS.has(logLevel)) throw new ConfigError(`log-level must be one of ${[...LOG_LEVELS].join(', ')}`);

  const heartbeatIntervalMs = asPositiveInt('heartbeat-interval', pick('heartbeat-interval')) ?? 100;
  const electionTimeoutMs = asPositiveInt('election-timeout', pick('election-timeout')) ?? 1000;
  if (electionTimeoutMs < 5 * heartbeatIntervalMs) {
    throw new ConfigError(
      `election-timeout (${electionTimeoutMs} ms) should be at least 5 times heartbeat-interval (${heartbeatIntervalMs} ms)`,
    );
  }
  if (electionTimeoutMs > MAX_ELECTION_MS) throw new ConfigError(`election-timeout is longer than ${MAX_ELECTION_MS} ms`);

  const initialClusterToken = asString('initial-cluster-token', pick('initial-cluster-token')) ?? 'etcd-cluster';
  const state = asString('initial-cluster-state', pick('initial-cluster-state')) ?? 'new';
  if (!CLUSTER_STATES.has(state)) throw new ConfigError('initial-cluster-state must be "new" or "existing"');
  const initialCluster = asString('initial-cluster', pick('initial-cluster'));
  const cluster =
    initialCluster === undefined || initialCluster.trim() === ''
      ? undefined
      : clusterSettings(name, initialCluster, initialClusterToken, state as 'new' | 'existing', initialAdvertisePeerUrls, listenPeerUrls);

  return {
    name,
    dataDir: asString('data-dir', pick('data-dir')) ?? `${name}.cairn`,
    listenClientUrls,
    advertiseClientUrls,
    initialAdvertisePeerUrls,
    listenPeerUrls,
    initialClusterToken,
    snapshotCount: asPositiveInt('snapshot-count', pick('snapshot-count')) ?? 10_000,
    heartbeatIntervalMs,
    electionTimeoutMs,
    logLevel,
    ...(cluster === undefined ? {} : { cluster }),
  };
}

function clusterSettings(
  name: string,
  initialCluster: string,
  token: string,
  state: 'new' | 'existing',
  advertisePeerUrls: readonly string[],
  listenPeerUrls: readonly string[],
): ClusterSettings {
  let spec: ClusterSpec;
  let advertised: string[];
  try {
    spec = parseInitialCluster(initialCluster, token);
    advertised = advertisePeerUrls.map(normalizePeerUrl).sort();
  } catch (err) {
    if (err instanceof ClusterSpecError) throw new ConfigError(`initial-cluster: ${err.message}`);
    throw err;
  }
  for (const url of listenPeerUrls) {
    if (new URL(url).protocol === 'https:') throw new ConfigError(`listen-peer-urls: TLS listeners are not supported yet (${url})`);
  }
  const self = spec.members.find((m) => m.name === name);
  if (self === undefined) throw new ConfigError(`initial-cluster has no member named "${name}" (set --name)`);
  // As etcd checks: the URLs this member advertises must be the ones the others know it by.
  if (self.peerURLs.join(',') !== advertised.join(',')) {
    throw new ConfigError(
      `initial-cluster gives ${name} the peer URLs ${self.peerURLs.join(',')} but initial-advertise-peer-urls is ${advertised.join(',')}`,
    );
  }
  return { spec, state };
}
