import { readdir, readFile } from 'node:fs/promises';
import { basename, join, isAbsolute } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { unknownPlaceholders } from './command-template.js';
import { parseDurationMs } from './duration.js';
import { joinKey, normalizeKey } from './key-path.js';
import { ConfDirError, ResourceError } from './resource-errors.js';
import { indexTomlLines, type TomlLineIndex } from './toml-lines.js';

/**
 * One conf.d/*.toml template resource, validated. Field meanings follow
 * confd's `[template]` table; `owner`/`group`, the timeouts and `{{.dest}}`
 * are Cairn additions.
 */
export interface ResourceSpec {
  /** The .toml file this came from (as passed in, for messages). */
  readonly file: string;
  /** File name without `.toml`; unique within a conf.d directory. */
  readonly name: string;
  /** Template path relative to the templates directory, as written. */
  readonly src: string;
  /** `src` joined onto the templates directory. */
  readonly srcPath: string;
  /** Absolute destination path. */
  readonly dest: string;
  /** Watched key prefixes relative to `prefix`, normalized ("/upstream"). */
  readonly keys: readonly string[];
  /** Effective prefix: the global prefix joined with the resource's own ("/" if neither). */
  readonly prefix: string;
  /** `prefix` joined with each key: what to read and watch in the backend. */
  readonly backendKeys: readonly string[];
  /**
   * Permission bits to give dest. Undefined means "unset": keep the existing
   * file's mode, or DEFAULT_MODE for a new file (see resolveMode).
   */
  readonly mode: number | undefined;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  /** User/group names; resolved to ids by the effects layer. Exclusive with uid/gid. */
  readonly owner: string | undefined;
  readonly group: string | undefined;
  /** Raw commands with `{{.src}}`/`{{.dest}}` placeholders (see expandCommand). */
  readonly checkCmd: string | undefined;
  readonly reloadCmd: string | undefined;
  readonly checkTimeoutMs: number | undefined;
  readonly reloadTimeoutMs: number | undefined;
}

/** confd's default for a destination file that does not exist yet. */
export const DEFAULT_MODE = 0o644;

/** The mode dest should end up with, given the mode of the existing file if there is one. */
export function resolveMode(mode: number | undefined, existingMode: number | undefined): number {
  return mode ?? (existingMode === undefined ? DEFAULT_MODE : existingMode & 0o7777);
}

export interface ParseOptions {
  /** The --prefix flag; joined in front of the resource's own prefix. */
  readonly globalPrefix?: string;
  /** Where `src` is looked up; usually `<confdir>/templates`. */
  readonly templateDir: string;
}

const FIELDS = [
  'src', 'dest', 'keys', 'prefix', 'uid', 'gid', 'mode', 'owner', 'group',
  'check_cmd', 'reload_cmd', 'check_timeout', 'reload_timeout',
] as const;
type Field = (typeof FIELDS)[number];
const KNOWN_FIELDS: ReadonlySet<string> = new Set(FIELDS);

/** Parses and validates one resource file's text. Throws ResourceError naming `file` and the line. */
export function parseResource(text: string, file: string, options: ParseOptions): ResourceSpec {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = err.message.split('\n')[0]?.replace(/^Invalid TOML document:\s*/, '') ?? 'invalid TOML';
      throw new ResourceError(file, err.line, `invalid TOML at column ${err.column}: ${reason}`, { cause: err });
    }
    throw err;
  }
  const lines = indexTomlLines(text);
  const fail = (field: string, message: string): never => {
    throw new ResourceError(file, lineOf(lines, field), message, { field });
  };

  for (const top of Object.keys(doc)) {
    if (top !== 'template') fail(top, `unknown ${isTable(doc[top]) ? 'table' : 'field'} "${top}" (only [template] is allowed)`);
  }
  const table = doc['template'];
  if (table === undefined) throw new ResourceError(file, 1, 'missing [template] table');
  if (!isTable(table)) return fail('template', '"template" must be a table ([template])');

  for (const key of Object.keys(table)) {
    if (!KNOWN_FIELDS.has(key)) {
      const hint = suggest(key);
      fail(`template.${key}`, `unknown field "${key}" in [template]${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`);
    }
  }
  const at = (f: Field) => `template.${f}`;
  const str = (f: Field): string | undefined => {
    const v = table[f];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') return fail(at(f), `"${f}" must be a string, got ${describe(v)}`);
    return v;
  };
  const nonEmpty = (f: Field): string | undefined => {
    const v = str(f);
    if (v !== undefined && v.trim() === '') return fail(at(f), `"${f}" must not be empty`);
    return v;
  };
  const id = (f: 'uid' | 'gid'): number | undefined => {
    const v = table[f];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return fail(at(f), `"${f}" must be a non-negative integer, got ${describe(v)}`);
    return v;
  };
  const command = (f: 'check_cmd' | 'reload_cmd'): string | undefined => {
    const v = str(f);
    if (v === undefined || v.trim() === '') return undefined;
    const unknown = unknownPlaceholders(v);
    if (unknown.length > 0) fail(at(f), `"${f}" uses ${unknown.join(', ')}; only {{.src}} and {{.dest}} are substituted`);
    return v;
  };
  const timeout = (f: 'check_timeout' | 'reload_timeout'): number | undefined => {
    const v = table[f];
    if (v === undefined) return undefined;
    const ms = typeof v === 'string' || typeof v === 'number' ? parseDurationMs(v) : undefined;
    if (ms === undefined || ms <= 0) {
      return fail(at(f), `"${f}" must be a positive duration like "30s" or "2m" (or a number of seconds), got ${describe(v)}`);
    }
    return ms;
  };

  const src = str('src');
  if (src === undefined || src.trim() === '') return fail(src === undefined ? 'template' : at('src'), 'missing required field "src" (the template file)');
  const dest = str('dest');
  if (dest === undefined || dest.trim() === '') return fail(dest === undefined ? 'template' : at('dest'), 'missing required field "dest" (the file to write)');
  if (!isAbsolute(dest)) fail(at('dest'), `"dest" must be an absolute path, got "${dest}"`);

  const rawKeys = table['keys'];
  let keys: string[] = [];
  if (rawKeys !== undefined) {
    if (!Array.isArray(rawKeys) || !rawKeys.every((k): k is string => typeof k === 'string')) {
      fail(at('keys'), `"keys" must be an array of strings, got ${describe(rawKeys)}`);
    }
    keys = [...new Set((rawKeys as string[]).map(normalizeKey))];
  }

  const prefix = joinKey(options.globalPrefix ?? '', str('prefix') ?? '');
  const uid = id('uid');
  const gid = id('gid');
  const owner = nonEmpty('owner');
  const group = nonEmpty('group');
  if (uid !== undefined && owner !== undefined) fail(at('owner'), 'set either "owner" or "uid", not both');
  if (gid !== undefined && group !== undefined) fail(at('group'), 'set either "group" or "gid", not both');

  return {
    file,
    name: basename(file).replace(/\.toml$/, ''),
    src,
    srcPath: join(options.templateDir, src),
    dest,
    keys,
    prefix,
    backendKeys: keys.map((k) => joinKey(prefix, k)),
    mode: parseMode(table['mode'], lines, (message) => fail(at('mode'), message)),
    uid,
    gid,
    owner,
    group,
    checkCmd: command('check_cmd'),
    reloadCmd: command('reload_cmd'),
    checkTimeoutMs: timeout('check_timeout'),
    reloadTimeoutMs: timeout('reload_timeout'),
  };
}

