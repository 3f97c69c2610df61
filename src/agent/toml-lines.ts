/**
 * smol-toml returns plain values without positions, so to name the line of a
 * bad field we scan the text ourselves. This is a best-effort line index, not
 * a TOML parser: it runs only on documents smol-toml has already accepted,
 * and it only needs to find `key = value` lines and `[table]` headers.
 */
export interface KeyLocation {
  readonly line: number;
  /** The raw text after `=` (comment and trailing spaces included). */
  readonly valueText: string;
}

export interface TomlLineIndex {
  /** Dotted path ("template.src") → first line that assigns it. */
  readonly keys: ReadonlyMap<string, KeyLocation>;
  /** Dotted table name ("template") → line of its `[header]`. */
  readonly tables: ReadonlyMap<string, number>;
}

const KEY_VALUE = /^((?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_\-.\t ])+?)\s*=(.*)$/;

export function indexTomlLines(text: string): TomlLineIndex {
  const keys = new Map<string, KeyLocation>();
  const tables = new Map<string, number>();
  let table = '';
  let openMultiline: '"""' | "'''" | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const lineNo = i + 1;
    if (openMultiline !== undefined) {
      // A line inside a multi-line string may look like `key = value`.
      if (raw.includes(openMultiline)) openMultiline = undefined;
      continue;
    }
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      const header = /^\[\[?\s*(.*?)\s*\]\]?/.exec(line);
      if (header?.[1] !== undefined) {
        table = splitDotted(header[1]).join('.');
        if (!tables.has(table)) tables.set(table, lineNo);
      }
      continue;
    }
    const kv = KEY_VALUE.exec(line);
    if (kv?.[1] === undefined || kv[2] === undefined) continue;
    const key = splitDotted(kv[1]).join('.');
    const full = table === '' ? key : `${table}.${key}`;
    if (!keys.has(full)) keys.set(full, { line: lineNo, valueText: kv[2].trim() });
    const value = kv[2].trim();
    for (const delim of ['"""', "'''"] as const) {
      if (value.startsWith(delim) && !value.slice(3).includes(delim)) openMultiline = delim;
    }
  }
  return { keys, tables };
}

function splitDotted(path: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (const ch of path) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '.') {
      parts.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current.trim());
  return parts;
}
