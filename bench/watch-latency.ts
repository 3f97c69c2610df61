import type { Dispatcher } from 'undici';
import { BenchError } from './errors.js';
import { Samples } from './stats.js';

export interface WatchLatencySpec {
  /** Must hold at least `watchers` connections: every long-poll pins one. */
  readonly watchPool: Dispatcher;
  readonly writer: Dispatcher;
  /** Key path of the watched directory, e.g. `/bench/watch`. */
  readonly dir: string;
  readonly watchers: number;
  readonly events: number;
  /**
   * Pause after each fully delivered event so the re-armed long-polls reach
   * the server before the next write; waitIndex keeps a late one correct,
   * this keeps it from being the common case.
   */
  readonly settleMs: number;
  readonly eventTimeoutMs: number;
}

export interface WatchLatencyResult {
  readonly deliveries: number;
  /** From sending the PUT to a watcher having read the whole event. */
  readonly latencies: Samples;
  readonly elapsedMs: number;
}

const FORM = ['content-type', 'application/x-www-form-urlencoded'];

interface EventNode {
  readonly node?: { readonly value?: unknown; readonly modifiedIndex?: unknown };
}

/**
 * Watchers long-poll `dir` recursively and re-arm at modifiedIndex + 1, as a
 * correct v2 client must, so none can miss an event. The writer sends one
 * PUT at a time and waits until every watcher has the event, so each latency
 * is that of an otherwise idle server fanning one event out to all watchers.
 */
export async function runWatchLatency(spec: WatchLatencySpec): Promise<WatchLatencyResult> {
  const latencies = new Samples();
  const sentAt = new Float64Array(spec.events);
  const received = new Uint32Array(spec.events);
  let failure: BenchError | undefined;
  let waiting: { seq: number; resolve: () => void; reject: (err: Error) => void } | undefined;

  const fail = (err: BenchError): void => {
    failure ??= err;
    waiting?.reject(err);
    waiting = undefined;
  };

  const startIndex = await currentIndex(spec.writer);

  class Watcher implements Dispatcher.DispatchHandler {
    private chunks: Buffer[] = [];
    private status = 0;
    private controller: Dispatcher.DispatchController | undefined;
    private nextSeq = 0;

    constructor(private waitIndex: number) {}

    arm(): void {
      this.chunks = [];
      spec.watchPool.dispatch({
        path: `/v2/keys${spec.dir}?wait=true&recursive=true&waitIndex=${this.waitIndex}`,
        method: 'GET',
      }, this);
    }

    abort(): void {
      this.controller?.abort(new Error('watch benchmark stopped'));
    }

    onRequestStart(controller: Dispatcher.DispatchController): void {
      this.controller = controller;
    }

    onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
      this.status = statusCode;
    }

    onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
      this.chunks.push(chunk);
    }

    onResponseEnd(): void {
      const now = performance.now();
      this.controller = undefined;
      const body = this.chunks.length === 1 ? this.chunks[0] ?? Buffer.alloc(0) : Buffer.concat(this.chunks);
      if (this.status !== 200) {
        fail(new BenchError('CAIRN_BENCH_WATCH_STATUS', `watch answered ${this.status}: ${body.toString().slice(0, 200)}`));
        return;
      }
      let seq: number;
      let modifiedIndex: number;
      try {
        const event = JSON.parse(body.toString()) as EventNode;
        seq = Number(event.node?.value);
        modifiedIndex = Number(event.node?.modifiedIndex);
      } catch {
        seq = Number.NaN;
        modifiedIndex = Number.NaN;
      }
      if (!Number.isInteger(seq) || seq < 0 || seq >= spec.events || !Number.isInteger(modifiedIndex)) {
        fail(new BenchError('CAIRN_BENCH_WATCH_EVENT', `unexpected watch event: ${body.toString().slice(0, 200)}`));
        return;
      }
      if (seq !== this.nextSeq) {
        // A latency figure from a watch that skips or repeats events would flatter the server.
        fail(new BenchError('CAIRN_BENCH_WATCH_ORDER', `watcher expected event ${this.nextSeq} but got ${seq} (waitIndex ${this.waitIndex})`));
        return;
      }
      this.nextSeq = seq + 1;
      latencies.add(now - (sentAt[seq] ?? now));
      const count = (received[seq] ?? 0) + 1;
      received[seq] = count;
      if (count === spec.watchers && waiting?.seq === seq) {
        waiting.resolve();
        waiting = undefined;
      }
      if (seq < spec.events - 1 && failure === undefined) {
        this.waitIndex = modifiedIndex + 1;
        this.arm();
      }
    }

    onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
      this.controller = undefined;
      fail(new BenchError('CAIRN_BENCH_TRANSPORT', `watch failed: ${error.message}`, { cause: error }));
    }
  }

  const watchers = Array.from({ length: spec.watchers }, () => new Watcher(startIndex + 1));
  const started = performance.now();
  try {
    for (const watcher of watchers) watcher.arm();
    // Give the first long-polls time to land; waitIndex covers any straggler.
    await sleep(100);
    for (let seq = 0; seq < spec.events; seq += 1) {
      if (failure !== undefined) throw failure;
      const delivered = allReceived(seq);
      // It may fail while the PUT is in flight; the await below reports it.
      delivered.catch(() => {});
      sentAt[seq] = performance.now();
      const res = await spec.writer.request({
        path: `/v2/keys${spec.dir}/event`,
        method: 'PUT',
        headers: FORM,
        body: `value=${seq}`,
      });
      await res.body.dump();
      if (res.statusCode !== 200 && res.statusCode !== 201) {
        throw new BenchError('CAIRN_BENCH_WRITE_STATUS', `watch writer PUT answered ${res.statusCode}`);
      }
      await delivered;
      await sleep(spec.settleMs);
    }
    return { deliveries: latencies.count, latencies, elapsedMs: performance.now() - started };
  } finally {
    for (const watcher of watchers) watcher.abort();
  }

  function allReceived(seq: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        fail(new BenchError('CAIRN_BENCH_WATCH_TIMEOUT',
          `event ${seq} reached ${received[seq] ?? 0} of ${spec.watchers} watchers within ${spec.eventTimeoutMs} ms`));
      }, spec.eventTimeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      if (failure !== undefined) {
        clearTimeout(timer);
        reject(failure);
      } else if (received[seq] === spec.watchers) {
        done();
      } else {
        waiting = { seq, resolve: done, reject: (err) => { clearTimeout(timer); reject(err); } };
      }
    });
  }
}

async function currentIndex(writer: Dispatcher): Promise<number> {
  const res = await writer.request({ path: '/v2/keys/', method: 'GET' });
  await res.body.dump();
  const index = Number(res.headers['x-etcd-index']);
  if (!Number.isInteger(index)) {
    throw new BenchError('CAIRN_BENCH_NO_INDEX', `GET /v2/keys/ answered ${res.statusCode} without a numeric X-Etcd-Index`);
  }
  return index;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
