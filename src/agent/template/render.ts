import type { ResourceSpec } from '../resource.js';
import { TemplateEnvironment, type CompiledTemplate, type TemplateSource } from './compile.js';
import { toTemplateError } from './errors.js';
import { KvView } from './kv-view.js';
import { NO_LOOKUPS, type LookupRequest, type LookupResults } from './lookups.js';
import type { RenderState } from './render-scope.js';

/**
 * The Go-cased aliases of KVPair and SrvView live on their prototypes;
 * every other prototype property stays off limits, as Handlebars defaults.
 */
export const PROTO_PROPERTIES: readonly string[] = ['Key', 'Value', 'Target', 'Port', 'Priority', 'Weight'];
const RUNTIME_OPTIONS = { allowedProtoProperties: Object.fromEntries(PROTO_PROPERTIES.map((p) => [p, true])) };

/**
 * Views by pairs object and prefix. Callers hand the same map to several
 * resources only while it does not change (one --onetime or --interval
 * pass), so a view built for one resource serves the others.
 */
const views = new WeakMap<ReadonlyMap<string, string>, Map<string, KvView>>();

function sharedView(prefix: string, pairs: ReadonlyMap<string, string>): KvView {
  let byPrefix = views.get(pairs);
  if (byPrefix === undefined) {
    byPrefix = new Map();
    views.set(pairs, byPrefix);
  }
  let view = byPrefix.get(prefix);
  if (view === undefined) {
    view = KvView.fromBackend(prefix, pairs);
    byPrefix.set(prefix, view);
  }
  return view;
}

/** What one render of one resource sees. */
export interface RenderContext {
  /** The resource's effective prefix; stripped from `pairs` keys as confd does. */
  readonly prefix: string;
  /** Backend keys (absolute, prefix included) → values. Order does not matter. Must not change once passed in. */
  readonly pairs: ReadonlyMap<string, string>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The instant `datetime` reports; defaults to now. */
  readonly now?: Date;
  /** DNS answers from a previous pass (see lookups.ts). */
  readonly lookups?: LookupResults;
}

export interface RenderInput {
  /** Keys as the template sees them (prefix already stripped). */
  readonly view: KvView;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now?: Date;
  readonly lookups?: LookupResults;
}

export interface RenderResult {
  readonly output: string;
  /** DNS questions this pass could not answer; non-empty means render again with the answers. */
  readonly pendingLookups: readonly LookupRequest[];
}

export interface Renderer {
  /** Throws TemplateError. */
  render(resource: Pick<ResourceSpec, 'src'>, ctx: RenderContext): string;
}

export interface RendererOptions {
  /** Every file of the templates directory (see loadTemplateDir). */
  readonly templates: readonly TemplateSource[];
  /** Backs the fileExists helper; the impure caller supplies it. */
  readonly fileExists?: (path: string) => boolean;
}

/**
 * Pure rendering: the same templates, pairs, env, clock and DNS answers
 * always give the same bytes. Templates compile once per renderer; build a
 * new renderer when the templates directory changes.
 */
export class HandlebarsRenderer implements Renderer {
  readonly environment: TemplateEnvironment;
  readonly #fileExists: ((path: string) => boolean) | undefined;

  constructor(options: RendererOptions) {
    this.environment = new TemplateEnvironment(options.templates);
    this.#fileExists = options.fileExists;
  }

  /** Compiles the resource's template now; throws TemplateError if it is broken. */
  check(resource: Pick<ResourceSpec, 'src'>): void {
    this.environment.compile(resource.src);
  }

  render(resource: Pick<ResourceSpec, 'src'>, ctx: RenderContext): string {
    return this.execute(resource, ctx).output;
  }

  /** Like render, and also reports DNS lookups the template needs answered. */
  execute(resource: Pick<ResourceSpec, 'src'>, ctx: RenderContext): RenderResult {
    const template = this.environment.compile(resource.src);
    return this.renderTemplate(template, {
      view: sharedView(ctx.prefix, ctx.pairs),
      env: ctx.env,
      ...(ctx.now === undefined ? {} : { now: ctx.now }),
      ...(ctx.lookups === undefined ? {} : { lookups: ctx.lookups }),
    });
  }

  renderTemplate(template: CompiledTemplate, input: RenderInput): RenderResult {
    const state: RenderState = {
      view: input.view,
      env: input.env,
      now: input.now ?? new Date(),
      lookups: input.lookups ?? NO_LOOKUPS,
      pending: new Map(),
      fileExists: this.#fileExists,
    };
    const output = this.environment.scope.run(state, template.file, () => {
      try {
        return template.fn({}, RUNTIME_OPTIONS);
      } catch (err) {
        throw toTemplateError(err, template.file);
      }
    });
    return { output, pendingLookups: [...state.pending.values()] };
  }
}
