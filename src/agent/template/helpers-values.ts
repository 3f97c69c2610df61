import { goSprintf } from './go-format.js';
import { goBase, goDir } from './go-path.js';
import type { HelperCall } from './helper-call.js';
import { describe } from './helper-call.js';
import { spec, type HelperTable } from './helper-table.js';
import { compareStrings, KVPair } from './kv-view.js';

/**
 * Pure value helpers with the names and meaning of confd's template
 * functions (mostly Go's strings/strconv/path), plus the few Go template
 * builtins confd templates lean on (printf, eq, ..., index, len) that
 * Handlebars lacks.
 */
export const valueHelpers: HelperTable = {
  json: spec(1, 1, (call, [text]) => {
    const parsed = parseJson(call, text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return call.fail(`expected a JSON object, got ${Array.isArray(parsed) ? 'an array (use jsonArray)' : describe(parsed)}`);
    }
    return parsed;
  }),
  jsonArray: spec(1, 1, (call, [text]) => {
    const parsed = parseJson(call, text);
    if (!Array.isArray(parsed)) return call.fail(`expected a JSON array, got ${describe(parsed)}`);
    return parsed;
  }),
  map: spec(0, Infinity, (call, args) => {
    if (args.length % 2 !== 0) return call.fail('needs key value pairs (an even number of arguments)');
    const entries: [string, unknown][] = [];
    for (let i = 0; i < args.length; i += 2) {
      const key = args[i];
      if (typeof key !== 'string') return call.fail(`keys must be strings, argument ${i + 1} is ${describe(key)}`);
      entries.push([key, args[i + 1]]);
    }
    return Object.fromEntries(entries);
  }),

  base: spec(1, 1, (call, [p]) => goBase(call.string(p, 'path'))),
  dir: spec(1, 1, (call, [p]) => goDir(call.string(p, 'path'))),
  split: spec(2, 2, (call, [s, sep]) => {
    const text = call.string(s, 'string');
    const separator = call.string(sep, 'separator');
    // Go splits "" into characters (code points), not UTF-16 halves.
    return separator === '' ? [...text] : text.split(separator);
  }),
  join: spec(2, 2, (call, [list, sep]) => call.stringList(list, 'list').join(call.string(sep, 'separator'))),
  toUpper: spec(1, 1, (call, [s]) => call.string(s, 'string').toUpperCase()),
  toLower: spec(1, 1, (call, [s]) => call.string(s, 'string').toLowerCase()),
  contains: spec(2, 2, (call, [s, sub]) => call.string(s, 'string').includes(call.string(sub, 'substring'))),
  replace: spec(3, 4, (call, [s, from, to, n]) =>
    goReplace(call.string(s, 'string'), call.string(from, 'old'), call.string(to, 'new'), n === undefined ? -1 : call.int(n, 'n')),
  ),
  trimSuffix: spec(2, 2, (call, [s, suffix]) => {
    const text = call.string(s, 'string');
    const end = call.string(suffix, 'suffix');
    return end !== '' && text.endsWith(end) ? text.slice(0, -end.length) : text;
  }),

  atoi: spec(1, 1, (call, [s]) => {
    const text = call.string(s, 'string');
    if (!/^[+-]?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) return call.fail(`"${text}" is not an integer`);
    return Number(text);
  }),
  add: spec(2, 2, (call, [a, b]) => call.int(a, 'a') + call.int(b, 'b')),
  sub: spec(2, 2, (call, [a, b]) => call.int(a, 'a') - call.int(b, 'b')),
  mul: spec(2, 2, (call, [a, b]) => call.int(a, 'a') * call.int(b, 'b')),
  // Integer division truncating toward zero, and % with the dividend's sign: Go's int semantics.
  div: spec(2, 2, (call, [a, b]) => Math.trunc(call.int(a, 'a') / nonZero(call, call.int(b, 'b')))),
  mod: spec(2, 2, (call, [a, b]) => call.int(a, 'a') % nonZero(call, call.int(b, 'b'))),
  seq: spec(2, 2, (call, [first, last]) => {
    const lo = call.int(first, 'first');
    const hi = call.int(last, 'last');
    if (hi - lo >= 100_000) return call.fail(`refusing to build a sequence of ${hi - lo + 1} numbers`);
    const out: number[] = [];
    for (let i = lo; i <= hi; i++) out.push(i);
    return out;
  }),

  reverse: spec(1, 1, (call, [list]) => [...call.list(list, 'list')].reverse()),
  // Go's sort.Sort is not stable; ties are broken by value so output is deterministic.
  sortByLength: spec(1, 1, (call, [list]) =>
    call.stringList(list, 'list').sort((a, b) => a.length - b.length || compareStrings(a, b)),
  ),
  sortKVByLength: spec(1, 1, (call, [list]) =>
    [...call.list(list, 'list')].map((kv, i) => asPair(call, kv, i)).sort((a, b) => a.key.length - b.key.length || compareStrings(a.key, b.key)),
  ),

  base64Encode: spec(1, 1, (call, [s]) => Buffer.from(call.string(s, 'string'), 'utf8').toString('base64')),
  base64Decode: spec(1, 1, (call, [s]) => {
    const text = call.string(s, 'string').replace(/[\r\n]/g, '');
    // Buffer.from(…, 'base64') skips garbage silently; Go's StdEncoding refuses it.
    if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return call.fail(`"${text}" is not valid base64`);
    return Buffer.from(text, 'base64').toString('utf8');
  }),
  parseBool: spec(1, 1, (call, [s]) => {
    const text = call.string(s, 'string');
    if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
    if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
    return call.fail(`"${text}" is not a boolean (1, t, true, 0, f, false, ...)`);
  }),

  printf: spec(1, Infinity, (call, [format, ...args]) => {
    try {
      return goSprintf(call.string(format, 'format'), args);
    } catch (err) {
      return call.fail((err as Error).message);
    }
  }),
  eq: spec(2, Infinity, (_call, [a, ...others]) => others.some((b) => a === b)),
  ne: spec(2, 2, (_call, [a, b]) => a !== b),
  lt: spec(2, 2, (call, [a, b]) => compareOrdered(call, a, b) < 0),
  le: spec(2, 2, (call, [a, b]) => compareOrdered(call, a, b) <= 0),
  gt: spec(2, 2, (call, [a, b]) => compareOrdered(call, a, b) > 0),
  ge: spec(2, 2, (call, [a, b]) => compareOrdered(call, a, b) >= 0),
  // Go's and/or return an argument, not a boolean: `or (getenv "A") "default"` works.
  and: spec(1, Infinity, (_call, args) => args.find((v) => !goTruthy(v)) ?? args[args.length - 1]),
  or: spec(1, Infinity, (_call, args) => args.find((v) => goTruthy(v)) ?? args[args.length - 1]),
  not: spec(1, 1, (_call, [v]) => !goTruthy(v)),
  len: spec(1, 1, (call, [v]) => {
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (typeof v === 'object' && v !== null) return Object.keys(v).length;
    return call.fail(`cannot take the length of ${describe(v)}`);
  }),
  index: spec(2, Infinity, (call, [collection, ...path]) => {
    let current: unknown = collection;
    for (const step of path) {
      if (Array.isArray(current)) {
        const i = call.int(step, 'index');
        if (i < 0 || i >= current.length) return call.fail(`index ${i} out of range (length ${current.length})`);
        current = current[i];
      } else if (typeof current === 'object' && current !== null) {
        const key = call.string(step, 'key');
        current = Object.prototype.hasOwnProperty.call(current, key) ? (current as Record<string, unknown>)[key] : undefined;
      } else {
        return call.fail(`cannot index ${describe(current)}`);
      }
    }
    return current;
  }),
};

