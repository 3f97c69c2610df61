import { randomBytes } from 'node:crypto';

interface Waiter {
  resolve(value: unknown): void;
  reject(err: unknown): void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Client requests waiting for their log entry to be applied on this member,
 * by request id. Ids start with a random per-process prefix: an entry this
 * member proposed before a restart may still commit afterwards, and must not
 * be taken for a new request that happens to reuse its counter.
 */
export class Proposals {
  readonly #waiters = new Map<string, Waiter>();
  readonly #prefix = randomBytes(6).toString('hex');
  #seq = 0;

  nextId(): string {
    this.#seq += 1;
    return `${this.#prefix}-${this.#seq.toString(36)}`;
  }

  has(id: string): boolean {
    return this.#waiters.has(id);
  }

  get size(): number {
    return this.#waiters.size;
  }

  /** Resolves when `resolve(id)` is called, rejects with `timeoutError()` after `timeoutMs`. */
  wait<T>(id: string, timeoutMs: number, timeoutError: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(id);
        reject(timeoutError());
      }, timeoutMs);
      this.#waiters.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
    });
  }

  resolve(id: string, value: unknown): void {
    const w = this.#waiters.get(id);
    if (w === undefined) return;
    this.#waiters.delete(id);
    clearTimeout(w.timer);
    w.resolve(value);
  }

  reject(id: string, err: unknown): void {
    const w = this.#waiters.get(id);
    if (w === undefined) return;
    this.#waiters.delete(id);
    clearTimeout(w.timer);
    w.reject(err);
  }

  rejectAll(err: () => Error): void {
    for (const id of [...this.#waiters.keys()]) this.reject(id, err());
  }
}
