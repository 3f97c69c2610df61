/**
 * confd runs check_cmd/reload_cmd through Go's text/template with `.src` (the
 * staged file) bound; we keep that placeholder syntax so resource files carry
 * over unchanged, and add `.dest`. Nothing else is substituted.
 */
const PLACEHOLDER = /\{\{\s*\.(\w+)\s*\}\}/g;
const ANY_ACTION = /\{\{(.*?)\}\}/g;
const KNOWN = new Set(['src', 'dest']);

export interface CommandPaths {
  readonly src: string;
  readonly dest: string;
}

/**
 * Substitutes `{{.src}}` and `{{.dest}}` with shell-quoted paths. Write the
 * placeholder bare (`nginx -t -c {{.src}}`), not inside quotes: the path is
 * quoted for you.
 */
export function expandCommand(command: string, paths: CommandPaths): string {
  return command.replace(PLACEHOLDER, (whole, name: string) => {
    if (name === 'src') return shellQuote(paths.src);
    if (name === 'dest') return shellQuote(paths.dest);
    return whole;
  });
}

/** `{{...}}` actions other than `.src`/`.dest`, which expandCommand would leave as-is. */
export function unknownPlaceholders(command: string): string[] {
  const unknown: string[] = [];
  for (const m of command.matchAll(ANY_ACTION)) {
    const name = /^\s*\.(\w+)\s*$/.exec(m[1] ?? '')?.[1];
    if (name === undefined || !KNOWN.has(name)) unknown.push(m[0]);
  }
  return unknown;
}

/** POSIX sh quoting; plain paths stay unquoted so logged commands read naturally. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_./:@%+=,-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
