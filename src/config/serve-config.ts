import { asPositiveInt, asString, asUrlList, ConfigError, pickSetting, readConfigFile } from './layers.js';

export interface ServeConfig {
  readonly name: string;
  readonly dataDir: string;
  readonly listenClientUrls: readonly string[];
  readonly advertiseClientUrls: readonly string[];
  /** Reported as the member's peer URLs (etcd's default until peers exist). */
  readonly initialAdvertisePeerUrls: readonly string[];
  readonly snapshotCount: number;
  readonly logLevel: string;
}

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

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
  const logLevel = asString('log-level', pick('log-level')) ?? 'info';
  if (!LOG_LEVELS.has(logLevel)) throw new ConfigError(`log-level must be one of ${[...LOG_LEVELS].join(', ')}`);
  return {
    name,
    dataDir: asString('data-dir', pick('data-dir')) ?? `${name}.cairn`,
    listenClientUrls,
    advertiseClientUrls,
    initialAdvertisePeerUrls,
    snapshotCount: asPositiveInt('snapshot-count', pick('snapshot-count')) ?? 10_000,
    logLevel,
  };
}
