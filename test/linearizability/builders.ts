import type { KvOperation } from '../support/linearizability.js';

// Terse builders for hand-written histories. `end` undefined means the outcome is unknown.

export function rd(clientId: number, key: string, start: number, end: number | undefined, value: string | null): KvOperation {
  return {
    clientId,
    op: 'read',
    input: { key },
    invokeTime: start,
    returnTime: end,
    output: end === undefined ? undefined : value === null ? { status: 'notFound' } : { status: 'ok', value },
  };
}

export function wr(clientId: number, key: string, value: string, start: number, end?: number): KvOperation {
  return { clientId, op: 'write', input: { key, value }, invokeTime: start, returnTime: end, output: end === undefined ? undefined : { status: 'ok' } };
}

export function cas(
  clientId: number,
  key: string,
  expected: string,
  value: string,
  start: number,
  end?: number,
  status: 'ok' | 'compareFailed' | 'notFound' = 'ok',
): KvOperation {
  return { clientId, op: 'cas', input: { key, expected, value }, invokeTime: start, returnTime: end, output: end === undefined ? undefined : { status } };
}

export function del(clientId: number, key: string, start: number, end?: number, status: 'ok' | 'notFound' = 'ok'): KvOperation {
  return { clientId, op: 'delete', input: { key }, invokeTime: start, returnTime: end, output: end === undefined ? undefined : { status } };
}
