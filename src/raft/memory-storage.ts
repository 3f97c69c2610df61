import { CompactedError, RaftInvariantError, SnapshotOutOfDateError, UnavailableError } from './errors.js';
import { sliceLimited } from './log-reader.js';
import type { LogReader } from './log-reader.js';
import type { Entry, HardState, NodeId, RaftSnapshot } from './types.js';

const EMPTY = new Uint8Array(0);

/**
 * The in-memory image of what the driver has persisted: a snapshot, the log
 * entries after it, and the hard state. A driver keeps one next to its WAL
 * (the WAL for durability, this for fast reads); tests use it alone.
 * Every lookup is O(1); appends are amortized O(entries appended).
 */
export class MemoryStorage implements LogReader {
  private hardState: HardState = { term: 0, vote: '', commit: 0 };
  private snap: RaftSnapshot;
  /**
   * ents[0] is a placeholder for the compaction point (the last dropped
   * entry, or the snapshot it came with): index i lives at slot i - ents[0].index.
   * The compaction point may lag the snapshot: createSnapshot() keeps entries
   * so that lagging followers can still be served from the log.
   */
  private ents: Entry[];

  constructor(snapshot?: RaftSnapshot) {
    this.snap = snapshot ?? { index: 0, term: 0, voters: [], data: EMPTY };
    this.ents = [placeholder(this.snap.index, this.snap.term)];
    if (snapshot !== undefined) this.hardState = { term: snapshot.term, vote: '', commit: snapshot.index };
  }

  /**
   * Storage for a founding member of a new cluster. The genesis membership
   * is a snapshot at index 1 (term 1) rather than a log entry: every
   * founding member holds the same one, and a member added later starts
   * empty and receives the leader's snapshot (genesis or newer), so every
   * node derives its membership from "snapshot voters + conf entries after
   * it" alike. `data` is the application's empty state image.
   */
  static bootstrap(voters: readonly NodeId[], data: Uint8Array = EMPTY): MemoryStorage {
    return new MemoryStorage({ index: 1, term: 1, voters: [...voters].sort(), data });
  }

  initialState(): { hardState: HardState; voters: readonly NodeId[] } {
    return { hardState: this.hardState, voters: this.snap.voters };
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  entries(lo: number, hi: number, maxBytes: number): readonly Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    if (lo >= hi) return [];
    return sliceLimited(this.ents, lo - offset, hi - offset, maxBytes);
  }

  term(index: number): number {
    const offset = this.offset();
    if (index < offset) throw new CompactedError(index, offset + 1);
    const e = this.ents[index - offset];
    if (e === undefined) throw new UnavailableError(index, this.lastIndex());
    return e.term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  snapshot(): RaftSnapshot {
    return this.snap;
  }

  /** Replace everything with a snapshot received from the leader (Ready.snapshot). */
  applySnapshot(snapshot: RaftSnapshot): void {
    if (snapshot.index <= this.snap.index) throw new SnapshotOutOfDateError(snapshot.index, this.snap.index);
    this.snap = snapshot;
    this.ents = [placeholder(snapshot.index, snapshot.term)];
  }

  /**
   * Record a snapshot the application took at `index` (<= applied). Entries
   * are kept; call compact() to drop them, usually leaving some behind so
   * that slightly lagging followers avoid a full snapshot transfer.
   */
  createSnapshot(index: number, voters: readonly NodeId[], data: Uint8Array): RaftSnapshot {
    if (index <= this.snap.index) throw new SnapshotOutOfDateError(index, this.snap.index);
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    this.snap = { index, term: this.term(index), voters: [...voters], data };
    return this.snap;
  }

  /** Drop entries up to and including `index`, which the stored snapshot must cover. */
  compact(index: number): void {
    const offset = this.offset();
    if (index <= offset) throw new CompactedError(index, offset + 1);
    if (index > this.snap.index) {
      throw new RaftInvariantError(`compact(${index}) beyond the snapshot at ${this.snap.index}`);
    }
    const e = this.ents[index - offset] as Entry;
    const kept = this.ents.slice(index - offset);
    kept[0] = placeholder(e.index, e.term);
    this.ents = kept;
  }

  /**
   * Append entries persisted from a Ready. An entry at index i replaces the
   * stored entry at i and drops everything after it (the leader overwrote a
   * conflicting suffix). Entries at or before the compaction point are skipped.
   */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const offset = this.offset();
    const lastNew = first.index + entries.length - 1;
    if (lastNew <= offset) return;
    const from = first.index <= offset ? offset + 1 - first.index : 0;
    const start = first.index + from;
    if (start > this.lastIndex() + 1) {
      throw new RaftInvariantError(`append at ${start} leaves a gap after ${this.lastIndex()}`);
    }
    this.ents.length = start - offset;
    for (let i = from; i < entries.length; i++) this.ents.push(entries[i] as Entry);
  }

  private offset(): number {
    return (this.ents[0] as Entry).index;
  }
}

function placeholder(index: number, term: number): Entry {
  return { term, index, kind: 'normal', data: EMPTY };
}
