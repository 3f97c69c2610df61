import { keyPrefixStripper, normalizeKey } from '../key-path.js';
import { compileGlob } from './path-match.js';

/**
 * A key/value pair as templates see it. `key`/`value` suit Handlebars style
 * (`{{key}}`); `Key`/`Value` are prototype getters, so templates ported from
 * confd (`{{.Key}}` → `{{Key}}`) keep working while iterating a pair sees
 * only two fields. Handlebars refuses prototype properties unless allowed:
 * the renderer allows exactly PROTO_PROPERTIES.
 */
export class KVPair {
  readonly key: string;
  readonly value: string;

  constructor(key: string, value: string) {
    this.key = key;
    this.value = value;
  }

  get Key(): string {
    return this.key;
  }

  get Value(): string {
    return this.value;
  }
}

export function kvPair(key: string, value: string): KVPair {
  return new KVPair(key, value);
}

/**
 * The read-only key space one render sees, like confd's memkv store: keys
 * relative to the resource prefix, absolute ("/upstream/a"). Keys are kept
 * sorted so list results come out in the same order whatever order the
 * backend delivered them in, and prefix queries are a binary search.
 */
export class KvView {
  readonly #values: Map<string, string>;
  readonly #sorted: readonly string[];

  constructor(pairs: Iterable<readonly [string, string]>) {
    this.#values = new Map();
    for (const [key, value] of pairs) this.#values.set(normalizeKey(key), value);
    this.#sorted = [...this.#values.keys()].sort(compareStrings);
  }

  /**
   * The view of backend pairs under `prefix`, with the prefix stripped as
   * confd does. Keys outside the prefix are dropped.
   */
  static fromBackend(prefix: string, pairs: Iterable<readonly [string, string]>): KvView {
    const strip = keyPrefixStripper(prefix);
    const stripped: [string, string][] = [];
    for (const [key, value] of pairs) {
      const rel = strip(key);
      if (rel !== undefined) stripped.push([rel, value]);
    }
    return new KvView(stripped);
  }

  get size(): number {
    return this.#sorted.length;
  }

  get(key: string): string | undefined {
    return this.#values.get(normalizeKey(key));
  }

  pair(key: string): KVPair | undefined {
    const k = normalizeKey(key);
    const value = this.#values.get(k);
    return value === undefined ? undefined : kvPair(k, value);
  }

  has(key: string): boolean {
    return this.#values.has(normalizeKey(key));
  }

  /** Pairs whose whole key matches the glob, sorted by key. Throws BadPatternError. */
  glob(pattern: string): KVPair[] {
    // Keys are absolute and normalized, so a relative pattern, or one with "//"
    // (printf "%s/%s/*" with a root of "/"), would silently match nothing.
    const { regexp, literalPrefix } = compileGlob(`/${pattern}`.replace(/\/{2,}/g, '/'));
    const out: KVPair[] = [];
    for (const key of this.#keysStartingWith(literalPrefix)) {
      if (regexp.test(key)) out.push(kvPair(key, this.#values.get(key) ?? ''));
    }
    return out;
  }

  /**
   * Names directly under `dir`, sorted and unique (memkv's List). Like memkv,
   * listing a key that holds a value itself yields that key's base name.
   */
  list(dir: string): string[] {
    return this.#children(dir, false);
  }

  /** Names directly under `dir` that have keys below them (memkv's ListDir). */
  listDirs(dir: string): string[] {
    return this.#children(dir, true);
  }

  #children(dir: string, dirsOnly: boolean): string[] {
    const base = normalizeKey(dir);
    const names = new Set<string>();
    if (!dirsOnly && base !== '/' && this.#values.has(base)) names.add(base.slice(base.lastIndexOf('/') + 1));
    const start = base === '/' ? '/' : `${base}/`;
    for (const key of this.#keysStartingWith(start)) {
      const rest = key.slice(start.length);
      if (rest === '') continue;
      const slash = rest.indexOf('/');
      if (slash === -1) {
        if (!dirsOnly) names.add(rest);
      } else {
        names.add(rest.slice(0, slash));
      }
    }
    return [...names].sort(compareStrings);
  }

  *#keysStartingWith(prefix: string): Generator<string> {
    const keys = this.#sorted;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((keys[mid] as string) < prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < keys.length; i++) {
      const key = keys[i] as string;
      if (!key.startsWith(prefix)) return;
      yield key;
    }
  }
}

/** Plain code-unit order: total and locale-independent, so output never depends on the host. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
