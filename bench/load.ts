import type { Dispatcher } from 'undici';
import { BenchError } from './errors.js';
import { Samples } from './stats.js';

export interface ClosedLoopSpec {
  readonly dispatcher: Dispatcher;
  /** Requests kept in flight at once (one per pooled connection). */
  readonly concurrency: number;
  /** Issued round-robin; the same option objects are reused for every request. */
  readonly requests: readonly Dispatcher.DispatchOptions[];
  readonly isOk: (status: number) => boolean;
  /** Stop issuing after this long... */
  readonly durationMs?: number;
  /** ...or after this many requests. */
  readonly totalRequests?: number;
}

export interface ClosedLoopResult {
  /** Responses received (any status). */
  readonly ops: number;
  /** Responses whose status failed `isOk`. */
  readonly badStatus: number;
  readonly firstBadStatus: number | undefined;
  readonly elapsedMs: number;
  readonly latencies: Samples;
}

/**
 * Closed-loop load: each of `concurrency` workers sends its next request as
 * soon as the previous response has been fully read. Workers are undici
 * dispatch handlers rather than `request()` calls, which skips a promise and a
 * body stream per request: the client shares two cores with the server, so
 * every microsecond it spends is taken from the server under test.
 */
export function runClosedLoop(spec: ClosedLoopSpec): Promise<ClosedLoopResult> {
  if (spec.requests.length === 0 || spec.concurrency < 1 || (spec.durationMs === undefined && spec.totalRequests === undefined)) {
    return Promise.reject(new BenchError('CAIRN_BENCH_BAD_LOAD', 'closed loop needs requests, a concurrency of at least 1, and a duration or a request count'));
  }
  return new Promise((resolve, reject) => {
    const latencies = new Samples();
    const { requests, dispatcher, isOk } = spec;
    const total = spec.totalRequests ?? Number.POSITIVE_INFINITY;
    const start = performance.now();
    const deadline = spec.durationMs === undefined ? Number.POSITIVE_INFINITY : start + spec.durationMs;
    let issued = 0;
    let ops = 0;
    let badStatus = 0;
    let firstBadStatus: number | undefined;
    let active = spec.concurrency;
    let failed = false;

    const workerDone = (): void => {
      active -= 1;
      if (active === 0 && !failed) {
        resolve({ ops, badStatus, firstBadStatus, elapsedMs: performance.now() - start, latencies });
      }
    };

    class Worker implements Dispatcher.DispatchHandler {
      private sentAt = 0;
      private status = 0;
      // Bound once: re-arming from a microtask keeps undici's callback stack shallow.
      private readonly sendNext = (): void => {
        if (failed || issued >= total || performance.now() >= deadline) {
          workerDone();
          return;
        }
        const options = requests[issued % requests.length] as Dispatcher.DispatchOptions;
        issued += 1;
        this.sentAt = performance.now();
        dispatcher.dispatch(options, this);
      };

      start(): void {
        this.sendNext();
      }

      onRequestStart(): void {}

      onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
        this.status = statusCode;
      }

      onResponseData(): void {}

      onResponseEnd(): void {
        latencies.add(performance.now() - this.sentAt);
        ops += 1;
        if (!isOk(this.status)) {
          badStatus += 1;
          firstBadStatus ??= this.status;
        }
        queueMicrotask(this.sendNext);
      }

      onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
        // A transport error means the server went away or broke the protocol:
        // the run's figures would be meaningless, so stop all workers.
        if (!failed) {
          failed = true;
          reject(new BenchError('CAIRN_BENCH_TRANSPORT', `request failed: ${error.message}`, { cause: error }));
        }
      }
    }

    for (let i = 0; i < spec.concurrency; i += 1) new Worker().start();
  });
}
