import type { V2Command } from '../v2store/command.js';
import { CairnError } from '../util/errors.js';
import type { NodeId } from '../raft/types.js';
import type { MemberAttributes } from './members.js';

/** PUT /v2/members/<id>: new peer URLs for a member (no Raft voter change, so a normal entry). */
export interface MemberUpdate {
  readonly id: NodeId;
  readonly peerURLs: readonly string[];
}

/**
 * The payload of a normal log entry in a replicated store. The request id
 * lets the member that proposed it find the waiting client when the entry
 * is applied there; every other member applies it the same way and ignores
 * the id. An empty payload is the no-op a new leader appends.
 */
export type ReplicaRequest =
  | { readonly id: string; readonly command: V2Command }
  | { readonly id: string; readonly publish: MemberAttributes }
  | { readonly id: string; readonly update: MemberUpdate };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class MalformedEntryError extends CairnError {
  constructor(index: number, detail: string) {
    super('CAIRN_REPLICA_ENTRY', `log entry ${index} is not a replica request: ${detail}`);
  }
}

export function encodeRequest(request: ReplicaRequest): Uint8Array {
  if ('command' in request) return encoder.encode(JSON.stringify({ r: request.id, c: request.command }));
  if ('publish' in request) return encoder.encode(JSON.stringify({ r: request.id, p: request.publish }));
  return encoder.encode(JSON.stringify({ r: request.id, u: request.update }));
}

export function decodeRequest(index: number, data: Uint8Array): ReplicaRequest {
  let parsed: { r?: unknown; c?: unknown; p?: unknown; u?: unknown };
  try {
    parsed = JSON.parse(decoder.decode(data)) as typeof parsed;
  } catch (err) {
    throw new MalformedEntryError(index, (err as Error).message);
  }
  if (typeof parsed.r !== 'string') throw new MalformedEntryError(index, 'no request id');
  if (typeof parsed.c === 'object' && parsed.c !== null) return { id: parsed.r, command: parsed.c as V2Command };
  if (typeof parsed.p === 'object' && parsed.p !== null) return { id: parsed.r, publish: parsed.p as MemberAttributes };
  if (typeof parsed.u === 'object' && parsed.u !== null) return { id: parsed.r, update: parsed.u as MemberUpdate };
  throw new MalformedEntryError(index, 'neither a command, a publish nor a member update');
}
