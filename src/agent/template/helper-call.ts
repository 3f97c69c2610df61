import type { HelperOptions } from 'handlebars';
import { TemplateError } from './errors.js';
import type { RenderScope, RenderState } from './render-scope.js';

/** Location Handlebars passes to helpers (`options.loc`); typings omit it. */
interface Loc {
  readonly start?: { readonly line?: number };
}

/**
 * One helper invocation: its name, the template line it sits on, and
 * argument checks that fail with a TemplateError pointing at that line.
 */
export class HelperCall {
  readonly name: string;
  readonly options: HelperOptions;
  readonly #scope: RenderScope;

  constructor(name: string, options: HelperOptions, scope: RenderScope) {
    this.name = name;
    this.options = options;
    this.#scope = scope;
  }

  get state(): RenderState {
    return this.#scope.state;
  }

  get template(): string {
    return this.#scope.template;
  }

  get line(): number | undefined {
    return (this.options as HelperOptions & { loc?: Loc }).loc?.start?.line;
  }

  fail(message: string, options?: ErrorOptions): never {
    throw new TemplateError(this.template, this.line, `${this.name}: ${message}`, options);
  }

  string(value: unknown, what: string): string {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return this.fail(`${what} must be a string, got ${describe(value)}`);
  }

  /** Integers, or strings holding one (values read from keys are strings). */
  int(value: unknown, what: string): number {
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
    if (typeof value === 'string' && /^[+-]?\d+$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
    return this.fail(`${what} must be an integer, got ${describe(value)}`);
  }

  list(value: unknown, what: string): readonly unknown[] {
    if (Array.isArray(value)) return value;
    return this.fail(`${what} must be a list, got ${describe(value)}`);
  }

  stringList(value: unknown, what: string): string[] {
    return this.list(value, what).map((v, i) => this.string(v, `${what}[${i}]`));
  }
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing (an undefined variable?)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `"${value}"`;
  return `${typeof value} ${String(value)}`;
}
