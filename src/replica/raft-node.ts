import type { Logger } from '../log/logger.js';
import { decodeConfChange } from '../raft/conf-change.js';
import type { RaftCore } from '../raft/core.js';
import type { MemoryStorage } from '../raft/memory-storage.js';
import type { ConfChange, Entry, Message, NodeId, RaftSnapshot, ReadState, Ready, SoftState } from '../raft/types.js';
import type { Snapshotter } from '../storage/snapshotter.js';
import type { Wal } from '../storage/wal.js';
import { CairnError } from '../util/errors.js';

/** The state machine side of the driver. */
export interface Applier {
  /** A committed normal entry, in log order. */
  applyEntry(entry: Entry): void;
  /**
   * A committed conf entry, before the core takes it: false refuses it
   * (the member list says no), which makes it a no-op on every member.
   */
  admitConfChange(change: ConfChange): boolean;
  /** A committed conf entry, after the core has taken it. */
  applyConfChange(change: ConfChange, voters: readonly NodeId[]): void;
  /** Replace the state machine by a leader's snapshot. */
  restore(snapshot: RaftSnapshot): void;
  /** The state machine image at the applied index, for a local snapshot. */
  image(): Uint8Array;
}

export interface RaftNodeEvents {
  onSoftState(soft: SoftState): void;
  onReadStates(states: readonly ReadState[]): void;
  /** After each Ready's entries are applied. */
  onApplied(applied: number): void;
  /** Messages handed to the transport (after they were made durable). */
  onSend(messages: readonly Message[]): void;
  /** The node cannot go on (a WAL write failed, an invariant broke); it has stopped. */
  onFatal(err: Error): void;
}

export interface RaftNodeOptions {
  readonly core: RaftCore;
  readonly memory: MemoryStorage;
  readonly wal: Wal;
  readonly snapshotter: Snapshotter;
  readonly applier: Applier;
  readonly events: RaftNodeEvents;
  /** Sends Raft messages; never throws. */
  send(messages: readonly Message[]): void;
  readonly logger: Logger;
  readonly tickMs: number;
  /** Applied entries between local snapshots. */
  readonly snapshotCount: number;
  /** Entries kept in memory behind a snapshot, so slightly lagging followers need no snapshot transfer. */
  readonly catchUpEntries: number;
  /** Index of the snapshot the state machine was loaded from. */
  readonly snapshotIndex: number;
}

/**
 * The asynchronous driver around the synchronous Raft core: a ticker, and a
 * loop that takes each Ready and does its duties in the order the core
 * requires — persist (snapshot file, then WAL: marker, entries, hard state;
 * fsync when mustSync), then send, then apply, then advance. Inputs keep
 * arriving while a Ready is being persisted; the core collects their
 * output for the next one.
 */
export class RaftNode {
  readonly #o: RaftNodeOptions;
  readonly #core: RaftCore;
  #applied: number;
  #snapshotIndex: number;
  #ticker: NodeJS.Timeout | undefined;
  #running = false;
  #stopped = false;
  #idle: (() => void)[] = [];

  constructor(options: RaftNodeOptions) {
    this.#o = options;
    this.#core = options.core;
    this.#applied = options.snapshotIndex;
    this.#snapshotIndex = options.snapshotIndex;
  }

  get core(): RaftCore {
    return this.#core;
  }

