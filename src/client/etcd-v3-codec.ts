import { EtcdV3ProtocolError } from './etcd-v3-errors.js';

/**
 * The JSON shapes of etcd's gRPC gateway: bytes are base64, int64 fields are
 * decimal strings, and fields at their default value (0, "", PUT) are left
 * out altogether.
 */

/** A key-value as stored in etcd v3, with keys and values decoded as UTF-8. */
export interface V3KeyValue {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  /** The lease ID as etcd prints it (an int64, so kept as a string); "0" when there is none. */
  readonly lease: string;
}

export interface V3Event {
  readonly type: 'put' | 'delete';
  readonly kv: V3KeyValue;
}

export interface V3Header {
  readonly revision: number;
  readonly memberId: string;
}

export function encodeBytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

export function decodeBytes(base64: unknown): string {
  return typeof base64 === 'string' ? Buffer.from(base64, 'base64').toString('utf8') : '';
}

/**
 * An int64 field. Revisions stay far below 2^53 in any real cluster; a value
 * that does not fit is a protocol error rather than a silently rounded index.
 */
export function int64(value: unknown, what: string): number {
  if (value === undefined) return 0;
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new EtcdV3ProtocolError(`${what} is not an integer etcd would send: ${JSON.stringify(value)}`);
  return n;
}

/** An int64 kept as text (lease IDs use all 64 bits). */
export function int64Text(value: unknown): string {
  if (value === undefined) return '0';
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  throw new EtcdV3ProtocolError(`not an int64: ${JSON.stringify(value)}`);
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new EtcdV3ProtocolError(`${what} is not an object`);
  return value as Record<string, unknown>;
}

export function parseHeader(value: unknown): V3Header {
  if (value === undefined) return { revision: 0, memberId: '' };
  const h = record(value, 'header');
  return { revision: int64(h['revision'], 'header.revision'), memberId: typeof h['member_id'] === 'string' ? h['member_id'] : '' };
}

export function parseKeyValue(value: unknown): V3KeyValue {
  const kv = record(value, 'kv');
  return {
    key: decodeBytes(kv['key']),
    value: decodeBytes(kv['value']),
    createRevision: int64(kv['create_revision'], 'kv.create_revision'),
    modRevision: int64(kv['mod_revision'], 'kv.mod_revision'),
    version: int64(kv['version'], 'kv.version'),
    lease: int64Text(kv['lease']),
  };
}

export function parseKeyValues(value: unknown): V3KeyValue[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new EtcdV3ProtocolError('kvs is not an array');
  return value.map(parseKeyValue);
}

export function parseEvent(value: unknown): V3Event {
  const ev = record(value, 'event');
  const type = ev['type'];
  if (type !== undefined && type !== 'PUT' && type !== 'DELETE') throw new EtcdV3ProtocolError(`unknown event type ${JSON.stringify(type)}`);
  return { type: type === 'DELETE' ? 'delete' : 'put', kv: parseKeyValue(ev['kv']) };
}

/** One message of a watch stream. */
export interface V3WatchMessage {
  readonly header: V3Header;
  readonly created: boolean;
  readonly canceled: boolean;
  /** Set on a cancel because the start revision is older than the compacted history. */
  readonly compactRevision: number;
  readonly cancelReason: string;
  readonly events: readonly V3Event[];
}

export function parseWatchMessage(value: unknown): V3WatchMessage {
  const r = record(value, 'watch response');
  const events = r['events'];
  if (events !== undefined && !Array.isArray(events)) throw new EtcdV3ProtocolError('watch events is not an array');
  return {
    header: parseHeader(r['header']),
    created: r['created'] === true,
    canceled: r['canceled'] === true,
    compactRevision: int64(r['compact_revision'], 'compact_revision'),
    cancelReason: typeof r['cancel_reason'] === 'string' ? r['cancel_reason'] : '',
    events: (events ?? []).map(parseEvent),
  };
}
