import { CairnError } from '../../src/util/errors.js';

/**
 * The slice of the etcd v2 keyspace the cluster tests exercise, one operation per HTTP request:
 * `read` is `GET ?quorum=true`, `write` is `PUT value=`, `cas` is `PUT prevValue=&value=`, `delete` is `DELETE`.
 */
export interface KvInputs {
  read: { key: string };
  write: { key: string; value: string };
  cas: { key: string; expected: string; value: string };
  delete: { key: string };
}

/** Outcomes as etcd v2 reports them: error 100 is `notFound`, error 101 is `compareFailed`. */
export interface KvOutputs {
  read: { status: 'ok'; value: string } | { status: 'notFound' };
  write: { status: 'ok' };
  cas: { status: 'ok' } | { status: 'compareFailed' } | { status: 'notFound' };
  delete: { status: 'ok' } | { status: 'notFound' };
}

export type KvOpName = keyof KvInputs;

interface OperationOf<K extends KvOpName> {
  /** Only for messages; the checker does not need clients to be sequential. */
  clientId: string | number;
  op: K;
  input: KvInputs[K];
  /** Any monotonic clock, one unit for the whole history (HistoryRecorder uses performance.now() milliseconds). */
  invokeTime: number;
  /**
   * Absent or undefined: the outcome is unknown (timeout, connection lost). The operation may have taken effect
   * at any moment after invokeTime, or never; its output is ignored.
   */
  returnTime?: number | undefined;
  /** Required when returnTime is set. */
  output?: KvOutputs[K] | undefined;
}

export type KvOperation = { [K in KvOpName]: OperationOf<K> }[KvOpName];

export class InvalidHistoryError extends CairnError {
  constructor(message: string) {
    super('CAIRN_HISTORY_INVALID', message);
  }
}

function formatTime(t: number | undefined): string {
  return t === undefined ? '?' : Number.isInteger(t) ? String(t) : t.toFixed(3);
}

function formatOutput(op: KvOperation): string {
  if (op.returnTime === undefined || op.output === undefined) return 'unknown';
  const out = op.output;
  return out.status === 'ok' && 'value' in out ? JSON.stringify(out.value) : out.status;
}

/** One line per operation: `client 3 cas "k" "a"→"b" ⇒ compareFailed [12.000, 13.500]`. */
export function formatOperation(op: KvOperation): string {
  let call: string;
  switch (op.op) {
    case 'read':
      call = `read ${JSON.stringify(op.input.key)}`;
      break;
    case 'write':
      call = `write ${JSON.stringify(op.input.key)} ${JSON.stringify(op.input.value)}`;
      break;
    case 'cas':
      call = `cas ${JSON.stringify(op.input.key)} ${JSON.stringify(op.input.expected)}→${JSON.stringify(op.input.value)}`;
      break;
    case 'delete':
      call = `delete ${JSON.stringify(op.input.key)}`;
      break;
  }
  return `client ${op.clientId} ${call} ⇒ ${formatOutput(op)} [${formatTime(op.invokeTime)}, ${formatTime(op.returnTime)}]`;
}
