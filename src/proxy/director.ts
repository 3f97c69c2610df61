/**
 * The members' client URLs a proxy forwards to, in the order it tries them,
 * with etcd's failure wait: an endpoint that failed a request is left out
 * for a while, then tried again. The order is shuffled whenever the list is
 * replaced, so that many proxies spread over the members.
 */
export class Director {
  #endpoints: string[] = [];
  readonly #failedUntil = new Map<string, number>();
  readonly #failureWaitMs: number;
  readonly #now: () => number;
  readonly #random: () => number;

  constructor(options: { failureWaitMs: number; now?: () => number; random?: () => number }) {
    this.#failureWaitMs = options.failureWaitMs;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /** Replaces the list; endpoints already known keep their place and failure state. */
  set(urls: readonly string[]): void {
    const wanted = new Set(urls.map((u) => u.replace(/\/+$/, '')));
    const kept = this.#endpoints.filter((u) => wanted.has(u));
    const added = [...wanted].filter((u) => !kept.includes(u));
    for (let i = added.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [added[i], added[j]] = [added[j] as string, added[i] as string];
    }
    this.#endpoints = [...kept, ...added];
    for (const url of [...this.#failedUntil.keys()]) if (!wanted.has(url)) this.#failedUntil.delete(url);
  }

  all(): readonly string[] {
    return this.#endpoints;
  }

  /** Endpoints not in their failure wait, in the order to try them. */
  available(): string[] {
    const now = this.#now();
    return this.#endpoints.filter((u) => (this.#failedUntil.get(u) ?? 0) <= now);
  }

  /** The endpoint gave no answer: leave it out for the failure wait, after the others. */
  failed(url: string): void {
    this.#failedUntil.set(url, this.#now() + this.#failureWaitMs);
  }

  succeeded(url: string): void {
    this.#failedUntil.delete(url);
  }
}
