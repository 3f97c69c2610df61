import { RaftInvariantError } from './errors.js';
import type { ConfChange, NodeId } from './types.js';

const NODE_ID = /^[0-9a-f]{16}$/;

export function isNodeId(id: string): id is NodeId {
  return NODE_ID.test(id);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Payload of a 'conf' entry: `add:<id>` / `remove:<id>` in ASCII, small and readable in WAL dumps. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(`${cc.type}:${cc.id}`);
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const text = decoder.decode(data);
  const colon = text.indexOf(':');
  const type = text.slice(0, colon);
  const id = text.slice(colon + 1);
  if ((type !== 'add' && type !== 'remove') || !isNodeId(id)) {
    throw new RaftInvariantError(`malformed conf change entry ${JSON.stringify(text)}`);
  }
  return { type, id };
}

/** Voters after applying `cc`; idempotent, so replaying a change after a restart is harmless. */
export function applyToVoters(voters: readonly NodeId[], cc: ConfChange): NodeId[] {
  const set = new Set(voters);
  if (cc.type === 'add') set.add(cc.id);
  else set.delete(cc.id);
  return [...set].sort();
}
