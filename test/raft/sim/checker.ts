import type { Entry, HardState, NodeId } from '../../../src/raft/index.js';

/** A violated safety property; the message says which one, where and when. */
export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

function fail(msg: string): never {
  throw new InvariantViolation(msg);
}

/** FNV-1a over an entry's term, kind and payload. */
export function entryDigest(e: Entry): number {
  let h = 0x811c9dc5 ^ e.term;
  h = Math.imul(h, 0x01000193);
  h ^= e.kind === 'conf' ? 1 : 2;
  h = Math.imul(h, 0x01000193);
  for (const b of e.data) {
    h ^= b;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Chain hash of an applied prefix: equal hashes at an index mean equal applied histories (with overwhelming probability). */
export function chain(prev: number, e: Entry): number {
  let h = (prev ^ entryDigest(e)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}

export interface LeaderView {
  termAt(index: number): number | undefined;
  firstIndex: number;
}

/**
 * Global, cross-node safety properties of Raft (Figure 3 of the paper plus
 * durability rules), checked incrementally so that every check is O(1) or
 * O(terms) per event, never a scan of whole logs.
 */
export class Checker {
  /** Election safety: the one leader of each term. */
  private readonly leaders = new Map<number, NodeId>();
  /** Log matching: (index, term) determines the entry and its predecessor's term. */
  private readonly entries = new Map<string, { digest: number; prevTerm: number | undefined }>();
  /** State machine safety: the hash of the applied prefix ending at each index. */
  private readonly appliedHash: number[] = [];
  /** Highest commit index each leader reached, and the term of that entry (leader completeness). */
  private readonly leaderCommits = new Map<number, { index: number; entryTerm: number }>();
  /** Proposals acknowledged to a client (applied somewhere), with the term they were first committed in. */
  private readonly acked: Array<{ index: number; term: number; commitTerm: number; id: number }> = [];
  private readonly ackedIds = new Set<number>();
  /** Last hard state written per node, across restarts. */
  private readonly lastHard = new Map<NodeId, HardState>();
  /** Highest index applied anywhere: every read point handed out later must be at least this. */
  maxApplied = 0;
  readonly stats = { leaders: 0, acks: 0, reads: 0, snapshotsRestored: 0 };

  constructor(genesisIndex: number, genesisHash: number) {
    this.appliedHash[genesisIndex] = genesisHash;
  }

  /** Call after every input to a node that is leader in `term`. */
  observeLeader(id: NodeId, term: number, commit: number, view: LeaderView): void {
    const known = this.leaders.get(term);
    if (known === undefined) {
      this.leaders.set(term, id);
      this.stats.leaders++;
      this.checkCompleteness(id, term, view);
    } else if (known !== id) {
      fail(`election safety: ${known} and ${id} are both leaders of term ${term}`);
    }
    const prev = this.leaderCommits.get(term);
    if (prev === undefined || commit > prev.index) {
      const entryTerm = view.termAt(commit);
      if (entryTerm === undefined) fail(`leader ${id} committed ${commit} which is outside its log`);
      this.leaderCommits.set(term, { index: commit, entryTerm });
    }
  }

  /** Leader completeness: everything committed in earlier terms is in the new leader's log. */
  private checkCompleteness(id: NodeId, term: number, view: LeaderView): void {
    let need: { index: number; entryTerm: number; term: number } | undefined;
    for (const [t, c] of this.leaderCommits) {
      if (t < term && (need === undefined || c.index > need.index)) need = { ...c, term: t };
    }
    if (need !== undefined && need.index >= view.firstIndex) {
      const have = view.termAt(need.index);
      if (have !== need.entryTerm) {
        fail(
          `leader completeness: leader ${id} of term ${term} has term ${String(have)} at ${need.index}, ` +
            `committed with term ${need.entryTerm} in term ${need.term}`,
        );
      }
    }
    for (const a of this.acked) {
      if (a.commitTerm >= term || a.index < view.firstIndex) continue;
      if (view.termAt(a.index) !== a.term) {
        fail(`acknowledged proposal ${a.id} at ${a.index}/${a.term} is missing from leader ${id} of term ${term}`);
      }
    }
  }

  /** An entry became durable on a node; prevTerm is that node's term at index-1 (undefined if compacted). */
  persistedEntry(id: NodeId, e: Entry, prevTerm: number | undefined): void {
    const key = `${e.index}:${e.term}`;
    const digest = entryDigest(e);
    const known = this.entries.get(key);
    if (known === undefined) {
      this.entries.set(key, { digest, prevTerm });
      return;
    }
    if (known.digest !== digest) fail(`log matching: node ${id} holds a different entry at ${key}`);
    if (prevTerm !== undefined) {
      if (known.prevTerm === undefined) known.prevTerm = prevTerm;
      else if (known.prevTerm !== prevTerm) {
        fail(`log matching: node ${id} has term ${prevTerm} before ${key}, others have ${known.prevTerm}`);
      }
    }
  }

  /** A hard state was written. Terms never go back; a vote never changes within a term. */
  persistedHard(id: NodeId, hs: HardState): void {
    const prev = this.lastHard.get(id);
    if (prev !== undefined) {
      if (hs.term < prev.term) fail(`node ${id} term regressed ${prev.term} -> ${hs.term}`);
      if (hs.term === prev.term && prev.vote !== '' && hs.vote !== prev.vote) {
        fail(`node ${id} changed its vote in term ${hs.term}: ${prev.vote} -> ${hs.vote}`);
      }
    }
    this.lastHard.set(id, hs);
  }

  /** After a restart the node must come back with at least the term/vote it had persisted. */
  restarted(id: NodeId, term: number, vote: NodeId): void {
    const prev = this.lastHard.get(id);
    if (prev === undefined) return;
    if (term < prev.term || (term === prev.term && prev.vote !== '' && vote !== prev.vote)) {
      fail(`node ${id} restarted with term ${term}/vote ${vote}, had persisted ${prev.term}/${prev.vote}`);
    }
  }

  /** State machine safety: the applied prefix ending at `index` is the same everywhere. */
  applied(id: NodeId, index: number, hash: number): void {
    const known = this.appliedHash[index];
    if (known === undefined) this.appliedHash[index] = hash;
    else if (known !== hash) fail(`state machine safety: node ${id} applied a different history up to ${index}`);
    if (index > this.maxApplied) this.maxApplied = index;
  }

  restoredSnapshot(id: NodeId, index: number, hash: number): void {
    const known = this.appliedHash[index];
    if (known === undefined) fail(`node ${id} restored a snapshot at ${index} that nobody applied`);
    if (known !== hash) fail(`snapshot at ${index} restored on ${id} differs from the applied history`);
    this.stats.snapshotsRestored++;
  }

  /** A client proposal was applied (acknowledged). */
  ack(proposalId: number, index: number, term: number): void {
    if (this.ackedIds.has(proposalId)) return;
    this.ackedIds.add(proposalId);
    let commitTerm = Infinity;
    for (const [t, c] of this.leaderCommits) if (c.index >= index && t < commitTerm) commitTerm = t;
    if (commitTerm === Infinity) fail(`proposal ${proposalId} at ${index} applied but no leader ever committed it`);
    this.acked.push({ index, term, commitTerm, id: proposalId });
    this.stats.acks++;
  }

  /** Linearizable reads: a read point is never before a write acknowledged before the read began. */
  readState(id: NodeId, index: number, minIndex: number): void {
    if (index < minIndex) fail(`read index ${index} on ${id} is older than ${minIndex}, applied before the read was issued`);
    this.stats.reads++;
  }
}
