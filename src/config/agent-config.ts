import { parse as parseToml } from 'smol-toml';
import { parseDurationMs } from '../agent/duration.js';
import { parseWait, type WaitSpec } from '../agent/quiescence.js';
import { asString, asUrlList, ConfigError, pickSetting, readConfigFile } from './layers.js';

export const BACKENDS = ['embedded', 'etcd', 'etcdv3', 'file', 'env'] as const;
export type BackendKind = (typeof BACKENDS)[number];

export type AgentMode =
  | { readonly kind: 'onetime' }
  | { readonly kind: 'interval'; readonly intervalMs: number }
  | { readonly kind: 'watch'; readonly reconcileMs: number | undefined };

export interface AgentConfig {
  readonly confdir: string;
  readonly backend: BackendKind;
  /** etcd endpoints (--node / --endpoints). */
  readonly nodes: readonly string[];
  readonly prefix: string;
  readonly mode: AgentMode;
  readonly wait: WaitSpec | undefined;
  readonly noop: boolean;
  readonly syncOnly: boolean;
  readonly keepStageFile: boolean;
  readonly logLevel: string;
  /** Data files for the file backend. */
  readonly files: readonly string[];
  readonly clientCert: string | undefined;
  readonly clientKey: string | undefined;
  readonly clientCaKeys: string | undefined;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** Settings of the embedded store, passed to the serve configuration. */
  readonly embedded: Readonly<Record<string, unknown>>;
}

/** Settings the agent hands to its embedded store, named as `cairn serve` names them (cluster flags included). */
export const EMBEDDED_STORE_FLAGS = [
  'name', 'data-dir', 'listen-client-urls', 'advertise-client-urls', 'snapshot-count',
  'listen-peer-urls', 'initial-advertise-peer-urls', 'initial-cluster', 'initial-cluster-token',
  'initial-cluster-state', 'heartbeat-interval', 'election-timeout',
] as const;

/** confd's default polling period when neither --watch nor --onetime is given. */
export const DEFAULT_INTERVAL_SECONDS = 600;
const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

/**
 * confd.toml spells some settings with underscores (client_cert, client_cakeys)
 * and lists nodes as `nodes`; fold them onto our flag names.
 */
function normaliseFileKeys(file: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(file)) {
    let name = key.replace(/_/g, '-');
    if (name === 'nodes' || name === 'endpoints') name = 'node';
    if (name === 'client-cakeys') name = 'client-ca-keys';
    if (name === 'files') name = 'file';
    out[name] = value;
  }
  return out;
}

function asBoolean(flag: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  const text = String(value).toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(text)) return false;
  throw new ConfigError(`${flag} must be true or false, got "${String(value)}"`);
}

function asList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
  return items.map((s) => s.trim()).filter((s) => s !== '');
}

function asSeconds(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDurationMs(typeof value === 'number' ? value : String(value));
  if (ms === undefined || ms <= 0) throw new ConfigError(`${flag} must be a positive number of seconds or a duration like 30s, got "${String(value)}"`);
  return ms;
}

/**
 * Settings for `cairn agent`, named as confd names them: flags > CAIRN_*
 * environment > --config-file (TOML, confd.toml's keys) > defaults.
 */
export function resolveAgentConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const configFile = asString('config-file', flags['configFile'] ?? env['CAIRN_CONFIG_FILE']);
  const file = configFile === undefined ? {} : normaliseFileKeys(readConfigFile(configFile, parseToml));
  const pick = (flag: string): unknown => pickSetting(flag, flags, env, file);

  const backend = asString('backend', pick('backend')) ?? 'embedded';
  const backendKind = backend === 'etcdv2' ? 'etcd' : backend;
  if (!(BACKENDS as readonly string[]).includes(backendKind)) {
    throw new ConfigError(`backend must be one of ${BACKENDS.join(', ')}, got "${backend}"`);
  }
  const nodes = asUrlList('node', flags['node'] ?? flags['endpoints'] ?? pick('node')) ?? [];
  if ((backendKind === 'etcd' || backendKind === 'etcdv3') && nodes.length === 0) nodes.push('http://127.0.0.1:2379');
  const files = asList(pick('file')) ?? [];
  if (backendKind === 'file' && files.length === 0) throw new ConfigError('the file backend needs at least one --file');

  const onetime = asBoolean('onetime', pick('onetime')) ?? false;
  const watch = asBoolean('watch', pick('watch')) ?? false;
  const intervalMs = asSeconds('interval', pick('interval'));
  if (onetime && watch) throw new ConfigError('--onetime and --watch cannot be used together');
  const mode: AgentMode = onetime
    ? { kind: 'onetime' }
    : watch
      ? { kind: 'watch', reconcileMs: intervalMs }
      : { kind: 'interval', intervalMs: intervalMs ?? DEFAULT_INTERVAL_SECONDS * 1000 };

  const waitText = asString('wait', pick('wait'));
  const wait = waitText === undefined ? undefined : parseWait(waitText);
  if (waitText !== undefined && wait === undefined) throw new ConfigError(`wait must be MIN or MIN:MAX durations with MIN <= MAX (like 2s:10s), got "${waitText}"`);

  const logLevel = asString('log-level', pick('log-level')) ?? 'info';
  if (!LOG_LEVELS.has(logLevel)) throw new ConfigError(`log-level must be one of ${[...LOG_LEVELS].join(', ')}`);

  const embedded: Record<string, unknown> = {};
  for (const flag of EMBEDDED_STORE_FLAGS) {
    const value = pick(flag);
    if (value !== undefined) embedded[flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = value;
  }
  embedded['logLevel'] = logLevel;

  return {
    confdir: asString('confdir', pick('confdir')) ?? '/etc/cairn',
    backend: backendKind as BackendKind,
    nodes,
    prefix: asString('prefix', pick('prefix')) ?? '',
    mode,
    wait,
    noop: asBoolean('noop', pick('noop')) ?? false,
    syncOnly: asBoolean('sync-only', pick('sync-only')) ?? false,
    keepStageFile: asBoolean('keep-stage-file', pick('keep-stage-file')) ?? false,
    logLevel,
    files,
    clientCert: asString('client-cert', pick('client-cert')),
    clientKey: asString('client-key', pick('client-key')),
    clientCaKeys: asString('client-ca-keys', pick('client-ca-keys')),
    username: asString('username', pick('username')),
    password: asString('password', pick('password')),
    embedded,
  };
}