function parseJson(call: HelperCall, text: unknown): unknown {
  const source = call.string(text, 'value');
  try {
    return JSON.parse(source) as unknown;
  } catch (err) {
    return call.fail(`invalid JSON: ${(err as Error).message}`, { cause: err });
  }
}

function nonZero(call: HelperCall, n: number): number {
  return n === 0 ? call.fail('division by zero') : n;
}

function asPair(call: HelperCall, v: unknown, i: number): KVPair {
  if (v instanceof KVPair) return v;
  return call.fail(`list[${i}] is not a key/value pair (use the result of gets)`);
}

function compareOrdered(call: HelperCall, a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  return call.fail(`cannot compare ${describe(a)} with ${describe(b)} (convert with atoi first?)`);
}

/** Go template truth: false, 0, nil, and empty strings, lists and maps are false. */
export function goTruthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** strings.Replace: at most n replacements (all when n < 0); an empty `from` matches between characters. */
function goReplace(s: string, from: string, to: string, n: number): string {
  if (n === 0 || from === to) return s;
  if (from === '') {
    const chars = [...s];
    let out = '';
    let done = 0;
    for (let i = 0; i <= chars.length; i++) {
      if (n < 0 || done < n) {
        out += to;
        done++;
      }
      out += chars[i] ?? '';
    }
    return out;
  }
  let out = '';
  let pos = 0;
  let done = 0;
  while (n < 0 || done < n) {
    const at = s.indexOf(from, pos);
    if (at === -1) break;
    out += s.slice(pos, at) + to;
    pos = at + from.length;
    done++;
  }
  return out + s.slice(pos);
}
