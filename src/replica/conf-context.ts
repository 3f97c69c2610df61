import type { ConfChange } from '../raft/types.js';

/**
 * What a conf change entry carries besides the voter change: the id of the
 * request that proposed it (so the proposing member can answer its client)
 * and, for an addition, the new member's peer URLs, which must be known to
 * every member the moment the new voter counts.
 */
export interface ConfContext {
  readonly requestId: string;
  readonly peerURLs: readonly string[];
}

export function encodeConfContext(context: ConfContext): string {
  return JSON.stringify({ r: context.requestId, peerURLs: context.peerURLs });
}

/** Tolerant: a change without (readable) context still applies, with no URLs and nobody to answer. */
export function decodeConfContext(change: ConfChange): ConfContext {
  if (change.context === undefined) return { requestId: '', peerURLs: [] };
  try {
    const parsed = JSON.parse(change.context) as { r?: unknown; peerURLs?: unknown };
    const requestId = typeof parsed.r === 'string' ? parsed.r : '';
    const peerURLs = Array.isArray(parsed.peerURLs) ? parsed.peerURLs.filter((u): u is string => typeof u === 'string') : [];
    return { requestId, peerURLs };
  } catch {
    return { requestId: '', peerURLs: [] };
  }
}
