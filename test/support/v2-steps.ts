import type { HttpStep } from './http-diff.js';

/**
 * Shorthands for v2 keys requests. `key` starts with '/' and may carry a query
 * string; values go in a form body, as `curl -d value=...` sends them.
 */
export const keys = (key: string): string => `/v2/keys${key}`;

export function get(key: string): HttpStep {
  return { method: 'GET', path: keys(key) };
}

export function head(key: string): HttpStep {
  return { method: 'HEAD', path: keys(key) };
}

export function put(key: string, form?: Readonly<Record<string, string>>): HttpStep {
  return form === undefined ? { method: 'PUT', path: keys(key) } : { method: 'PUT', path: keys(key), form };
}

export function post(key: string, form?: Readonly<Record<string, string>>): HttpStep {
  return form === undefined ? { method: 'POST', path: keys(key) } : { method: 'POST', path: keys(key), form };
}

export function del(key: string): HttpStep {
  return { method: 'DELETE', path: keys(key) };
}
