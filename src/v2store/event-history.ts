import { ErrorCode, V2Error } from './errors.js';
import { eventIndex, type V2Event } from './event.js';

/**
 * The last `capacity` events in index order, so a watch can start in the
 * past (waitIndex). Every store mutation adds exactly one event, so the
 * event for index i sits at a computable offset from the oldest one.
 */
export class EventHistory {
  readonly capacity: number;
  readonly #ring: (V2Event | undefined)[];
  #start = 0; // ring slot of the oldest event
  #size = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#ring = new Array<V2Event | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  get firstIndex(): number {
    return this.#size === 0 ? 0 : eventIndex(this.#at(0));
  }

  get lastIndex(): number {
    return this.#size === 0 ? 0 : eventIndex(this.#at(this.#size - 1));
  }

  add(event: V2Event): void {
    if (this.#size < this.capacity) {
      this.#ring[(this.#start + this.#size) % this.capacity] = event;
      this.#size += 1;
    } else {
      this.#ring[this.#start] = event;
      this.#start = (this.#start + 1) % this.capacity;
    }
  }

  /**
   * The first event at or after `sinceIndex` that a watch on `key` would see,
   * undefined when it lies in the future. Throws 401 when the history no
   * longer reaches back to `sinceIndex`.
   */
  scan(key: string, recursive: boolean, sinceIndex: number, storeIndex: number): V2Event | undefined {
    const oldest = this.#size === 0 ? storeIndex + 1 : this.firstIndex;
    if (sinceIndex < oldest) {
      throw new V2Error(
        ErrorCode.EventIndexCleared,
        `the requested history has been cleared [${this.#size === 0 ? 0 : oldest}/${sinceIndex}]`,
        storeIndex,
      );
    }
    if (this.#size === 0 || sinceIndex > this.lastIndex) return undefined;
    const dirPrefix = key.endsWith('/') ? key : `${key}/`;
    for (let i = sinceIndex - oldest; i < this.#size; i++) {
      const event = this.#at(i);
      if (event.refresh === true) continue;
      const eventKey = event.node.key ?? '/';
      let hit = eventKey === key || (recursive && eventKey.startsWith(dirPrefix));
      // Deleting or expiring a directory ends watches on everything below it.
      if (!hit && (event.action === 'delete' || event.action === 'expire') && event.prevNode?.dir === true) {
        hit = key.startsWith(event.prevNode.key ?? '/');
      }
      if (hit) return event;
    }
    return undefined;
  }

  toArray(): V2Event[] {
    const out: V2Event[] = [];
    for (let i = 0; i < this.#size; i++) out.push(this.#at(i));
    return out;
  }

  #at(offset: number): V2Event {
    return this.#ring[(this.#start + offset) % this.capacity] as V2Event;
  }
}
