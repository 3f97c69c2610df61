/**
 * Go's path.Clean for rooted paths: collapse "//", drop ".", resolve "..",
 * drop a trailing slash. Keys are always rooted.
 */
const ALREADY_CLEAN = /^(?:\/[^/]+)*$/;
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

export function cleanPath(raw: string): string {
  if (raw === '/') return raw;
  // Most keys arrive clean; checking is cheaper than rebuilding.
  if (raw !== '' && ALREADY_CLEAN.test(raw) && !DOT_SEGMENT.test(raw)) return raw;
  const out: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** Splits "/a/b/c" into ("/a/b", "c"). */
export function splitPath(path: string): { dir: string; name: string } {
  const slash = path.lastIndexOf('/');
  return { dir: slash <= 0 ? '/' : path.slice(0, slash), name: path.slice(slash + 1) };
}
