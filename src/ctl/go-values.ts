/**
 * Go's parsers for flag values and its %q quoting, as etcdctl (a Go
 * program) applies them: users' scripts pass `--ttl 0x10`, `--timeout 1m30s`
 * or `--sort=false` and expect them read the same way.
 */

export type GoParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: 'parse error' | 'value out of range' };

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** True when underscores only separate digits (or follow a base prefix), as strconv requires for base 0. */
function underscoresOk(text: string): boolean {
  // Go's rule: '_' must sit between digits, or between a base prefix and a digit.
  let saw: '^' | '0' | '_' | '!' = '^';
  let i = 0;
  if (text.length >= 1 && (text[0] === '-' || text[0] === '+')) text = text.slice(1);
  let hex = false;
  if (text.length >= 2 && text[0] === '0' && /[bBoOxX]/.test(text[1] as string)) {
    i = 2;
    saw = '0';
    hex = /[xX]/.test(text[1] as string);
  }
  for (; i < text.length; i++) {
    const c = text[i] as string;
    if (/[0-9]/.test(c) || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** strconv.ParseInt(text, 0, 64): decimal, 0x/0o/0b prefixes, a leading 0 for octal, underscores. */
export function parseGoInt(text: string): GoParseResult<number> {
  if (text === '') return { ok: false, error: 'parse error' };
  let rest = text;
  let negative = false;
  if (rest[0] === '+' || rest[0] === '-') {
    negative = rest[0] === '-';
    rest = rest.slice(1);
  }
  let base = 10;
  if (rest[0] === '0') {
    const second = rest[1]?.toLowerCase();
    if (rest.length >= 3 && (second === 'x' || second === 'o' || second === 'b')) {
      base = second === 'x' ? 16 : second === 'o' ? 8 : 2;
      rest = rest.slice(2);
    } else if (rest.length > 1) {
      base = 8;
      rest = rest.slice(1);
    }
  }
  if (rest.includes('_')) {
    if (!underscoresOk(text)) return { ok: false, error: 'parse error' };
    rest = rest.replaceAll('_', '');
  }
  if (rest === '') return { ok: false, error: 'parse error' };
  const digits = base === 16 ? /^[0-9a-fA-F]+$/ : base === 8 ? /^[0-7]+$/ : base === 2 ? /^[01]+$/ : /^[0-9]+$/;
  if (!digits.test(rest)) return { ok: false, error: 'parse error' };
  let value = 0n;
  const big = BigInt(base);
  for (const c of rest) value = value * big + BigInt(parseInt(c, base));
  if (negative) value = -value;
  if (value > INT64_MAX || value < INT64_MIN) return { ok: false, error: 'value out of range' };
  return { ok: true, value: Number(value) };
}

/** strconv.ParseBool. */
export function parseGoBool(text: string): GoParseResult<boolean> {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return { ok: true, value: true };
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return { ok: true, value: false };
  return { ok: false, error: 'parse error' };
}

const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** time.ParseDuration, in milliseconds: "2s", "1m30s", "1.5h", "-300ms", "0". */
export function parseGoDuration(text: string): GoParseResult<number> {
  let rest = text;
  let sign = 1;
  if (rest[0] === '-' || rest[0] === '+') {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return { ok: true, value: 0 };
  if (rest === '') return { ok: false, error: 'parse error' };
  let totalNs = 0;
  const part = /^([0-9]*)(\.[0-9]*)?([^0-9.]+)/;
  while (rest !== '') {
    const m = part.exec(rest);
    if (m === null) return { ok: false, error: 'parse error' };
    const [whole, intPart = '', fracPart = '', unit = ''] = m;
    if (intPart === '' && (fracPart === '' || fracPart === '.')) return { ok: false, error: 'parse error' };
    const scale = UNIT_NS[unit];
    if (scale === undefined) return { ok: false, error: 'parse error' };
    totalNs += Number(`${intPart === '' ? '0' : intPart}${fracPart === '.' ? '' : fracPart}`) * scale;
    rest = rest.slice(whole.length);
  }
  if (totalNs > 9.223372036854775807e18) return { ok: false, error: 'parse error' };
  return { ok: true, value: (sign * totalNs) / 1e6 };
}

/** Go's %q for a string (strconv.Quote): double quotes, backslash escapes, printable runes kept. */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp >= 0x80 && cp < 0xa0) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return `${out}"`;
}
