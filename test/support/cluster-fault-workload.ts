import { EndpointsUnavailableError, V2ApiError, V2Client } from '../../src/client/v2-client.js';
import { neverConnected } from '../../src/transport/connect-errors.js';
import { HistoryRecorder, type KvOutputs } from './linearizability.js';
import { seededRandom } from './seeded-random.js';

/**
 * Jepsen-style clients for the linearizability check: each drives one member (one endpoint per V2Client, so a
 * request that got no answer is never sent again elsewhere) with quorum reads, writes of unique values,
 * compare-and-swaps and deletes on a few keys, which are replaced after a few hundred operations so the
 * checker's search stays small.
 */
export interface WorkloadOptions {
  readonly seed: number;
  /** Client i talks to endpoints[i % endpoints.length]. */
  readonly endpoints: readonly string[];
  readonly clients: number;
  /** Keys in use at once. */
  readonly slots: number;
  /** Operations started on a key before its slot moves on to a fresh key. */
  readonly opsPerKey: number;
  /** Per request; above the server's own request timeout, so the server's verdict usually arrives first. */
  readonly requestTimeoutMs: number;
  readonly prefix: string;
}

export interface Workload {
  readonly recorder: HistoryRecorder;
  /** Outcomes by operation kind: ok, definite failure (left out of the history), unknown. */
  tally(): Record<'read' | 'write' | 'cas' | 'delete', { ok: number; fail: number; info: number }>;
  /** The first few errors of each class, for the report. */
  errorSamples(): string[];
  /** Stops issuing operations and waits for those in flight to end. */
  stop(): Promise<void>;
}

const NOT_FOUND = 100;
const COMPARE_FAILED = 101;

/**
 * Whether a failed request certainly had no effect. etcd answers with a 4xx v2 error only when it refused the
 * request or applied it as a failing command, which changes nothing; error 300 (timed out, leader lost,
 * stopped), any 5xx and any request without an answer may have taken effect. A connection that was never
 * made cannot have.
 */
export function classifyKvError(err: unknown): 'fail' | 'info' {
  if (err instanceof V2ApiError) return err.status >= 400 && err.status < 500 && err.errorCode < 300 ? 'fail' : 'info';
  if (err instanceof EndpointsUnavailableError) return err.failures.every((f) => f.cause !== undefined && neverConnected(f.cause)) ? 'fail' : 'info';
  return 'info';
}

function isCode(err: unknown, code: number): boolean {
  return err instanceof V2ApiError && err.errorCode === code;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function startWorkload(options: WorkloadOptions): Workload {
  const recorder = new HistoryRecorder();
  const keyRandom = seededRandom(options.seed ^ 0x5eed);
  const generations = Array.from({ length: options.slots }, () => ({ gen: 0, used: 0 }));
  /** The last value each key was seen to hold or written with: what a CAS expects, so some of them succeed. */
  const lastSeen = new Map<string, string>();
  const tally = {
    read: { ok: 0, fail: 0, info: 0 },
    write: { ok: 0, fail: 0, info: 0 },
    cas: { ok: 0, fail: 0, info: 0 },
    delete: { ok: 0, fail: 0, info: 0 },
  };
  const samples = new Map<string, string>();
  let stopping = false;

  const nextKey = (): string => {
    const slot = Math.floor(keyRandom() * options.slots);
    const g = generations[slot] as { gen: number; used: number };
    if (g.used >= options.opsPerKey) {
      g.gen += 1;
      g.used = 0;
    }
    g.used += 1;
    return `${options.prefix}/s${slot}-g${g.gen}`;
  };

  const runClient = async (index: number): Promise<void> => {
    const endpoint = options.endpoints[index % options.endpoints.length] as string;
    const client = new V2Client({ endpoints: [endpoint], requestTimeoutMs: options.requestTimeoutMs });
    const random = seededRandom(options.seed * 31 + index + 1);
    const id = `c${index}`;
    try {
      for (let seq = 0; !stopping; seq++) {
        const key = nextKey();
        const value = `${id}-${seq}`;
        const roll = random();
        const kind = roll < 0.4 ? 'read' : roll < 0.7 ? 'write' : roll < 0.92 ? 'cas' : 'delete';
        let outcome: 'ok' | 'fail' | 'info' = 'ok';
        const classify = (err: unknown): 'fail' | 'info' => {
          outcome = classifyKvError(err);
          const sample = err instanceof V2ApiError ? `${kind}: error ${err.errorCode} HTTP ${err.status} ${err.reason}` : `${kind}: ${String(err).slice(0, 160)}`;
          const sampleKey = `${outcome} ${sample.replace(/\d+/g, 'N')}`;
          if (!samples.has(sampleKey)) samples.set(sampleKey, `${outcome}: ${sample}`);
          return outcome;
        };
        try {
          switch (kind) {
            case 'read':
              await recorder.run(id, 'read', { key }, async (): Promise<KvOutputs['read']> => {
                try {
                  const res = await client.get(key, { quorum: true });
                  lastSeen.set(key, res.node.value ?? '');
                  return { status: 'ok', value: res.node.value ?? '' };
                } catch (err) {
                  if (isCode(err, NOT_FOUND)) return { status: 'notFound' };
                  throw err;
                }
              }, classify);
              break;
            case 'write':
              await recorder.run(id, 'write', { key, value }, async (): Promise<KvOutputs['write']> => {
                await client.set(key, value);
                lastSeen.set(key, value);
                return { status: 'ok' };
              }, classify);
              break;
            case 'cas': {
              const expected = lastSeen.get(key) ?? `${id}-none`;
              await recorder.run(id, 'cas', { key, expected, value }, async (): Promise<KvOutputs['cas']> => {
                try {
                  await client.set(key, value, { prevValue: expected });
                  lastSeen.set(key, value);
                  return { status: 'ok' };
                } catch (err) {
                  if (isCode(err, COMPARE_FAILED)) return { status: 'compareFailed' };
                  if (isCode(err, NOT_FOUND)) return { status: 'notFound' };
                  throw err;
                }
              }, classify);
              break;
            }
            case 'delete':
              await recorder.run(id, 'delete', { key }, async (): Promise<KvOutputs['delete']> => {
                try {
                  await client.delete(key);
                  return { status: 'ok' };
                } catch (err) {
                  if (isCode(err, NOT_FOUND)) return { status: 'notFound' };
                  throw err;
                }
              }, classify);
              break;
          }
        } catch {
          // Recorded already; a member that is down or cut off is not asked again at once.
          await pause(100 + Math.floor(random() * 200));
        }
        tally[kind][outcome] += 1;
      }
    } finally {
      await client.close();
    }
  };

  const running = Array.from({ length: options.clients }, (_, i) => runClient(i));
  return {
    recorder,
    tally: () => structuredClone(tally),
    errorSamples: () => [...samples.values()],
    async stop() {
      stopping = true;
      await Promise.all(running);
    },
  };
}
