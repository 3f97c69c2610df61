/**
 * Go's path.Clean/Base/Dir, which confd's `base` and `dir` helpers are.
 * node:path differs on edge cases users hit with keys: Go's Dir("/a/b/") is
 * "/a/b" (node: "/a") and Base("") is "." (node: "").
 */
export function goClean(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

export function goBase(p: string): string {
  if (p === '') return '.';
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

export function goDir(p: string): string {
  return goClean(p.slice(0, p.lastIndexOf('/') + 1));
}
