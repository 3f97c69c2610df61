/**
 * Keys are `/`-separated absolute paths. Backends and users write them with
 * or without leading/trailing slashes ("nginx", "/nginx/", "//nginx"); every
 * comparison goes through this one normal form: a leading `/`, no empty
 * segments, no trailing `/` (the root is "/").
 */
export function normalizeKey(key: string): string {
  // Fast path: backends already hand out normal keys, and renders see thousands.
  if (key.startsWith('/') && !key.includes('//') && (key.length === 1 || !key.endsWith('/'))) return key;
  const segments = key.split('/').filter((s) => s !== '');
  return `/${segments.join('/')}`;
}

/** Joins key paths like confd's path.Join("/", ...), e.g. ("/prod", "app/") → "/prod/app". */
export function joinKey(...parts: readonly string[]): string {
  return normalizeKey(parts.join('/'));
}

/**
 * `key` relative to `prefix` as an absolute path, or undefined when the key
 * is not under the prefix. Unlike confd's strings.TrimPrefix this respects
 * segment boundaries: "/application" is not under "/app".
 */
export function stripKeyPrefix(prefix: string, key: string): string | undefined {
  return keyPrefixStripper(prefix)(key);
}

/** stripKeyPrefix with the prefix normalized once, for stripping many keys. */
export function keyPrefixStripper(prefix: string): (key: string) => string | undefined {
  const p = normalizeKey(prefix);
  return (key) => {
    const k = normalizeKey(key);
    if (p === '/') return k;
    if (k === p) return '/';
    return k.startsWith(p) && k.charCodeAt(p.length) === 47 /* '/' */ ? k.slice(p.length) : undefined;
  };
}
