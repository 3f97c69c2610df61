import type { KvOperation, KvOutputs } from '../support/linearizability.js';
import { seededRandom } from '../support/seeded-random.js';

export interface SimulationOptions {
  clients: number;
  opsPerClient: number;
  keys: number;
  /** Share of operations whose outcome the client never learns; half of those take effect. */
  unknownRate?: number;
  /** Share of operations that definitely fail (no effect); they are left out of the history. */
  failRate?: number;
}

export interface Simulated {
  history: KvOperation[];
  /** The effective operations in the order the simulated store applied them. */
  applied: KvOperation[];
}

interface Planned {
  op: KvOperation;
  /** When the store applies it; undefined when it never takes effect. */
  at: number | undefined;
  fate: 'ok' | 'unknown' | 'fail';
}

/**
 * A correct, linearizable etcd-like store under random concurrency: each operation takes effect at one random
 * instant inside its interval (or, for unknown outcomes, possibly long after the client gave up), and every
 * output is what the store held at that instant. Values written are unique, so staleness can be proved.
 */
export function simulateLinearizableStore(seed: number, options: SimulationOptions): Simulated {
  const { clients, opsPerClient, keys, unknownRate = 0.05, failRate = 0.03 } = options;
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const keyNames = Array.from({ length: keys }, (_, i) => `/k${i}`);

  const planned: Planned[] = [];
  for (let c = 0; c < clients; c++) {
    let t = random() * 3;
    for (let j = 0; j < opsPerClient; j++) {
      const invokeTime = t + random() * 2;
      const latency = 0.1 + random() * 4;
      const roll = random();
      const fate = roll < unknownRate ? 'unknown' : roll < unknownRate + failRate ? 'fail' : 'ok';
      const returnTime = invokeTime + latency;
      let at: number | undefined = invokeTime + random() * latency;
      if (fate === 'fail' || (fate === 'unknown' && random() < 0.5)) at = undefined;
      else if (fate === 'unknown' && random() < 0.5) at = invokeTime + random() * 40; // applied after the timeout
      const key = pick(keyNames);
      const kind = random();
      // Inputs are placeholders until the store applies the operation (see below).
      const op: KvOperation =
        kind < 0.4
          ? { clientId: c, op: 'read', input: { key }, invokeTime }
          : kind < 0.65
            ? { clientId: c, op: 'write', input: { key, value: '' }, invokeTime }
            : kind < 0.9
              ? { clientId: c, op: 'cas', input: { key, expected: '', value: '' }, invokeTime }
              : { clientId: c, op: 'delete', input: { key }, invokeTime };
      if (fate === 'ok') op.returnTime = returnTime;
      planned.push({ op, at, fate });
      t = returnTime;
    }
  }

  // Apply in time order. Inputs are chosen here, which a real client could not do, but it only shapes which
  // values appear; the recorded interval still contains the instant of effect, so the history stays linearizable.
  const store = new Map<string, string>();
  const written = new Map<string, string[]>();
  let counter = 0;
  const freshValue = (): string => `v${++counter}`;
  const applied: KvOperation[] = [];
  const effective = planned.filter((p) => p.at !== undefined).sort((a, b) => (a.at as number) - (b.at as number));
  for (const { op } of effective) {
    const key = op.input.key;
    const current = store.get(key);
    switch (op.op) {
      case 'read':
        op.output = current === undefined ? { status: 'notFound' } : { status: 'ok', value: current };
        break;
      case 'write':
        op.input.value = freshValue();
        store.set(key, op.input.value);
        op.output = { status: 'ok' };
        break;
      case 'cas': {
        const past = written.get(key) ?? [];
        op.input.expected = current !== undefined && random() < 0.6 ? current : past.length > 0 ? pick(past) : 'never';
        op.input.value = freshValue();
        let output: KvOutputs['cas'];
        if (current === undefined) output = { status: 'notFound' };
        else if (current !== op.input.expected) output = { status: 'compareFailed' };
        else {
          store.set(key, op.input.value);
          output = { status: 'ok' };
        }
        op.output = output;
        break;
      }
      case 'delete':
        op.output = current === undefined ? { status: 'notFound' } : { status: 'ok' };
        store.delete(key);
        break;
    }
    const now = store.get(key);
    if (now !== undefined && now !== current) written.set(key, [...(written.get(key) ?? []), now]);
    applied.push(op);
  }

  const history: KvOperation[] = [];
  for (const { op, fate } of planned) {
    if (fate === 'fail') continue;
    if (fate === 'unknown') {
      delete op.returnTime;
      delete op.output;
      // Never-applied operations still need plausible inputs.
      if (op.op === 'write' && op.input.value === '') op.input.value = freshValue();
      if (op.op === 'cas' && op.input.value === '') {
        op.input.expected = pick(written.get(op.input.key) ?? ['never']);
        op.input.value = freshValue();
      }
    }
    history.push(op);
  }
  return { history, applied };
}

/** Ops that set `value` (with unique values, at most one). */
function setterOf(history: readonly KvOperation[], key: string, value: string): KvOperation | undefined {
  return history.find(
    (op) => op.input.key === key && (op.op === 'write' || (op.op === 'cas' && op.output?.status === 'ok')) && op.input.value === value,
  );
}

function changesValue(op: KvOperation): boolean {
  return op.returnTime !== undefined && (op.op === 'write' || (op.op !== 'read' && op.output?.status === 'ok'));
}

/**
 * Makes one completed read return a value that is provably stale: the value's only writer W completed before
 * some value-changing operation X started, and X completed before the read started. Since values are unique,
 * nothing can bring the value back after X. Returns the mutated read, or undefined when no read qualifies.
 */
export function injectStaleRead(history: KvOperation[], seed: number): KvOperation | undefined {
  const random = seededRandom(seed);
  const reads = history.filter((op) => op.op === 'read' && op.returnTime !== undefined);
  const start = Math.floor(random() * reads.length);
  for (let n = 0; n < reads.length; n++) {
    const read = reads[(start + n) % reads.length] as KvOperation;
    const key = read.input.key;
    const current = read.output?.status === 'ok' && 'value' in read.output ? read.output.value : undefined;
    for (const x of history) {
      if (x.input.key !== key || !changesValue(x) || (x.returnTime as number) >= read.invokeTime) continue;
      const older = history.find((w) => {
        if (w.input.key !== key || w === x || !changesValue(w) || w.op === 'delete') return false;
        if ((w.returnTime as number) >= x.invokeTime) return false;
        const value = (w.input as { value: string }).value;
        return value !== current && setterOf(history, key, value) === w;
      });
      if (older !== undefined) {
        read.output = { status: 'ok', value: (older.input as { value: string }).value };
        return read;
      }
    }
  }
  return undefined;
}
