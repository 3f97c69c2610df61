import { RaftInvariantError } from './errors.js';
import type { ConfChange, NodeId } from './types.js';

const NODE_ID = /^[0-9a-f]{16}$/;

export function isNodeId(id: string): id is NodeId {
  return NODE_ID.test(id);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Payload of a 'conf' entry: `add:<id>` / `remove:<id>` in ASCII, small and
 * readable in WAL dumps, then the context (if any) after a newline.
 */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(cc.context === undefined ? `${cc.type}:${cc.id}` : `${cc.type}:${cc.id}\n${cc.context}`);
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const text = decoder.decode(data);
  const newline = text.indexOf('\n');
  const head = newline === -1 ? text : text.slice(0, newline);
  const colon = head.indexOf(':');
  const type = head.slice(0, colon);
  const id = head.slice(colon + 1);
  if ((type !== 'add' && type !== 'remove') || !isNodeId(id)) {
    throw new RaftInvariantError(`malformed conf change entry ${JSON.stringify(text)}`);
  }
  return newline === -1 ? { type, id } : { type, id, context: text.slice(newline + 1) };
}

/** Voters after applying `cc`; idempotent, so replaying a change after a restart is harmless. */
export function applyToVoters(voters: readonly NodeId[], cc: ConfChange): NodeId[] {
  const set = new Set(voters);
  if (cc.type === 'add') set.add(cc.id);
  else set.delete(cc.id);
  return [...set].sort();
}
