import type { Change, Listing } from './backend/backend.js';
import { isHiddenBelow } from './backend/v2-nodes.js';

/**
 * The keys under one prefix as of `index`, kept current by applying watch
 * changes in order. Pure: the feed does the I/O.
 */
export class KeyMirror {
  readonly prefix: string;
  readonly pairs = new Map<string, string>();
  index = 0;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** Replaces everything with a fresh listing; returns the keys whose value differs. */
  replace(listing: Listing): string[] {
    const changed: string[] = [];
    for (const [key, value] of listing.pairs) if (this.pairs.get(key) !== value) changed.push(key);
    for (const key of this.pairs.keys()) if (!listing.pairs.has(key)) changed.push(key);
    this.pairs.clear();
    for (const [key, value] of listing.pairs) this.pairs.set(key, value);
    this.index = listing.index;
    return changed;
  }

  /** Applies one change; returns the keys whose value it changed (none for a new or updated directory). */
  apply(change: Change): string[] {
    this.index = Math.max(this.index, change.index);
    if (isHiddenBelow(this.prefix, change.key)) return [];
    if (change.value !== undefined) {
      if (this.pairs.get(change.key) === change.value) return [];
      this.pairs.set(change.key, change.value);
      return [change.key];
    }
    if (!change.removed) {
      // A directory was created or had its TTL updated (etcdctl updatedir): the keys below it stay.
      // Only a key it replaced (set dir=true over a key) goes.
      return this.pairs.delete(change.key) ? [change.key] : [];
    }
    if (!change.dir && this.pairs.delete(change.key)) return [change.key];
    // A directory went away (or a key we did not have): drop everything below it.
    const below = change.key.endsWith('/') ? change.key : `${change.key}/`;
    const removed: string[] = [];
    for (const key of this.pairs.keys()) {
      if (key === change.key || key.startsWith(below)) removed.push(key);
    }
    for (const key of removed) this.pairs.delete(key);
    return removed;
  }
}
