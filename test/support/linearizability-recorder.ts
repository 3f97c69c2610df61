import { performance } from 'node:perf_hooks';
import { InvalidHistoryError, type KvInputs, type KvOpName, type KvOperation, type KvOutputs } from './linearizability-types.js';

export interface OperationHandle<O> {
  /** The operation completed with this outcome (call as soon as the answer arrives: the time is taken here). */
  ok(output: O): void;
  /** The operation definitely had no effect (e.g. a 4xx that etcd guarantees changed nothing); it leaves the history. */
  fail(): void;
  /** The outcome is unknown (timeout, connection lost): it may or may not have taken effect, now or later. */
  info(): void;
}

export interface RecorderCounts {
  ok: number;
  fail: number;
  info: number;
  pending: number;
}

interface Entry {
  op: KvOperation;
  state: 'pending' | 'ok' | 'fail' | 'info';
}

/**
 * Collects what concurrent clients did, Jepsen-style, on one monotonic clock. The invoke time is taken before
 * the request is sent and the return time after the answer is read, so each interval contains the moment the
 * cluster really applied the operation.
 */
export class HistoryRecorder {
  private readonly entries: Entry[] = [];

  constructor(private readonly clock: () => number = () => performance.now()) {}

  invoke<K extends KvOpName>(clientId: string | number, op: K, input: KvInputs[K]): OperationHandle<KvOutputs[K]> {
    // The mapped union cannot be built from a generic K without a cast; `op` and `input` agree by signature.
    const entry: Entry = { op: { clientId, op, input: { ...input }, invokeTime: this.clock() } as KvOperation, state: 'pending' };
    this.entries.push(entry);
    const settle = (state: Entry['state']): void => {
      if (entry.state !== 'pending') {
        throw new InvalidHistoryError(`operation already settled as ${entry.state}: client ${clientId} ${op}`);
      }
      entry.state = state;
    };
    return {
      ok: (output) => {
        const returnTime = this.clock();
        settle('ok');
        entry.op.returnTime = returnTime;
        entry.op.output = { ...output } as never;
      },
      fail: () => settle('fail'),
      info: () => settle('info'),
    };
  }

  /**
   * Invokes, awaits `action`, and records its result. A thrown error is recorded as unknown unless `classify`
   * says it was a definite failure; the error is rethrown either way.
   */
  async run<K extends KvOpName>(
    clientId: string | number,
    op: K,
    input: KvInputs[K],
    action: () => Promise<KvOutputs[K]>,
    classify: (err: unknown) => 'fail' | 'info' = () => 'info',
  ): Promise<KvOutputs[K]> {
    const handle = this.invoke(clientId, op, input);
    let output: KvOutputs[K];
    try {
      output = await action();
    } catch (err) {
      if (classify(err) === 'fail') handle.fail();
      else handle.info();
      throw err;
    }
    handle.ok(output);
    return output;
  }

  /** The history to check: completed and unknown operations (still-pending ones count as unknown); failures left out. */
  history(): KvOperation[] {
    return this.entries.filter((e) => e.state !== 'fail').map((e) => ({ ...e.op }));
  }

  counts(): RecorderCounts {
    const counts: RecorderCounts = { ok: 0, fail: 0, info: 0, pending: 0 };
    for (const e of this.entries) counts[e.state]++;
    return counts;
  }
}
