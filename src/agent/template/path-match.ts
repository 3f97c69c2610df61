/**
 * Glob patterns for gets/getvs, with Go's path.Match syntax (confd's memkv
 * uses it): `*` is any run of non-`/` characters, `?` one non-`/` character,
 * `[abc]`, `[a-z]`, `[^a-z]` character classes, `\` escapes. The whole key
 * must match. Deliberately, no wildcard (negated classes included) ever
 * matches `/`, so `/services/*` never reaches `/services/web/a`.
 */
export class BadPatternError extends Error {}

export interface CompiledGlob {
  readonly regexp: RegExp;
  /** The literal text before the first wildcard, for range scans. */
  readonly literalPrefix: string;
}

export function compileGlob(pattern: string): CompiledGlob {
  let re = '^';
  let literalPrefix = '';
  let sawWildcard = false;
  const chars = [...pattern];
  const bad = (why: string): never => {
    throw new BadPatternError(`bad pattern "${pattern}": ${why}`);
  };
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '*') {
      sawWildcard = true;
      re += '[^/]*';
    } else if (c === '?') {
      sawWildcard = true;
      re += '[^/]';
    } else if (c === '[') {
      sawWildcard = true;
      let j = i + 1;
      let negated = false;
      if (chars[j] === '^') {
        negated = true;
        j++;
      }
      let body = '';
      let ranges = 0;
      const readChar = (): string => {
        const ch = chars[j];
        if (ch === undefined) return bad('unterminated [');
        if (ch === '\\') {
          j++;
          const escaped = chars[j];
          if (escaped === undefined) return bad('trailing \\');
          j++;
          return escaped;
        }
        if (ch === '-' || ch === ']') return bad(`unexpected "${ch}" in class`);
        j++;
        return ch;
      };
      while (chars[j] !== ']' || ranges === 0) {
        if (chars[j] === undefined) bad('unterminated [');
        const lo = readChar();
        let hi = lo;
        if (chars[j] === '-') {
          j++;
          hi = readChar();
          if (hi < lo) bad(`range ${lo}-${hi} is reversed`);
        }
        body += lo === hi ? classEscape(lo) : `${classEscape(lo)}-${classEscape(hi)}`;
        ranges++;
      }
      re += negated ? `[^/${body}]` : `(?:(?!/)[${body}])`;
      i = j;
    } else if (c === '\\') {
      const next = chars[i + 1];
      if (next === undefined) bad('trailing \\');
      i++;
      re += regexEscape(next as string);
      if (!sawWildcard) literalPrefix += next;
    } else {
      re += regexEscape(c);
      if (!sawWildcard) literalPrefix += c;
    }
  }
  return { regexp: new RegExp(`${re}$`, 'u'), literalPrefix };
}

function regexEscape(ch: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch;
}

function classEscape(ch: string): string {
  return /[\\\]^[-]/.test(ch) ? `\\${ch}` : ch;
}
