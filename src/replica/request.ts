import type { V2Command } from '../v2store/command.js';
import { CairnError } from '../util/errors.js';
import type { MemberAttributes } from './members.js';

/**
 * The payload of a normal log entry in a replicated store. The request id
 * lets the member that proposed it find the waiting client when the entry
 * is applied there; every other member applies it the same way and ignores
 * the id. An empty payload is the no-op a new leader appends.
 */
export type ReplicaRequest =
  | { readonly id: string; readonly command: V2Command }
  | { readonly id: string; readonly publish: MemberAttributes };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class MalformedEntryError extends CairnError {
  constructor(index: number, detail: string) {
    super('CAIRN_REPLICA_ENTRY', `log entry ${index} is not a replica request: ${detail}`);
  }
}

export function encodeRequest(request: ReplicaRequest): Uint8Array {
  return encoder.encode(
    'command' in request ? JSON.stringify({ r: request.id, c: request.command }) : JSON.stringify({ r: request.id, p: request.publish }),
  );
}

export function decodeRequest(index: number, data: Uint8Array): ReplicaRequest {
  let parsed: { r?: unknown; c?: unknown; p?: unknown };
  try {
    parsed = JSON.parse(decoder.decode(data)) as typeof parsed;
  } catch (err) {
    throw new MalformedEntryError(index, (err as Error).message);
  }
  if (typeof parsed.r !== 'string') throw new MalformedEntryError(index, 'no request id');
  if (typeof parsed.c === 'object' && parsed.c !== null) return { id: parsed.r, command: parsed.c as V2Command };
  if (typeof parsed.p === 'object' && parsed.p !== null) return { id: parsed.r, publish: parsed.p as MemberAttributes };
  throw new MalformedEntryError(index, 'neither a command nor a publish');
}
