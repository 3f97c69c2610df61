import type { KvView } from './kv-view.js';
import type { LookupRequest, LookupResults } from './lookups.js';
import { TemplateError } from './errors.js';

/** Everything one render may read. Helpers get it from the scope, never from globals. */
export interface RenderState {
  readonly view: KvView;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now: Date;
  readonly lookups: LookupResults;
  /** Filled by lookup helpers with questions LookupResults could not answer. */
  readonly pending: Map<string, LookupRequest>;
  readonly fileExists: ((path: string) => boolean) | undefined;
}

/** Partials including partials deeper than this are a loop, not a design. */
export const MAX_PARTIAL_DEPTH = 64;

/**
 * Handlebars helpers are registered once per environment but need the data
 * of the render in progress, and errors must name the template file being
 * executed (the main one or a partial). Rendering is synchronous, so one
 * mutable scope per environment holds both for the duration of a render.
 */
export class RenderScope {
  #state: RenderState | undefined;
  readonly #templates: string[] = [];

  run<T>(state: RenderState, template: string, body: () => T): T {
    if (this.#state !== undefined) throw new Error('a render is already in progress in this environment');
    this.#state = state;
    this.#templates.push(template);
    try {
      return body();
    } finally {
      this.#state = undefined;
      this.#templates.length = 0;
    }
  }

  get state(): RenderState {
    if (this.#state === undefined) throw new Error('template helper called outside a render');
    return this.#state;
  }

  /** The file whose code is executing right now. */
  get template(): string {
    return this.#templates[this.#templates.length - 1] ?? '<template>';
  }

  enterPartial(file: string): void {
    if (this.#templates.length > MAX_PARTIAL_DEPTH) {
      throw new TemplateError(this.template, undefined, `partials nest more than ${MAX_PARTIAL_DEPTH} deep (does a partial include itself?)`);
    }
    this.#templates.push(file);
  }

  exitPartial(): void {
    this.#templates.pop();
  }
}
