import { performance } from 'node:perf_hooks';

/** One operation as the search sees it. */
export interface SearchOp {
  invoke: number;
  /** Infinity when the outcome is unknown: the operation may take effect at any point after invoke, or never. */
  ret: number;
  /** The next state, or -1 when the operation's recorded outcome is impossible in `state`. */
  step: (state: number) => number;
  /**
   * Unknown-outcome operations with equal `twin` values have the same step function, so which of them is
   * linearized does not matter: the search only ever takes the earliest-invoked pending one.
   */
  twin?: string;
  /** True when the operation never changes the state (a read, a failed compare-and-swap): see `expand`. */
  observer?: boolean;
}

/** Shared by every search of one check, so a whole check stays within one deadline. */
export interface SearchBudget {
  /** performance.now() value after which the search gives up. */
  deadline: number;
  stepsLeft: number;
}

export type SearchOutcome =
  | { kind: 'linearizable'; order: number[] }
  /** `longest` is the longest sequence of operations (indexes) the search managed to linearize. */
  | { kind: 'illegal'; longest: number[] }
  | { kind: 'exhausted' };

const NONE = -1;
// Visited pairs cost a bitset each; past this many 32-bit words (256 MiB) the search gives up rather than
// exhaust the test process's memory.
const MAX_VISITED_WORDS = 64 * 1024 * 1024;

