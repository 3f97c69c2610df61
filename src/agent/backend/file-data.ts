import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { CairnError } from '../../util/errors.js';

export class DataFileError extends CairnError {
  constructor(message: string, options?: ErrorOptions) {
    super('CAIRN_DATA_FILE', message, options);
  }
}

/**
 * confd's file backend layout: maps nest as /a/b, list items as /a/0, scalars
 * print as text. A null (`key:` with nothing after it) is no key at all, as in
 * confd, so `getv`'s default and `exists` see it as missing.
 */
export function flattenDocument(value: unknown, key: string, into: Map<string, string>): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => flattenDocument(item, `${key}/${i}`, into));
  } else if (value instanceof Date) {
    into.set(key, value.toISOString());
  } else if (typeof value === 'object') {
    for (const [name, child] of Object.entries(value as Record<string, unknown>)) {
      flattenDocument(child, `${key === '/' ? '' : key}/${name}`, into);
    }
  } else {
    into.set(key, String(value));
  }
}

/** Reads and flattens the files in order; a later file's key replaces an earlier one's. */
export async function readDataFiles(paths: readonly string[]): Promise<Map<string, string>> {
  const pairs = new Map<string, string>();
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new DataFileError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
    let doc: unknown;
    try {
      // YAML is a superset of JSON, but JSON.parse is an order of magnitude faster on big files.
      doc = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      throw new DataFileError(`${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
    if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
      throw new DataFileError(`${path} must hold a mapping at the top level`);
    }
    flattenDocument(doc ?? {}, '/', pairs);
    pairs.delete('/');
  }
  return pairs;
}

export function underPrefix(prefix: string, key: string): boolean {
  return prefix === '/' || key === prefix || key.startsWith(`${prefix}/`);
}