/**
 * confd reads mode as a string through strconv.ParseUint(mode, 0, 32), where
 * "644" silently means decimal 644 (= 0o1204). We always read strings as
 * octal and refuse decimal TOML integers, which are the same trap.
 */
function parseMode(value: unknown, lines: TomlLineIndex, fail: (message: string) => never): number | undefined {
  if (value === undefined) return undefined;
  let mode: number;
  if (typeof value === 'string') {
    const digits = /^(?:0o|0)?([0-7]{1,4})$/i.exec(value.trim())?.[1];
    if (digits === undefined) return fail(`bad "mode" "${value}": expected octal permission bits like "0644"`);
    mode = Number.parseInt(digits, 8);
  } else if (typeof value === 'number' && Number.isInteger(value)) {
    const literal = lines.keys.get('template.mode')?.valueText ?? '';
    if (!/^0o/i.test(literal)) {
      return fail(`bad "mode" ${literal || String(value)}: a decimal integer is ambiguous; write "0644" or 0o644`);
    }
    mode = value;
  } else {
    return fail(`bad "mode": expected a string like "0644", got ${describe(value)}`);
  }
  if (mode > 0o7777) return fail(`bad "mode" 0o${mode.toString(8)}: more than permission bits`);
  return mode;
}

export interface LoadedResources {
  /** Valid resources, sorted by file name. */
  readonly resources: readonly ResourceSpec[];
  /** One entry per file that could not be used; the others still load. */
  readonly errors: readonly ResourceError[];
}

/**
 * Loads every `<confdir>/conf.d/*.toml`. A bad file is reported and skipped,
 * never fatal for the rest; only a missing conf.d directory throws.
 */
export async function loadResources(
  confdir: string,
  globalPrefix: string,
  options: { readonly templateDir?: string } = {},
): Promise<LoadedResources> {
  const confd = join(confdir, 'conf.d');
  const templateDir = options.templateDir ?? join(confdir, 'templates');
  let names: string[];
  try {
    names = (await readdir(confd, { withFileTypes: true }))
      .filter((e) => (e.isFile() || e.isSymbolicLink()) && e.name.endsWith('.toml') && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    throw new ConfDirError(confd, `cannot list template resources: ${(err as Error).message}`, { cause: err });
  }
  const resources: ResourceSpec[] = [];
  const errors: ResourceError[] = [];
  for (const name of names) {
    const file = join(confd, name);
    try {
      const text = await readFile(file, 'utf8');
      resources.push(parseResource(text, file, { globalPrefix, templateDir }));
    } catch (err) {
      errors.push(err instanceof ResourceError ? err : new ResourceError(file, 0, `cannot read: ${(err as Error).message}`, { cause: err }));
    }
  }
  return { resources, errors };
}

function lineOf(lines: TomlLineIndex, path: string): number {
  const key = lines.keys.get(path);
  if (key !== undefined) return key.line;
  // A field missing altogether is reported at its table header.
  const table = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : path;
  return lines.tables.get(table) ?? lines.keys.get(table)?.line ?? 1;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date';
  if (isTable(v)) return 'a table';
  if (typeof v === 'string') return `the string "${v}"`;
  return `${typeof v} ${String(v)}`;
}

/** A close known field name for typos like `reload_command` or `chek_cmd`. */
function suggest(key: string): string | undefined {
  const lower = key.toLowerCase().replaceAll('-', '_');
  if (KNOWN_FIELDS.has(lower)) return lower;
  let best: string | undefined;
  let bestDistance = Math.max(3, Math.ceil(lower.length / 3));
  for (const field of FIELDS) {
    const d = editDistance(lower, field);
    if (d < bestDistance) {
      best = field;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
