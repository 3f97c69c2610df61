import { ClusterSpecError, normalizePeerUrl, parseInitialCluster, type ClusterSpec } from '../replica/cluster-spec.js';
import { asPositiveInt, asString, asUrlList, ConfigError, pickSetting, readConfigFile } from './layers.js';

/** Present when --initial-cluster is given: the node runs as a member of a replicated cluster. */
export interface ClusterSettings {
  readonly spec: ClusterSpec;
  readonly state: 'new' | 'existing';
}

/** --discovery: the founding member list comes from an etcd v2 discovery service. */
export interface DiscoverySettings {
  /** e.g. https://host/v2/keys/_cairn/registry/<token>; also the cluster token, as in etcd. */
  readonly url: string;
  /** What to do when the discovery cluster is full already (etcd's --discovery-fallback). */
  readonly fallback: 'exit' | 'proxy';
}

/** --proxy on|readonly: serve the client API by forwarding to the cluster's members. */
export interface ProxySettings {
  readonly mode: 'off' | 'on' | 'readonly';
  /** The cluster's peer URLs from --initial-cluster (empty with --discovery). */
  readonly peerUrls: readonly string[];
  /** How long a member that failed a request is left out (etcd's --proxy-failure-wait). */
  readonly failureWaitMs: number;
  /** How often the member list is fetched again (etcd's --proxy-refresh-interval). */
  readonly refreshIntervalMs: number;
  /** Connect timeout towards a member (etcd's --proxy-dial-timeout). */
  readonly dialTimeoutMs: number;
  /** Limit for a whole proxied request, 0 for none (etcd's --proxy-read-timeout). */
  readonly readTimeoutMs: number;
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
  /** From --initial-cluster, for a member (not for a proxy). */
  readonly cluster?: ClusterSettings;
  readonly discovery?: DiscoverySettings;
  readonly proxy: ProxySettings;
  /** etcd's --strict-reconfig-check: refuse membership changes that could cost the quorum. */
  readonly strictReconfigCheck: boolean;
}

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
const CLUSTER_STATES = new Set(['new', 'existing']);
const PROXY_MODES = new Set(['off', 'on', 'readonly']);
const FALLBACKS = new Set(['exit', 'proxy']);
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
  const hasInitialCluster = initialCluster !== undefined && initialCluster.trim() !== '';
  const discoveryUrl = asString('discovery', pick('discovery'));
  const discovery = discoveryUrl === undefined || discoveryUrl.trim() === '' ? undefined : discoverySettings(discoveryUrl.trim(), pick('discovery-fallback'));
  if (discovery !== undefined && hasInitialCluster) {
    throw new ConfigError('multiple discovery or bootstrap flags are set: choose one of "initial-cluster" or "discovery"');
  }
  const proxy = proxySettings(pick, hasInitialCluster ? initialCluster : undefined, initialClusterToken);
  if (proxy.mode !== 'off' && !hasInitialCluster && discovery === undefined) {
    throw new ConfigError('proxy needs the cluster to forward to: set initial-cluster (or discovery)');
  }
  if (discovery !== undefined && proxy.mode === 'off') {
    for (const url of [...initialAdvertisePeerUrls, ...listenPeerUrls]) {
      if (new URL(url).protocol === 'https:') throw new ConfigError(`peer URLs: TLS is not supported yet (${url})`);
    }
  }
  const cluster =
    !hasInitialCluster || proxy.mode !== 'off'
      ? undefined
      : clusterSettings(name, initialCluster, initialClusterToken, state as 'new' | 'existing', initialAdvertisePeerUrls, listenPeerUrls);
  const strictReconfigCheck = asBoolean('strict-reconfig-check', pick('strict-reconfig-check')) ?? true;

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
    ...(discovery === undefined ? {} : { discovery }),
    proxy,
    strictReconfigCheck,
  };
}

function discoverySettings(url: string, fallbackValue: unknown): DiscoverySettings {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`discovery: "${url}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`discovery: "${url}" must be http or https`);
  if (parsed.pathname === '/' || parsed.pathname === '') throw new ConfigError(`discovery: "${url}" names no token (a path such as /v2/keys/_cairn/registry/<token>)`);
  const fallback = asString('discovery-fallback', fallbackValue) ?? 'proxy';
  if (!FALLBACKS.has(fallback)) throw new ConfigError('discovery-fallback must be "exit" or "proxy"');
  return { url, fallback: fallback as 'exit' | 'proxy' };
}

function proxySettings(pick: (flag: string) => unknown, initialCluster: string | undefined, token: string): ProxySettings {
  const mode = asString('proxy', pick('proxy')) ?? 'off';
  if (!PROXY_MODES.has(mode)) throw new ConfigError('proxy must be "off", "on" or "readonly"');
  let peerUrls: string[] = [];
  if (mode !== 'off' && initialCluster !== undefined) {
    try {
      // A proxy is no member: it only needs the peer URLs to ask for the member list.
      peerUrls = parseInitialCluster(initialCluster, token).members.flatMap((m) => m.peerURLs).sort();
    } catch (err) {
      if (err instanceof ClusterSpecError) throw new ConfigError(`initial-cluster: ${err.message}`);
      throw err;
    }
  }
  return {
    mode: mode as ProxySettings['mode'],
    peerUrls,
    failureWaitMs: asPositiveInt('proxy-failure-wait', pick('proxy-failure-wait')) ?? 5000,
    refreshIntervalMs: asPositiveInt('proxy-refresh-interval', pick('proxy-refresh-interval')) ?? 30_000,
    dialTimeoutMs: asPositiveInt('proxy-dial-timeout', pick('proxy-dial-timeout')) ?? 1000,
    readTimeoutMs: asNonNegativeInt('proxy-read-timeout', pick('proxy-read-timeout')) ?? 0,
  };
}

function asNonNegativeInt(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(String(value));
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${flag} must be a whole number, got "${String(value)}"`);
  return n;
}

function asBoolean(flag: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  const text = String(value).toLowerCase();
  if (['true', '1', 't', 'yes'].includes(text)) return true;
  if (['false', '0', 'f', 'no'].includes(text)) return false;
  throw new ConfigError(`${flag} must be true or false, got "${String(value)}"`);
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
