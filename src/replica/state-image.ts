import { CairnError } from '../util/errors.js';
import type { NodeId } from '../raft/types.js';
import type { MemberRecord } from './members.js';

/*
 * A replica's snapshot data: u32 header length | header JSON | store image.
 * The store image is V2Store.save() as it is, so a 10 MB keyspace is not
 * re-encoded (or base64-inflated) to sit next to the member list.
 */

const VERSION = 1;

export interface StateImage {
  readonly members: readonly MemberRecord[];
  /** Ids removed from the cluster; absent in images written before runtime membership. */
  readonly removed?: readonly NodeId[];
  readonly store: Uint8Array;
}

export class StateImageError extends CairnError {
  constructor(message: string) {
    super('CAIRN_REPLICA_IMAGE', `replica snapshot data is not readable: ${message}`);
  }
}

export function encodeImage(image: StateImage): Uint8Array {
  const removed = image.removed === undefined || image.removed.length === 0 ? {} : { removed: image.removed };
  const header = Buffer.from(JSON.stringify({ version: VERSION, members: image.members, ...removed }), 'utf8');
  const out = Buffer.allocUnsafe(4 + header.length + image.store.byteLength);
  out.writeUInt32LE(header.length, 0);
  header.copy(out, 4);
  out.set(image.store, 4 + header.length);
  return out;
}

export function decodeImage(data: Uint8Array): StateImage {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 4) throw new StateImageError(`only ${buf.length} bytes`);
  const headerLength = buf.readUInt32LE(0);
  if (4 + headerLength > buf.length) throw new StateImageError('header runs past the end');
  let header: { version?: unknown; members?: unknown; removed?: unknown };
  try {
    header = JSON.parse(buf.toString('utf8', 4, 4 + headerLength)) as typeof header;
  } catch (err) {
    throw new StateImageError((err as Error).message);
  }
  if (header.version !== VERSION) throw new StateImageError(`unknown version ${String(header.version)}`);
  if (!Array.isArray(header.members)) throw new StateImageError('no member list');
  const removed = Array.isArray(header.removed) ? (header.removed as NodeId[]) : [];
  return { members: header.members as MemberRecord[], removed, store: buf.subarray(4 + headerLength) };
}
