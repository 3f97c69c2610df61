import { sliceLimited } from './log-reader.js';
import type { Entry, RaftSnapshot } from './types.js';

/**
 * Entries (and possibly an incoming snapshot) the core has accepted but the
 * driver has not yet persisted. They sit in front of the LogReader: index
 * `offset` is entries[0], and anything at or after `offset` here overrides
 * what storage still holds (a conflicting suffix is being overwritten).
 */
export class Unstable {
  snapshot: RaftSnapshot | undefined;
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** First index if an unstable snapshot decides it. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot === undefined ? undefined : this.snapshot.index;
  }

  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      return this.snapshot !== undefined && this.snapshot.index === index ? this.snapshot.term : undefined;
    }
    return this.entries[index - this.offset]?.term;
  }

  /** Entries up to `index` are durable, unless they were overwritten since (term differs). */
  stableTo(index: number, term: number): void {
    if (index < this.offset || this.maybeTerm(index) !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.index === index) this.snapshot = undefined;
  }

  restore(snapshot: RaftSnapshot): void {
    this.offset = snapshot.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  /** Append `ents` (contiguous), dropping whatever they overwrite. */
  truncateAndAppend(ents: readonly Entry[]): void {
    const first = ents[0];
    if (first === undefined) return;
    const after = first.index;
    if (after === this.offset + this.entries.length) {
      // The common case: a plain append.
    } else if (after <= this.offset) {
      // Replaces every unstable entry; the log reader's entries >= after are now stale too.
      this.offset = after;
      this.entries = [];
    } else {
      this.entries.length = after - this.offset;
    }
    for (const e of ents) this.entries.push(e);
  }

  /** Entries [lo, hi) up to about maxBytes; the caller guarantees offset <= lo <= hi <= last + 1. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    return sliceLimited(this.entries, lo - this.offset, hi - this.offset, maxBytes);
  }
}
