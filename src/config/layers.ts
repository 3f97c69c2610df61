import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { CairnError } from '../util/errors.js';

export class ConfigError extends CairnError {
  constructor(message: string, options?: ErrorOptions) {
    super('CAIRN_CONFIG', message, options);
  }
}

/** A setting named as its flag ("data-dir"); its variable is CAIRN_DATA_DIR. */
export function envName(flag: string): string {
  return `CAIRN_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** Reads a YAML (or JSON) config file into flag-named keys. */
export function readConfigFile(path: string, parse: (text: string) => unknown = parseYaml): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid: ${(err as Error).message}`, { cause: err });
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`config file ${path} must hold a mapping of settings`);
  return data as Record<string, unknown>;
}

/**
 * Resolves one setting through the layers, strongest first: the flag, the
 * CAIRN_* variable, the config file, the default.
 */
export function pickSetting(
  flag: string,
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  file: Record<string, unknown>,
): unknown {
  const camel = flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  if (flags[camel] !== undefined) return flags[camel];
  const fromEnv = env[envName(flag)];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (file[flag] !== undefined) return file[flag];
  if (file[camel] !== undefined) return file[camel];
  return undefined;
}

export function asString(flag: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new ConfigError(`${flag} must be a string`);
}

/** URL lists are comma-separated in flags and variables, strings or lists in files. */
export function asUrlList(flag: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
  const urls = items.map((s) => s.trim()).filter((s) => s !== '');
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(`${flag}: "${url}" is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`${flag}: "${url}" must be http or https`);
  }
  return urls;
}

export function asPositiveInt(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(String(value));
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${flag} must be a positive integer, got "${String(value)}"`);
  return n;
}
