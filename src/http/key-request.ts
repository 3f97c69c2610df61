import type { V2Command } from '../v2store/command.js';
import { ErrorCode, requestError } from '../v2store/errors.js';
import { formValue, type FormValues } from './form.js';

/** What a /v2/keys request asks for, once validated. */
export type KeyRequest =
  | { readonly kind: 'get'; readonly path: string; readonly recursive: boolean; readonly sorted: boolean; readonly quorum: boolean; readonly head: boolean }
  | {
      readonly kind: 'watch';
      readonly path: string;
      readonly recursive: boolean;
      readonly stream: boolean;
      readonly waitIndex: number;
    }
  | { readonly kind: 'write'; readonly command: V2Command; readonly noValueOnSuccess: boolean };

const UINT64_MAX = 18446744073709551615n;
// Past this a deadline is not representable as a date; etcd overflows there.
const MAX_EXPIRE_AT = 8.64e15;

/** strconv.ParseUint(s, 10, 64): digits only, no sign, within 64 bits. */
function parseUint(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const big = BigInt(text);
  return big > UINT64_MAX ? undefined : Number(big);
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** strconv.ParseBool. */
function parseBool(text: string): boolean | undefined {
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  return undefined;
}

function uintField(form: FormValues, name: string): number {
  const values = form.get(name);
  if (values === undefined) return 0;
  const parsed = parseUint(values[0] as string);
  if (parsed === undefined) throw requestError(ErrorCode.IndexNaN, `invalid value for "${name}"`);
  return parsed;
}

function boolField(form: FormValues, name: string, cause = `invalid value for "${name}"`): boolean {
  const values = form.get(name);
  if (values === undefined) return false;
  const parsed = parseBool(values[0] as string);
  if (parsed === undefined) throw requestError(ErrorCode.InvalidField, cause);
  return parsed;
}

/**
 * Validates a keys request in the order etcd does, so the first error
 * reported for a request with several problems is the same one.
 */
export function parseKeyRequest(method: string, keyPath: string, form: FormValues, now: number): KeyRequest {
  const prevIndex = uintField(form, 'prevIndex');
  const waitIndex = uintField(form, 'waitIndex');
  const recursive = boolField(form, 'recursive');
  const sorted = boolField(form, 'sorted');
  const wait = boolField(form, 'wait');
  const dir = boolField(form, 'dir');
  const quorum = boolField(form, 'quorum');
  const stream = boolField(form, 'stream');

  if (wait && method !== 'GET') {
    throw requestError(ErrorCode.InvalidField, '"wait" can only be used with GET requests');
  }
  const prevValue = formValue(form, 'prevValue');
  if (form.has('prevValue') && prevValue === '') {
    throw requestError(ErrorCode.PrevValueRequired, '"prevValue" cannot be empty');
  }
  const noValueOnSuccess = boolField(form, 'noValueOnSuccess');

  let ttl: number | undefined;
  if (formValue(form, 'ttl') !== '') {
    ttl = parseUint(formValue(form, 'ttl'));
    if (ttl === undefined) throw requestError(ErrorCode.TtlNaN, 'invalid value for "ttl"');
  }
  let prevExist: boolean | undefined;
  if (form.has('prevExist')) prevExist = boolField(form, 'prevExist', 'invalid value for prevExist');
  let refresh = false;
  if (form.has('refresh')) {
    refresh = boolField(form, 'refresh', 'invalid value for refresh');
    if (refresh) {
      if (form.has('value') && formValue(form, 'value') !== '') {
        throw requestError(ErrorCode.RefreshValue, 'A value was provided on a refresh');
      }
      if (ttl === undefined) throw requestError(ErrorCode.RefreshTtlRequired, 'No TTL value set');
    }
  }

  let expireAt = 0;
  if (ttl !== undefined) {
    expireAt = now + ttl * 1000;
    if (expireAt > MAX_EXPIRE_AT) throw requestError(ErrorCode.TtlNaN, 'invalid value for "ttl"');
  }
  const value = formValue(form, 'value');

  switch (method) {
    case 'GET':
    case 'HEAD':
      // etcd turns a quorum GET into a read through consensus before it looks
      // at `wait`, so quorum=true&wait=true is a plain read there, and here.
      if (wait && !quorum) return { kind: 'watch', path: keyPath, recursive, stream, waitIndex };
      return { kind: 'get', path: keyPath, recursive, sorted, quorum, head: method === 'HEAD' };
    case 'POST':
      return { kind: 'write', noValueOnSuccess, command: { op: 'create', path: keyPath, value, dir, unique: true, expireAt } };
    case 'DELETE':
      if (prevIndex > 0 || prevValue !== '') {
        return { kind: 'write', noValueOnSuccess, command: { op: 'compareAndDelete', path: keyPath, prevValue, prevIndex } };
      }
      return { kind: 'write', noValueOnSuccess, command: { op: 'delete', path: keyPath, dir, recursive } };
    default: {
      // PUT, the mapping of etcd's applier: prevExist picks update or create,
      // a prevValue/prevIndex makes it a compare-and-swap, otherwise a set.
      let command: V2Command;
      if (prevExist === true) {
        command =
          prevIndex === 0 && prevValue === ''
            ? { op: 'update', path: keyPath, value, expireAt, refresh }
            : { op: 'compareAndSwap', path: keyPath, prevValue, prevIndex, value, expireAt, refresh };
      } else if (prevExist === false) {
        command = { op: 'create', path: keyPath, value, dir, unique: false, expireAt };
      } else if (prevIndex > 0 || prevValue !== '') {
        command = { op: 'compareAndSwap', path: keyPath, prevValue, prevIndex, value, expireAt, refresh };
      } else {
        command = { op: 'set', path: keyPath, value, dir, expireAt, refresh };
      }
      return { kind: 'write', noValueOnSuccess, command };
    }
  }
}