  get applied(): number {
    return this.#applied;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Applies what the log already holds as committed (a restart's replay), before any peer is heard. */
  async replay(): Promise<void> {
    const target = this.#core.status().commit;
    this.#running = true;
    try {
      while (this.#applied < target && !this.#stopped && this.#core.hasReady()) {
        await this.#handle(this.#core.ready());
      }
    } finally {
      this.#running = false;
    }
  }

  startTicker(): void {
    if (this.#ticker !== undefined || this.#stopped) return;
    this.#ticker = setInterval(() => this.input(() => this.#core.tick()), this.#o.tickMs);
  }

  /** Runs an input against the core (tick, step, propose, ...) and processes whatever Ready follows. */
  input<T>(fn: () => T): T {
    if (this.#stopped) throw new NodeStoppedError();
    const result = fn();
    this.#kick();
    return result;
  }

  /** Peer messages: a bad one is logged and dropped, a broken invariant stops the node. */
  step(messages: readonly Message[]): void {
    if (this.#stopped) return;
    for (const m of messages) {
      try {
        this.#core.step(m);
      } catch (err) {
        this.#fatal(err);
        return;
      }
    }
    this.#kick();
  }

  /** Stops ticking, waits for the Ready in progress, and stops taking input. The WAL stays open (the caller closes it). */
  async stop(): Promise<void> {
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.#ticker = undefined;
    this.#stopped = true;
    if (this.#running) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #kick(): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    // Let inputs that arrive in the same turn join this Ready.
    setImmediate(() => void this.#loop());
  }

  async #loop(): Promise<void> {
    try {
      while (!this.#stopped && this.#core.hasReady()) {
        await this.#handle(this.#core.ready());
      }
    } catch (err) {
      this.#fatal(err);
    } finally {
      this.#running = false;
      for (const wake of this.#idle.splice(0)) wake();
    }
  }

  async #handle(rd: Ready): Promise<void> {
    if (rd.soft !== undefined) this.#o.events.onSoftState(rd.soft);
    // Committed entries are durable on a quorum already: applying them (and
    // answering their clients) need not wait for this Ready's own new
    // entries to reach the disk. A leader snapshot is the exception: the
    // state machine follows it only once it is saved.
    const applyFirst = rd.snapshot === undefined;
    if (applyFirst) this.#applyAll(rd);
    // A leader may replicate entries before its own copy is durable (Raft
    // thesis §10.2.1): the core counts the leader's copy towards commit only
    // after advance(), and followers persist before they acknowledge. Every
    // other message (votes, acknowledgements) waits for the disk.
    const leader = this.#core.status().role === 'leader';
    const early = leader ? rd.messages.filter(isReplication) : NO_MESSAGES;
    const late = early.length === 0 ? rd.messages : rd.messages.filter((m) => !isReplication(m));
    this.#send(early);
    await this.#persist(rd);
    this.#send(late);
    if (!applyFirst) this.#applyAll(rd);
    this.#core.advance(rd);
    if (this.#applied - this.#snapshotIndex >= this.#o.snapshotCount) await this.#takeSnapshot();
  }

  #send(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    this.#o.send(messages);
    this.#o.events.onSend(messages);
  }

  async #persist(rd: Ready): Promise<void> {
    const { wal, memory } = this.#o;
    const snap = rd.snapshot;
    // The snapshot file before the WAL marker that names it.
    if (snap !== undefined) await this.#o.snapshotter.save(snap);
    const writes: Promise<void>[] = [];
    if (snap !== undefined) writes.push(wal.saveSnapshotMarker({ index: snap.index, term: snap.term, voters: snap.voters }));
    if (rd.entries.length > 0 || rd.hardState !== undefined) writes.push(wal.append(rd.entries, rd.hardState, { sync: rd.mustSync }));
    // One group-committed write and fsync for all of them.
    await Promise.all(writes);
    if (snap !== undefined) memory.applySnapshot(snap);
    memory.append(rd.entries);
    if (rd.hardState !== undefined) memory.setHardState(rd.hardState);
  }

  #applyAll(rd: Ready): void {
    this.#apply(rd);
    if (rd.readStates.length > 0) this.#o.events.onReadStates(rd.readStates);
    this.#o.events.onApplied(this.#applied);
  }

  #apply(rd: Ready): void {
    const snap = rd.snapshot;
    if (snap !== undefined && snap.index > this.#applied) {
      this.#o.applier.restore(snap);
      this.#applied = snap.index;
      this.#snapshotIndex = snap.index;
      this.#o.logger.info({ index: snap.index, term: snap.term }, 'state restored from the leader snapshot');
    }
    for (const e of rd.committed) {
      if (e.index <= this.#applied) continue;
      if (e.kind === 'conf') {
        const change = decodeConfChange(e.data);
        if (this.#o.applier.admitConfChange(change)) {
          const { voters } = this.#core.applyConfChange(change);
          this.#o.applier.applyConfChange(change, voters);
        }
      } else {
        this.#o.applier.applyEntry(e);
      }
      this.#applied = e.index;
    }
  }

  async #takeSnapshot(): Promise<void> {
    const { memory, wal } = this.#o;
    const index = this.#applied;
    const voters = this.#core.status().voters;
    const started = performance.now();
    const snap = memory.createSnapshot(index, voters, this.#o.applier.image());
    await this.#o.snapshotter.save(snap);
    await wal.saveSnapshotMarker({ index: snap.index, term: snap.term, voters: snap.voters });
    this.#snapshotIndex = index;
    const compactTo = index - this.#o.catchUpEntries;
    if (compactTo >= memory.firstIndex()) memory.compact(compactTo);
    // Segments wholly below the snapshot are no longer needed to restart.
    await wal.releaseBefore(index);
    this.#o.logger.info(
      { index, term: snap.term, bytes: snap.data.byteLength, ms: Math.round(performance.now() - started), firstIndex: memory.firstIndex() },
      'snapshot saved',
    );
  }

  #fatal(err: unknown): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.#ticker = undefined;
    const error = err instanceof Error ? err : new Error(String(err));
    this.#o.logger.fatal({ err: error }, 'raft node stopped');
    this.#o.events.onFatal(error);
  }
}

const NO_MESSAGES: readonly Message[] = [];

function isReplication(m: Message): boolean {
  return m.type === 'append' || m.type === 'heartbeat';
}

export class NodeStoppedError extends CairnError {
  constructor() {
    super('CAIRN_REPLICA_STOPPED', 'the raft node has stopped');
  }
}
