import type { ProgressState, ProgressStatus } from './types.js';

/**
 * Bounded window of append messages in flight to one follower, as a ring of
 * their last indexes. Acks free everything up to the acked index.
 */
export class Inflights {
  private readonly buf: number[];
  private start = 0;
  count = 0;

  constructor(readonly capacity: number) {
    this.buf = new Array<number>(capacity).fill(0);
  }

  full(): boolean {
    return this.count >= this.capacity;
  }

  add(lastIndex: number): void {
    if (this.full()) return;
    this.buf[(this.start + this.count) % this.capacity] = lastIndex;
    this.count++;
  }

  freeLE(index: number): void {
    while (this.count > 0 && (this.buf[this.start] as number) <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
  }

  freeFirstOne(): void {
    if (this.count === 0) return;
    this.start = (this.start + 1) % this.capacity;
    this.count--;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}

/**
 * The leader's view of one follower. `probe`: send one append at a time
 * until the follower's position is found; `replicate`: stream appends
 * optimistically, up to the inflight window; `snapshot`: a snapshot is in
 * transit, send nothing until it is reported.
 */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In `snapshot` state: index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Heard from within the current check-quorum period. */
  recentActive = false;
  /** In `probe` state: an append is outstanding, wait for its answer or a heartbeat. */
  probeSent = false;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(index: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = index;
  }

  /** An ack for `index`; returns whether it taught us anything new. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * A rejection of the append after `rejected`. `matchHint` is the highest
   * index that may still match. Returns false for stale rejections.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      // Anything at or below match was acked already: the rejection is stale.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe only the latest probe's answer counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  /** Book-keeping after sending an append carrying entries up to `lastIndex` (or none). */
  sentAppend(entryCount: number, lastIndex: number): void {
    if (this.state === 'replicate') {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  status(): ProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      recentActive: this.recentActive,
      pendingSnapshot: this.pendingSnapshot,
      inflight: this.inflights.count,
    };
  }
}
