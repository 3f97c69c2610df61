import type { Backend, Change, Listing } from './backend.js';

/** confd's mapping: /database/host ↔ DATABASE_HOST. */
export function envNameForKey(key: string): string {
  return key.replace(/^\/+/, '').replace(/\//g, '_').toUpperCase();
}

export function keyForEnvName(name: string): string {
  return `/${name.toLowerCase().replace(/_/g, '/')}`;
}

/**
 * Environment variables as keys, as confd's env backend reads them. Nothing
 * changes while the process runs, so watch mode renders once.
 */
export class EnvBackend implements Backend {
  readonly name = 'env';
  readonly watchable = false;
  readonly #env: Readonly<Record<string, string | undefined>>;

  constructor(env: Readonly<Record<string, string | undefined>> = process.env) {
    this.#env = env;
  }

  async list(prefix: string): Promise<Listing> {
    const wanted = envNameForKey(prefix);
    const pairs = new Map<string, string>();
    for (const [name, value] of Object.entries(this.#env)) {
      if (value === undefined || !name.startsWith(wanted)) continue;
      // Like confd: DATABASE_HOSTS matches the prefix /database/host too; the template filters.
      pairs.set(keyForEnvName(name), value);
    }
    return { index: 0, pairs };
  }

  async *watch(_prefix: string, _fromIndex: number, signal: AbortSignal): AsyncIterable<Change> {
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  }

  async close(): Promise<void> {}
}
