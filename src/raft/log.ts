import { CompactedError, RaftInvariantError, UnavailableError } from './errors.js';
import { limitSize } from './log-reader.js';
import type { LogReader } from './log-reader.js';
import type { Entry, RaftSnapshot } from './types.js';
import { Unstable } from './unstable.js';

/**
 * The log as the core sees it: durable entries from the LogReader, followed
 * (and possibly partly overridden) by unstable ones, plus the commit and
 * applied cursors. All lookups are O(1) or O(returned entries).
 */
export class RaftLog {
  readonly storage: LogReader;
  readonly unstable: Unstable;
  committed: number;
  applied: number;

  constructor(storage: LogReader) {
    this.storage = storage;
    const first = storage.firstIndex();
    this.unstable = new Unstable(storage.lastIndex() + 1);
    // Whatever was compacted away was committed and applied.
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Last index of the durable prefix (leaders only: they never hold an unstable snapshot). */
  stableLastIndex(): number {
    return this.unstable.entries.length > 0 ? this.unstable.offset - 1 : this.lastIndex();
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** Term at `index`, or undefined when it is compacted or beyond the log. */
  term(index: number): number | undefined {
    const t = this.unstable.maybeTerm(index);
    if (t !== undefined) return t;
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    // Between the dummy index and the unstable offset: storage has it.
    if (index >= this.unstable.offset) return undefined;
    return this.storage.term(index);
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up-to-date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Append entries from a leader after (prevIndex, prevTerm). Returns the
   * last index now known to match the leader, or undefined if the log does
   * not contain prevIndex with prevTerm.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new RaftInvariantError(`entry ${conflict} conflicts with the committed prefix (commit ${this.committed})`);
      }
      this.append(ents.slice(conflict - (prevIndex + 1)));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /**
   * First index in `ents` whose term differs from ours, or which we lack;
   * 0 when we already hold them all. Duplicated or reordered appends
   * therefore never truncate anything.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with its term.
   * Used on both sides of a rejected append to skip a whole conflicting
   * term at once instead of one entry per round trip. Term 0 means unknown.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; i > 0; i--) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
    return { index: 0, term: 0 };
  }

  append(ents: readonly Entry[]): number {
    const first = ents[0];
    if (first === undefined) return this.lastIndex();
    if (first.index - 1 < this.committed) {
      throw new RaftInvariantError(`append after ${first.index - 1} would truncate committed ${this.committed}`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new RaftInvariantError(`commit ${index} is beyond the last index ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  /** Leader only: advance commit to `index` if it holds an entry of the leader's own term (§5.4.2). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    if (index > this.committed || index < this.applied) {
      throw new RaftInvariantError(`applied ${index} outside [${this.applied}, ${this.committed}]`);
    }
    this.applied = index;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  hasNextCommitted(): boolean {
    return this.committed > Math.max(this.applied, this.firstIndex() - 1);
  }

  nextCommitted(maxBytes: number): readonly Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed < lo) return [];
    return this.slice(lo, this.committed + 1, maxBytes);
  }

  /** Entries from `index` to the end, up to about maxBytes. */
  entriesFrom(index: number, maxBytes: number): readonly Entry[] {
    const last = this.lastIndex();
    if (index > last) return [];
    return this.slice(index, last + 1, maxBytes);
  }

  /** Entries [lo, hi), about maxBytes; throws CompactedError below firstIndex. */
  slice(lo: number, hi: number, maxBytes: number): readonly Entry[] {
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError(lo, first);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    if (lo >= hi) return [];
    const off = this.unstable.offset;
    let out: readonly Entry[] = [];
    if (lo < off) {
      out = this.storage.entries(lo, Math.min(hi, off), maxBytes);
      // Storage stopped early (size limit): the unstable part cannot follow.
      if (out.length < Math.min(hi, off) - lo) return out;
    }
    if (hi > off) {
      const tail = this.unstable.slice(Math.max(lo, off), hi, maxBytes);
      out = out.length === 0 ? tail : limitSize([...out, ...tail], maxBytes);
    }
    return out;
  }

  snapshot(): RaftSnapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Replace the whole log by a snapshot from the leader. */
  restore(snapshot: RaftSnapshot): void {
    this.committed = snapshot.index;
    this.unstable.restore(snapshot);
  }

  unstableEntries(): readonly Entry[] {
    return this.unstable.entries.length === 0 ? [] : this.unstable.entries.slice();
  }
}
