/** Anything with an absolute expiry that the heap can track in place. */
export interface Expiring {
  expireAt: number;
  heapIndex: number;
}

/**
 * A binary min-heap on `expireAt`. Items remember their slot so a TTL
 * change or a delete is O(log n) rather than a scan.
 */
export class TtlHeap<T extends Expiring> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  top(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#up(item.heapIndex);
  }

  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  remove(item: T): void {
    const i = item.heapIndex;
    if (i < 0 || this.#items[i] !== item) return;
    const last = this.#items.pop() as T;
    item.heapIndex = -1;
    if (last === item) return;
    this.#items[i] = last;
    last.heapIndex = i;
    this.#down(i);
    this.#up(last.heapIndex);
  }

  /** Re-position an item whose expireAt changed. */
  update(item: T): void {
    if (item.heapIndex < 0 || this.#items[item.heapIndex] !== item) {
      this.push(item);
      return;
    }
    this.#down(item.heapIndex);
    this.#up(item.heapIndex);
  }

  #swap(i: number, j: number): void {
    const a = this.#items[i] as T;
    const b = this.#items[j] as T;
    this.#items[i] = b;
    this.#items[j] = a;
    b.heapIndex = i;
    a.heapIndex = j;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((this.#items[parent] as T).expireAt <= (this.#items[i] as T).expireAt) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < n && (this.#items[l] as T).expireAt < (this.#items[smallest] as T).expireAt) smallest = l;
      if (r < n && (this.#items[r] as T).expireAt < (this.#items[smallest] as T).expireAt) smallest = r;
      if (smallest === i) return;
      this.#swap(i, smallest);
      i = smallest;
    }
  }
}
