/**
 * Form decoding with the semantics of Go's net/url and net/http (ParseQuery,
 * QueryUnescape, ParseForm), because etcd clients rely on its quirks: the
 * first value of a repeated key wins, body values come before query values,
 * and a bad escape is an error that names the escape.
 */
export type FormValues = Map<string, string[]>;

export class FormError extends Error {}

function isHex(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}

const NAMED_ESCAPES: Readonly<Record<number, string>> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v' };
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** Go's strconv.Quote over raw bytes: invalid UTF-8 as \xNN, controls escaped, printable runes kept. */
export function quoteGoBytes(bytes: Buffer): string {
  let out = '"';
  const text = bytes.toString('utf8');
  let offset = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    const encoded = Buffer.from(ch, 'utf8');
    if (code === 0xfffd && !bytes.subarray(offset, offset + 3).equals(encoded)) {
      // A replacement character here stands for one invalid byte of input.
      out += `\\x${(bytes[offset] as number).toString(16).padStart(2, '0')}`;
      offset += 1;
      continue;
    }
    offset += encoded.length;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (NAMED_ESCAPES[code] !== undefined) out += NAMED_ESCAPES[code];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (PRINTABLE.test(ch)) out += ch;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/**
 * Go's url.QueryUnescape: "+" is a space, "%XX" a byte; a bad escape throws.
 * `text` is a byte string (latin1: one char per byte), as Node hands over
 * request lines and as bodies are read, so escapes are judged on bytes.
 */
export function queryUnescape(text: string): string {
  if (!/[%+\u0080-\u00ff]/.test(text)) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 37 /* % */) {
      if (i + 2 >= text.length || !isHex(text.charCodeAt(i + 1)) || !isHex(text.charCodeAt(i + 2))) {
        throw new FormError(`invalid URL escape ${quoteGoBytes(Buffer.from(text.slice(i, i + 3), 'latin1'))}`);
      }
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (code === 43 /* + */) {
      bytes.push(32);
    } else {
      bytes.push(code & 0xff);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Go's url.ParseQuery: parses every pair it can and reports the first error. */
export function parseQuery(query: string, into: FormValues = new Map()): { values: FormValues; error?: FormError } {
  let error: FormError | undefined;
  if (query === '') return { values: into };
  for (const pair of query.split('&')) {
    if (pair.includes(';')) {
      error ??= new FormError('invalid semicolon separator in query');
      continue;
    }
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    let key: string;
    let value: string;
    try {
      key = queryUnescape(rawKey);
      value = queryUnescape(rawValue);
    } catch (err) {
      error ??= err as FormError;
      continue;
    }
    const list = into.get(key);
    if (list === undefined) into.set(key, [value]);
    else list.push(value);
  }
  return error === undefined ? { values: into } : { values: into, error };
}

export function formValue(form: FormValues, key: string): string {
  return form.get(key)?.[0] ?? '';
}

export function isFormContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semicolon = contentType.indexOf(';');
  const media = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return media === 'application/x-www-form-urlencoded';
}
