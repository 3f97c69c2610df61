import { EndpointsUnavailableError, V2ApiError, V2Client } from '../../src/client/v2-client.js';

/**
 * Concurrent writers for failover tests. Each writer owns its keys and
 * writes each once with a unique value through one member. An answered
 * write is acknowledged; a write that got no answer (member killed) or an
 * internal error (timed out, leader lost) may or may not have happened and
 * is not counted. A writer whose member stops answering gives up.
 */
export class ClusterWriters {
  /** key → value of every acknowledged write. */
  readonly acked = new Map<string, string>();
  #stop = false;
  readonly #running: Promise<void>[] = [];
  readonly #clients: V2Client[] = [];
  /** Acknowledged writes per writer, for "has everyone made progress" checks. */
  readonly progress: number[] = [];

  constructor(readonly prefix: string) {}

  /** Starts one writer through `url`; it runs until stop(). */
  add(url: string): void {
    const client = new V2Client({ endpoints: [url], requestTimeoutMs: 30_000 });
    this.#clients.push(client);
    const writer = this.progress.length;
    this.progress.push(0);
    this.#running.push(
      (async () => {
        for (let n = 0; !this.#stop; n++) {
          const key = `${this.prefix}/w${writer}-${n}`;
          const value = `v${writer}-${n}-${Math.random().toString(36).slice(2, 8)}`;
          try {
            await client.set(key, value);
            this.acked.set(key, value);
            this.progress[writer] = (this.progress[writer] as number) + 1;
          } catch (err) {
            if (err instanceof EndpointsUnavailableError) return;
            if (err instanceof V2ApiError && err.errorCode === 300) continue;
            throw err;
          }
        }
      })(),
    );
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#running);
    await Promise.all(this.#clients.map((c) => c.close()));
  }
}
