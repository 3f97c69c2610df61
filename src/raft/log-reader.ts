import type { Entry, HardState, NodeId, RaftSnapshot } from './types.js';

/**
 * The core's read-only view of durable state (etcd calls it Storage). The
 * driver writes to it after persisting each Ready; the core only reads.
 *
 * Index conventions: entries (firstIndex-1, lastIndex] are available;
 * term(firstIndex-1) is the snapshot's term. Out-of-range reads throw
 * CompactedError (too old) or UnavailableError (too new).
 */
export interface LogReader {
  /** Durable term/vote/commit and the voters as of the stored snapshot. */
  initialState(): { hardState: HardState; voters: readonly NodeId[] };
  /** Entries [lo, hi), truncated to about maxBytes but never empty when lo < hi. */
  entries(lo: number, hi: number, maxBytes: number): readonly Entry[];
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** The newest snapshot; may throw SnapshotTemporarilyUnavailableError. */
  snapshot(): RaftSnapshot;
}

/** Per-entry overhead counted on top of the payload, so that empty entries still weigh something. */
const ENTRY_OVERHEAD_BYTES = 16;

export function entrySize(e: Entry): number {
  return e.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

/** Longest prefix of `ents` within maxBytes; always keeps the first entry so progress is possible. */
export function limitSize<T extends Entry>(ents: readonly T[], maxBytes: number): readonly T[] {
  if (ents.length <= 1) return ents;
  let size = entrySize(ents[0] as T);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n] as T);
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/**
 * Copy of arr[from, to) cut to about maxBytes (at least one element), reading
 * only what is returned: a follower far behind must not cost a copy of the
 * whole gap per message.
 */
export function sliceLimited<T extends Entry>(arr: readonly T[], from: number, to: number, maxBytes: number): T[] {
  if (from >= to) return [];
  let end = from + 1;
  let size = entrySize(arr[from] as T);
  while (end < to) {
    size += entrySize(arr[end] as T);
    if (size > maxBytes) break;
    end++;
  }
  return arr.slice(from, end);
}