// Per-operation random-looking words whose XOR identifies a linearized set, updated in O(1) per step.
function opHash(i: number): number {
  let x = Math.imul(i + 1, 0x9e3779b1);
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

class VisitedSet {
  private readonly buckets = new Map<number, number[]>();
  private arena: Uint32Array;
  private readonly states: number[] = [];
  /** Words of bitsets stored so far. */
  used = 0;

  /** `knownMask` marks the operations with a recorded outcome. */
  constructor(
    private readonly words: number,
    private readonly knownMask: Uint32Array,
  ) {
    this.arena = new Uint32Array(Math.max(words, 1) * 64);
  }

  /**
   * Records the pair unless a visited pair covers it (same known operations and state, a subset of the unknown
   * ones); false means that branch was explored before. `knownHash` identifies the known operations only.
   */
  addUnlessCovered(bits: Uint32Array, knownHash: number, state: number): boolean {
    const key = (knownHash ^ Math.imul(state + 1, 0x27d4eb2d)) >>> 0;
    const words = this.words;
    const known = this.knownMask;
    const arena = this.arena;
    let bucket = this.buckets.get(key);
    if (bucket !== undefined) {
      for (const entry of bucket) {
        if (this.states[entry] !== state) continue;
        const base = entry * words;
        let covers = true;
        for (let w = 0; w < words; w++) {
          const seen = arena[base + w] as number;
          const now = bits[w] as number;
          // Covered: nothing the visited pair linearized is missing now, and no extra known operation now.
          if ((seen & ~now) !== 0 || (now & ~seen & (known[w] as number)) !== 0) {
            covers = false;
            break;
          }
        }
        if (covers) return false;
      }
    } else {
      bucket = [];
      this.buckets.set(key, bucket);
    }
    const entry = this.states.length;
    if ((entry + 1) * words > this.arena.length) {
      const grown = new Uint32Array(this.arena.length * 2);
      grown.set(this.arena);
      this.arena = grown;
    }
    this.arena.set(bits, entry * words);
    this.used += words;
    this.states.push(state);
    bucket.push(entry);
    return true;
  }
}

/**
 * The search of Wing & Gong as improved by Lowe ("Testing for linearizability", 2017): depth first, extend the
 * linearized prefix with a call that is minimal in real time and legal in the model, backtrack when none is, and
 * never revisit a (set of linearized operations, model state) pair. Model-agnostic: the caller interns its
 * states as small non-negative integers, so a visited pair is a bitset plus one number.
 *
 * Refinements of our own, each exact (tests compare the verdicts with exhaustive search):
 * - An observer (an operation that never changes the state, e.g. a read) that is legal now is linearized now
 *   without trying alternatives: this prunes most branching on registers.
 * - Unknown-outcome operations (timeouts), which stay candidates forever, are tried after the known candidates,
 *   and a pair is skipped when a visited pair has the same known operations and state but a subset of its
 *   unknown ones: that pair can do everything this one can, since an unknown operation never has to happen and
 *   never delays anyone.
 * - Unknown operations with identical effects ("twins") are interchangeable, so only the earliest pending one
 *   is ever tried.
 */
export function searchLinearization(
  ops: readonly SearchOp[],
  initialState: number,
  budget: SearchBudget,
  { trackLongest = false }: { trackLongest?: boolean } = {},
): SearchOutcome {
  const n = ops.length;
  const unknown = ops.map((op) => op.ret === Infinity);

  // Known operations live in a doubly linked list of events ordered by time: node 2i is the call of op i, 2i+1
  // its return, 2n the head. At equal times calls sort before returns, so intervals that merely touch count as
  // concurrent: the checker never blames clock resolution. Unknown operations have no return to wait for; their
  // calls live in a second list (head 2n+1), ordered by invoke time, so scanning known candidates never wades
  // through every timed-out operation of the past.
  const head = 2 * n;
  const unknownHead = 2 * n + 1;
  const next = new Int32Array(2 * n + 2).fill(NONE);
  const prev = new Int32Array(2 * n + 2).fill(NONE);
  const timeOf = (e: number): number => {
    const op = ops[e >> 1] as SearchOp;
    return (e & 1) === 0 ? op.invoke : op.ret;
  };
  const byTime = (a: number, b: number): number => timeOf(a) - timeOf(b) || (a & 1) - (b & 1) || a - b;
  const chain = (listHead: number, nodes: number[]): void => {
    let last = listHead;
    for (const e of nodes.sort(byTime)) {
      next[last] = e;
      prev[e] = last;
      last = e;
    }
  };
  const knownEvents: number[] = [];
  const unknownCalls: number[] = [];
  for (let i = 0; i < n; i++) {
    if (unknown[i]) unknownCalls.push(2 * i);
    else knownEvents.push(2 * i, 2 * i + 1);
  }
  chain(head, knownEvents);
  chain(unknownHead, unknownCalls);

  // Dancing links: a removed node keeps its own pointers, so undoing removals in LIFO order restores the list.
  const unlink = (node: number): void => {
    const p = prev[node] as number;
    const nx = next[node] as number;
    next[p] = nx;
    if (nx !== NONE) prev[nx] = p;
  };
  const relink = (node: number): void => {
    const p = prev[node] as number;
    const nx = next[node] as number;
    next[p] = node;
    if (nx !== NONE) prev[nx] = node;
  };

  const words = Math.max(1, Math.ceil(n / 32));
  const bits = new Uint32Array(words);
  const knownMask = new Uint32Array(words);
  // Only known operations feed the hash, so pairs that differ in unknown ones share a bucket and can cover each other.
  const hashes = ops.map((_op, i) => (unknown[i] ? 0 : opHash(i)));
  let knownLeft = 0;
  unknown.forEach((u, i) => {
    if (u) return;
    knownMask[i >> 5] = (knownMask[i >> 5] as number) | (1 << (i & 31));
    knownLeft++;
  });
  if (knownLeft === 0) return { kind: 'linearizable', order: [] };
  const visited = new VisitedSet(words, knownMask);

  // Twins in call order (chain() sorted unknownCalls); the linearized ones are always a prefix, as only the first
  // pending one is ever taken.
  const twinOf = new Int32Array(n).fill(NONE);
  const twinMembers: number[][] = [];
  const twinIds = new Map<string, number>();
  for (const e of unknownCalls) {
    const i = e >> 1;
    const twin = (ops[i] as SearchOp).twin;
    if (twin === undefined) continue;
    let id = twinIds.get(twin);
    if (id === undefined) {
      id = twinMembers.length;
      twinIds.set(twin, id);
      twinMembers.push([]);
    }
    twinOf[i] = id;
    (twinMembers[id] as number[]).push(i);
  }
  const twinsTaken = new Int32Array(twinMembers.length);

  // A node's candidates: the known operations called before the first pending known return, then the unknown
  // operations called by that return, so a timed-out operation is spent only when no known one can go next (any
  // order is complete; this one avoids re-exploring long stretches). One exception prunes most branching: a known
  // observer that is legal now is the node's only candidate. It changes nothing and every operation that must
  // precede it already has, so any linearization that places it later still works with it moved here.
  // Known candidates of the nodes on the current path share one arena (a node has at most as many as there are
  // concurrent clients); unknown ones are walked in their list, which a node's children leave as they found it.
  let candidates = new Int32Array(Math.max(256, 4 * n));
  const base = new Int32Array(n + 1);
  const count = new Int32Array(n + 1);
  const cursor = new Int32Array(n + 1);
  const unknownCursor = new Int32Array(n + 1);
  const bound = new Float64Array(n + 1);
  const expand = (d: number): void => {
    const start = base[d] as number;
    let at = start;
    cursor[d] = 0;
    let e = next[head] as number;
    for (; (e & 1) === 0; e = next[e] as number) {
      const i = e >> 1;
      const op = ops[i] as SearchOp;
      if (at === candidates.length) {
        const grown = new Int32Array(candidates.length * 2);
        grown.set(candidates);
        candidates = grown;
      }
      if (op.observer === true && op.step(state) !== NONE) {
        candidates[start] = i;
        count[d] = 1;
        unknownCursor[d] = NONE;
        return;
      }
      candidates[at++] = i;
    }
    count[d] = at - start;
    unknownCursor[d] = next[unknownHead] as number;
    bound[d] = timeOf(e);
  };
  const nextCandidate = (d: number): number => {
    const c = cursor[d] as number;
    if (c < (count[d] as number)) {
      cursor[d] = c + 1;
      return candidates[(base[d] as number) + c] as number;
    }
    for (let u = unknownCursor[d] as number; u !== NONE && timeOf(u) <= (bound[d] as number); u = next[u] as number) {
      const i = u >> 1;
      const twin = twinOf[i] as number;
      if (twin !== NONE && (twinMembers[twin] as number[])[twinsTaken[twin] as number] !== i) continue;
      unknownCursor[d] = next[u] as number;
      return i;
    }
    unknownCursor[d] = NONE;
    return NONE;
  };

  const stackOp = new Int32Array(n);
  const stackState = new Int32Array(n);
  let depth = 0;
  let knownHash = 0;
  let state = initialState;
  let longest: number[] = [];
  let longestDepth = 0;
  let longestDirty = false;
  let iterations = 0;

  expand(0);
  for (;;) {
    if ((++iterations & 1023) === 0) {
      budget.stepsLeft -= 1024;
      if (budget.stepsLeft <= 0 || performance.now() > budget.deadline || visited.used > MAX_VISITED_WORDS) {
        return { kind: 'exhausted' };
      }
    }
    const i = nextCandidate(depth);
    if (i !== NONE) {
      const nextState = (ops[i] as SearchOp).step(state);
      if (nextState === NONE) continue;
      const word = i >> 5;
      const mask = 1 << (i & 31);
      bits[word] = (bits[word] as number) | mask;
      knownHash ^= hashes[i] as number;
      if (!visited.addUnlessCovered(bits, knownHash, nextState)) {
        bits[word] = (bits[word] as number) & ~mask;
        knownHash ^= hashes[i] as number;
        continue;
      }
      stackOp[depth] = i;
      stackState[depth] = state;
      state = nextState;
      unlink(2 * i);
      if (unknown[i]) {
        const twin = twinOf[i] as number;
        if (twin !== NONE) twinsTaken[twin] = (twinsTaken[twin] as number) + 1;
      } else {
        unlink(2 * i + 1);
        // Every known operation placed: unknown ones left over go last, where they change nothing anyone observed.
        if (--knownLeft === 0) {
          budget.stepsLeft -= iterations & 1023;
          return { kind: 'linearizable', order: Array.from(stackOp.subarray(0, depth + 1)) };
        }
      }
      depth++;
      if (trackLongest && depth > longestDepth) {
        longestDepth = depth;
        longestDirty = true;
      }
      base[depth] = (base[depth - 1] as number) + (count[depth - 1] as number);
      expand(depth);
    } else {
      // Every candidate failed: the current prefix cannot be extended, so undo the newest choice.
      if (depth === 0) return { kind: 'illegal', longest };
      if (longestDirty) {
        longest = Array.from(stackOp.subarray(0, depth));
        longestDirty = false;
      }
      depth--;
      const i = stackOp[depth] as number;
      state = stackState[depth] as number;
      bits[i >> 5] = (bits[i >> 5] as number) & ~(1 << (i & 31));
      knownHash ^= hashes[i] as number;
      if (unknown[i]) {
        relink(2 * i);
        const twin = twinOf[i] as number;
        if (twin !== NONE) twinsTaken[twin] = (twinsTaken[twin] as number) - 1;
      } else {
        relink(2 * i + 1);
        relink(2 * i);
        knownLeft++;
      }
    }
  }
}
