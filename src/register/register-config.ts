import { readFileSync } from 'node:fs';
import { parseDurationMs } from '../agent/duration.js';
import { asPositiveInt, asString, asUrlList, ConfigError, pickSetting } from '../config/layers.js';
import type { HealthCheckSpec } from './run-registration.js';

/** Backends `--backend` accepts; `etcd` speaks the v2 keys API (Cairn or etcd --enable-v2), `etcdv3` etcd's v3 API with a lease. */
export const REGISTER_BACKENDS = ['etcd', 'etcdv3'] as const;
export type RegisterBackend = (typeof REGISTER_BACKENDS)[number];

export interface RegisterConfig {
  readonly backend: RegisterBackend;
  readonly endpoints: readonly string[];
  readonly key: string;
  readonly value: string;
  readonly ttlSeconds: number;
  readonly check: HealthCheckSpec | undefined;
  readonly tls: { readonly cert?: Buffer; readonly key?: Buffer; readonly ca?: Buffer };
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly logLevel: string;
}

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
const DEFAULT_TTL_SECONDS = 30;

/** Settings for `cairn register`: flags > CAIRN_* environment > defaults. */
export function resolveRegisterConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): RegisterConfig {
  const pick = (flag: string): unknown => pickSetting(flag, flags, env, {});

  const backend = asString('backend', pick('backend')) ?? 'etcd';
  if (!(REGISTER_BACKENDS as readonly string[]).includes(backend)) {
    throw new ConfigError(`backend must be one of ${REGISTER_BACKENDS.join(', ')} (got "${backend}")`);
  }
  const endpoints = asUrlList('endpoints', pick('endpoints')) ?? ['http://127.0.0.1:2379'];
  if (endpoints.length === 0) throw new ConfigError('endpoints must name at least one URL');

  const key = asString('key', pick('key'));
  if (key === undefined || key.replace(/\/+/g, '') === '') throw new ConfigError('--key is required and must name a key below the root, e.g. /services/web/host1');
  const value = asString('value', pick('value'));
  if (value === undefined) throw new ConfigError('--value is required');
  const ttlSeconds = asPositiveInt('ttl', pick('ttl')) ?? DEFAULT_TTL_SECONDS;

  const command = asString('check', pick('check'));
  let check: HealthCheckSpec | undefined;
  if (command !== undefined && command.trim() !== '') {
    // By default a failing service is noticed within a refresh period (long before its key would
    // expire) and within 10 s however long the TTL.
    const intervalMs = asDurationMs('check-interval', pick('check-interval')) ?? Math.min((ttlSeconds * 1000) / 3, 10_000);
    // Killing a slow but healthy check on a loaded host would flap the key: short intervals still get 5 s.
    const timeoutMs = asDurationMs('check-timeout', pick('check-timeout')) ?? Math.max(intervalMs, 5_000);
    check = { command, intervalMs, timeoutMs };
  }

  let username = asString('username', pick('username'));
  let password = asString('password', pick('password'));
  // etcdctl's --username takes "user[:password]".
  if (username !== undefined && password === undefined && username.includes(':')) {
    password = username.slice(username.indexOf(':') + 1);
    username = username.slice(0, username.indexOf(':'));
  }

  const logLevel = asString('log-level', pick('log-level')) ?? 'info';
  if (!LOG_LEVELS.has(logLevel)) throw new ConfigError(`log-level must be one of ${[...LOG_LEVELS].join(', ')}`);

  const certFile = asString('cert-file', pick('cert-file'));
  const keyFile = asString('key-file', pick('key-file'));
  const caFile = asString('ca-file', pick('ca-file'));
  if ((certFile === undefined) !== (keyFile === undefined)) throw new ConfigError('--cert-file and --key-file go together');
  const cert = readPem('cert-file', certFile);
  const tlsKey = readPem('key-file', keyFile);
  const ca = readPem('ca-file', caFile);

  return {
    backend: backend as RegisterBackend,
    endpoints,
    key,
    value,
    ttlSeconds,
    check,
    tls: { ...(cert === undefined ? {} : { cert }), ...(tlsKey === undefined ? {} : { key: tlsKey }), ...(ca === undefined ? {} : { ca }) },
    username,
    password,
    logLevel,
  };
}

/** Seconds ("5", "0.5") or a Go duration ("500ms", "1m"), more than zero. */
function asDurationMs(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'number' || typeof value === 'string' ? parseDurationMs(value) : undefined;
  if (ms === undefined || ms <= 0) throw new ConfigError(`${flag} must be a positive number of seconds or a duration like 500ms, got "${String(value)}"`);
  return ms;
}

function readPem(flag: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`cannot read ${flag} ${path}: ${(err as Error).message}`, { cause: err });
  }
}
