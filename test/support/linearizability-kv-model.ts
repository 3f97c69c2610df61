import type { SearchOp } from './linearizability-search.js';
import { InvalidHistoryError, formatOperation, type KvOperation } from './linearizability-types.js';

/**
 * The etcd v2 model for one key, compiled for the search: a state is the interned id of the key's value,
 * with 0 meaning "no such key". Every operation touches exactly one key, so keys are checked one at a time
 * (P-compositionality, Horn & Kroening 2015): a history is linearizable iff each key's sub-history is.
 */
export const ABSENT = 0;
const ILLEGAL = -1;

export interface KeyHistory {
  key: string;
  /** The key's operations, minus reads whose outcome is unknown (they constrain nothing). */
  ops: KvOperation[];
  /** Search form of `ops`, with recorded outcomes. */
  search: SearchOp[];
  /** Search form of each op as if its outcome were unknown, used to cut a history at a point in time. */
  searchUnknown: SearchOp[];
  initialState: number;
  initialValue: string | undefined;
}

/**
 * Values no operation ever tests (no read returned them, no compare-and-swap expected them) all behave alike in
 * every step, so they share one state. This is exact, not a heuristic, and it collapses the many states a search
 * would otherwise tell apart by values nobody looked at.
 */
const UNTESTED = 1;

class ValueIds {
  private readonly ids = new Map<string, number>();

  constructor(private readonly tested: ReadonlySet<string>) {}

  id(value: string): number {
    if (!this.tested.has(value)) return UNTESTED;
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.ids.size + 2;
      this.ids.set(value, id);
    }
    return id;
  }
}

function testedValues(ops: readonly KvOperation[]): Set<string> {
  const tested = new Set<string>();
  for (const op of ops) {
    if (op.op === 'cas') tested.add(op.input.expected);
    else if (op.op === 'read' && op.output?.status === 'ok') tested.add(op.output.value);
  }
  return tested;
}

const identity = (s: number): number => s;
const whenAbsent = (s: number): number => (s === ABSENT ? s : ILLEGAL);

function validate(op: KvOperation, index: number): void {
  const where = `history[${index}] (${formatOperation(op)})`;
  if (!['read', 'write', 'cas', 'delete'].includes(op.op)) throw new InvalidHistoryError(`${where}: unknown op`);
  if (typeof op.input?.key !== 'string') throw new InvalidHistoryError(`${where}: input.key must be a string`);
  if (!Number.isFinite(op.invokeTime)) throw new InvalidHistoryError(`${where}: invokeTime must be a finite number`);
  if (op.returnTime !== undefined) {
    if (!Number.isFinite(op.returnTime) || op.returnTime < op.invokeTime) {
      throw new InvalidHistoryError(`${where}: returnTime must be a finite number not before invokeTime`);
    }
    if (op.output === undefined) throw new InvalidHistoryError(`${where}: a returned operation needs an output`);
    const allowed = {
      read: ['ok', 'notFound'],
      write: ['ok'],
      cas: ['ok', 'compareFailed', 'notFound'],
      delete: ['ok', 'notFound'],
    }[op.op];
    if (!allowed.includes(op.output.status)) throw new InvalidHistoryError(`${where}: ${op.op} cannot answer ${op.output.status}`);
    if (op.op === 'read' && op.output.status === 'ok' && typeof op.output.value !== 'string') {
      throw new InvalidHistoryError(`${where}: a successful read needs output.value`);
    }
  }
}

function stepUnknown(op: KvOperation, ids: ValueIds): (s: number) => number {
  switch (op.op) {
    case 'read':
      return identity;
    case 'write': {
      const v = ids.id(op.input.value);
      return () => v;
    }
    case 'cas': {
      const e = ids.id(op.input.expected);
      const v = ids.id(op.input.value);
      return (s) => (s === e ? v : s);
    }
    case 'delete':
      return () => ABSENT;
  }
}

/** Known operations that leave the state as they found it. */
function isObserver(op: KvOperation): boolean {
  return op.op === 'read' || (op.op !== 'write' && op.output?.status !== 'ok');
}

/** Unknown operations with the same twin key have the same effect in every state. */
function twinKey(op: KvOperation, ids: ValueIds): string {
  switch (op.op) {
    case 'read':
      return 'read';
    case 'write':
      return `write ${ids.id(op.input.value)}`;
    case 'cas':
      return `cas ${ids.id(op.input.expected)} ${ids.id(op.input.value)}`;
    case 'delete':
      return 'delete';
  }
}

function stepKnown(op: KvOperation, ids: ValueIds): (s: number) => number {
  switch (op.op) {
    case 'read': {
      if (op.output?.status !== 'ok') return whenAbsent;
      const v = ids.id(op.output.value);
      return (s) => (s === v ? s : ILLEGAL);
    }
    case 'write':
      return stepUnknown(op, ids);
    case 'cas': {
      const e = ids.id(op.input.expected);
      const v = ids.id(op.input.value);
      switch (op.output?.status) {
        case 'ok':
          return (s) => (s === e ? v : ILLEGAL);
        case 'compareFailed':
          return (s) => (s !== ABSENT && s !== e ? s : ILLEGAL);
        default:
          return whenAbsent;
      }
    }
    case 'delete':
      return op.output?.status === 'ok' ? (s) => (s !== ABSENT ? ABSENT : ILLEGAL) : whenAbsent;
  }
}

/**
 * Splits a history by key. Keys not in `initialValues` start absent, as in a fresh store.
 * Throws InvalidHistoryError for malformed entries rather than guessing what they meant.
 */
export function partitionByKey(
  history: readonly KvOperation[],
  initialValues: Readonly<Record<string, string>> = {},
): Map<string, KeyHistory> {
  const byKey = new Map<string, KvOperation[]>();
  history.forEach((op, index) => {
    validate(op, index);
    const unknown = op.returnTime === undefined;
    if (unknown && op.op === 'read') return;
    let ops = byKey.get(op.input.key);
    if (ops === undefined) {
      ops = [];
      byKey.set(op.input.key, ops);
    }
    ops.push(op);
  });
  const result = new Map<string, KeyHistory>();
  for (const [key, ops] of byKey) {
    const ids = new ValueIds(testedValues(ops));
    const initial = initialValues[key];
    const initialState = initial === undefined ? ABSENT : ids.id(initial);
    const search: SearchOp[] = [];
    const searchUnknown: SearchOp[] = [];
    for (const op of ops) {
      const unknown: SearchOp = { invoke: op.invokeTime, ret: Infinity, step: stepUnknown(op, ids), twin: twinKey(op, ids) };
      searchUnknown.push(unknown);
      search.push(
        op.returnTime === undefined ? unknown : { invoke: op.invokeTime, ret: op.returnTime, step: stepKnown(op, ids), observer: isObserver(op) },
      );
    }
    result.set(key, { key, ops, search, searchUnknown, initialState, initialValue: initial });
  }
  return result;
}
