import { statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { TemplateSource } from './template/compile.js';

/**
 * Reads every regular file under the templates directory (recursively,
 * skipping dot-files) so the pure renderer never touches the disk. A
 * missing directory is an empty set of templates, not an error: resources
 * that name a template then fail on their own.
 */
export async function loadTemplateDir(dir: string): Promise<TemplateSource[]> {
  const out: TemplateSource[] = [];
  const walk = async (current: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && current === dir) return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() || entry.isSymbolicLink()) {
        out.push({ name: relative(dir, full).split(sep).join('/'), file: full, source: await readFile(full, 'utf8') });
      }
    }
  };
  await walk(dir);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The fileExists helper's probe: true for anything stat can see (files, directories, live symlinks). */
export function nodeFileExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
