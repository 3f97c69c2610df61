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

function quoteGo(text: string): string {
  return JSON.stringify(text);
}

/** Go's url.QueryUnescape: "+" is a space, "%XX" a byte; a bad escape throws. */
export function queryUnescape(text: string): string {
  if (!text.includes('%') && !text.includes('+')) return text;
  const bytes: number[] = [];
  let plain = true;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 37 /* % */) {
      if (i + 2 >= text.length || !isHex(text.charCodeAt(i + 1)) || !isHex(text.charCodeAt(i + 2))) {
        throw new FormError(`invalid URL escape ${quoteGo(text.slice(i, i + 3))}`);
      }
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      plain = false;
      i += 2;
    } else if (code === 43 /* + */) {
      bytes.push(32);
    } else if (code < 0x80) {
      bytes.push(code);
    } else {
      // Non-ASCII input is already text; keep its UTF-8 bytes.
      const ch = String.fromCodePoint(text.codePointAt(i) as number);
      for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
      i += ch.length - 1;
    }
  }
  if (plain) return text.replace(/\+/g, ' ');
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
