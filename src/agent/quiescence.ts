import { parseDurationMs } from './duration.js';

/** `--wait MIN[:MAX]`: how long the keys must stay quiet before a render, and the most a burst can delay it. */
export interface WaitSpec {
  readonly minMs: number;
  readonly maxMs: number;
}

/**
 * consul-template's quiescence timer: each poke pushes the deadline back to
 * `min` after the last change, but never past `max` after the first one.
 * Firing only schedules work that reads the latest data, so the last change
 * of a burst is always in the render.
 */
export class Quiescence {
  readonly #wait: WaitSpec | undefined;
  readonly #fire: () => void;
  #timer: NodeJS.Timeout | undefined;
  #hardDeadline = 0;

  constructor(wait: WaitSpec | undefined, fire: () => void) {
    this.#wait = wait;
    this.#fire = fire;
  }

  poke(): void {
    if (this.#wait === undefined) {
      // Still coalesce the changes of one tick of the event loop.
      this.#timer ??= setTimeout(() => this.#run(), 0);
      return;
    }
    const now = Date.now();
    if (this.#timer === undefined) this.#hardDeadline = now + this.#wait.maxMs;
    else clearTimeout(this.#timer);
    const at = Math.min(now + this.#wait.minMs, this.#hardDeadline);
    this.#timer = setTimeout(() => this.#run(), Math.max(0, at - now));
  }

  #run(): void {
    this.#timer = undefined;
    this.#fire();
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Parses `MIN[:MAX]` durations ("2s", "500ms:5s", bare seconds); MAX defaults to 4×MIN as in consul-template. */
export function parseWait(text: string): WaitSpec | undefined {
  const [minText, maxText, extra] = text.split(':');
  if (minText === undefined || extra !== undefined) return undefined;
  const minMs = parseDurationMs(minText);
  if (minMs === undefined) return undefined;
  const maxMs = maxText === undefined ? minMs * 4 : parseDurationMs(maxText);
  if (maxMs === undefined || maxMs < minMs) return undefined;
  return { minMs, maxMs };
}
