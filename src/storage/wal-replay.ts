import { join } from 'node:path';
import { WalCorruptError } from './errors.js';
import type { HardState, LogEntry, SnapshotMeta } from './types.js';
import type { WalRecord } from './wal-record.js';
import type { Segment } from './wal-segment.js';

/** What replaying every segment yields; `open` turns it into a WalState and the writer's starting point. */
export interface LoadedState {
  readonly entries: LogEntry[];
  readonly lastIndex: number;
  readonly hardState: HardState | undefined;
  readonly marker: SnapshotMeta | undefined;
  readonly metadata: Uint8Array | undefined;
  readonly markerSegment: Segment | undefined;
}

/** Replays records in file order into the state `open` returns. */
export class StateLoader {
  private readonly dir: string;
  private readonly entries: LogEntry[] = [];
  /** Segment of each entry, only for naming the file in an error. */
  private readonly entrySegments: Segment[] = [];
  private hardState: HardState | undefined;
  private marker: SnapshotMeta | undefined;
  private metadata: Uint8Array | undefined;
  private markerSegment: Segment | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  apply(record: WalRecord, seg: Segment): void {
    switch (record.type) {
      case 'entry': {
        const { index } = record.entry;
        seg.maxEntryIndex = Math.max(seg.maxEntryIndex, index);
        const keep = this.firstPositionAtOrAbove(index);
        this.entries.length = keep;
        this.entrySegments.length = keep;
        this.entries.push(record.entry);
        this.entrySegments.push(seg);
        break;
      }
      case 'hardState':
        this.hardState = record.hardState;
        break;
      case 'snapshot':
        this.marker = record.snapshot;
        this.markerSegment = seg;
        break;
      case 'metadata':
        this.metadata = record.data;
        break;
    }
  }

  finish(): LoadedState {
    const from = this.marker?.index ?? 0;
    const start = this.firstPositionAtOrAbove(from + 1);
    const entries = this.entries.slice(start);
    const all = this.entries;
    const lastIndex = all.length === 0 ? 0 : (all[all.length - 1] as LogEntry).index;
    let expected = from + 1;
    for (let k = 0; k < entries.length; k++) {
      const entry = entries[k] as LogEntry;
      if (entry.index !== expected) {
        const seg = this.entrySegments[start + k] as Segment;
        throw new WalCorruptError(join(this.dir, seg.name), 0, `entries jump from ${expected - 1} to ${entry.index}`);
      }
      expected++;
    }
    return {
      entries,
      lastIndex,
      hardState: this.hardState,
      marker: this.marker,
      metadata: this.metadata,
      markerSegment: this.markerSegment,
    };
  }

  /** Entries are strictly increasing by index; binary search for the cut point. */
  private firstPositionAtOrAbove(index: number): number {
    let lo = 0;
    let hi = this.entries.length;
    if (hi === 0 || (this.entries[hi - 1] as LogEntry).index < index) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as LogEntry).index < index) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
