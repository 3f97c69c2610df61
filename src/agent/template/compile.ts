import Handlebars from 'handlebars';
import type { TemplateDelegate } from 'handlebars';
import { TemplateError, toTemplateError } from './errors.js';
import { registerHelpers } from './helpers.js';
import { RenderScope } from './render-scope.js';

/** A template file's text, named by its path relative to the templates directory. */
export interface TemplateSource {
  /** Relative path with `/` separators, e.g. "nginx.conf.tmpl" or "partials/upstream.hbs". */
  readonly name: string;
  /** The path used in error messages. */
  readonly file: string;
  readonly source: string;
}

export interface CompiledTemplate {
  readonly name: string;
  readonly file: string;
  readonly fn: TemplateDelegate;
}

/** Files with these extensions double as partials. */
export const PARTIAL_EXTENSIONS: readonly string[] = ['.tmpl', '.hbs'];

// A config file is not HTML (noEscape); unknown fields render empty as in Go
// templates without missingkey=error (strict: false). Missing keys are caught
// by getv/get instead.
const COMPILE_OPTIONS = { noEscape: true, strict: false } as const;

type PartialEntry =
  | { readonly kind: 'file'; readonly source: TemplateSource }
  | { readonly kind: 'ambiguous'; readonly files: string[] };

/**
 * One Handlebars environment (Handlebars.create(), so helpers and partials
 * never leak between renderers) over one snapshot of the templates
 * directory. Every *.tmpl/*.hbs file is a partial, under its relative path
 * without extension (`{{> nginx-upstreams}}`) and with it
 * (`{{> "nginx-upstreams.hbs"}}`). Compilation checks syntax and static
 * partial references eagerly, so a broken template is rejected before it
 * is ever rendered.
 */
export class TemplateEnvironment {
  readonly scope = new RenderScope();
  readonly #hb = Handlebars.create();
  readonly #sources = new Map<string, TemplateSource>();
  readonly #partials = new Map<string, PartialEntry>();
  readonly #compiled = new Map<string, CompiledTemplate | TemplateError>();
  readonly #checked = new Map<string, TemplateError | undefined>();

  constructor(sources: readonly TemplateSource[]) {
    registerHelpers(this.#hb, this.scope);
    for (const source of [...sources].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const name = normalizeName(source.name);
      this.#sources.set(name, source);
      const ext = PARTIAL_EXTENSIONS.find((e) => name.endsWith(e));
      if (ext === undefined) continue;
      this.#addPartial(name, source);
      this.#addPartial(name.slice(0, -ext.length), source);
    }
    for (const [name, entry] of this.#partials) this.#hb.registerPartial(name, this.#partialFn(name, entry));
  }

  get templateNames(): readonly string[] {
    return [...this.#sources.keys()];
  }

  has(name: string): boolean {
    return this.#sources.has(normalizeName(name));
  }

  /** Compiles (once) the template at `name`. Throws TemplateError on syntax errors or unknown partials. */
  compile(name: string): CompiledTemplate {
    const key = normalizeName(name);
    const cached = this.#compiled.get(key);
    if (cached instanceof TemplateError) throw cached;
    if (cached !== undefined) return cached;
    const source = this.#sources.get(key);
    if (source === undefined) {
      throw new TemplateError(name, undefined, `template not found (known: ${[...this.#sources.keys()].join(', ') || 'none'})`);
    }
    try {
      this.#check(source, []);
      const compiled = { name: key, file: source.file, fn: this.#hb.compile(source.source, COMPILE_OPTIONS) };
      this.#compiled.set(key, compiled);
      return compiled;
    } catch (err) {
      const error = toTemplateError(err, source.file);
      this.#compiled.set(key, error);
      throw error;
    }
  }

  #addPartial(name: string, source: TemplateSource): void {
    const existing = this.#partials.get(name);
    if (existing === undefined) this.#partials.set(name, { kind: 'file', source });
    else if (existing.kind === 'file') this.#partials.set(name, { kind: 'ambiguous', files: [existing.source.name, source.name] });
    else existing.files.push(source.name);
  }

  /** Parses `source` and, recursively, every partial it names statically. */
  #check(source: TemplateSource, path: readonly string[]): void {
    if (this.#checked.has(source.file)) {
      const error = this.#checked.get(source.file);
      if (error !== undefined) throw error;
      return;
    }
    if (path.includes(source.file)) return; // recursion is legal; the depth guard stops runaway loops
    let error: TemplateError | undefined;
    try {
      let ast: hbs.AST.Program;
      try {
        ast = this.#hb.parse(source.source);
      } catch (err) {
        throw toTemplateError(err, source.file);
      }
      for (const ref of partialRefs(ast)) {
        const entry = this.#partials.get(ref.name);
        if (entry === undefined) {
          throw new TemplateError(source.file, ref.line, `partial "${ref.name}" not found (partials are the *.tmpl and *.hbs files of the templates directory)`);
        }
        if (entry.kind === 'ambiguous') {
          throw new TemplateError(source.file, ref.line, `partial "${ref.name}" is ambiguous (${entry.files.join(', ')}); name it with its extension, e.g. {{> "${entry.files[0]}"}}`);
        }
        this.#check(entry.source, [...path, source.file]);
      }
    } catch (err) {
      error = toTemplateError(err, source.file);
    }
    this.#checked.set(source.file, error);
    if (error !== undefined) throw error;
  }

  #partialFn(name: string, entry: PartialEntry): TemplateDelegate {
    let compiled: TemplateDelegate | undefined;
    return (context: unknown, options?: Handlebars.RuntimeOptions) => {
      if (entry.kind === 'ambiguous') {
        throw new TemplateError(this.scope.template, undefined, `partial "${name}" is ambiguous (${entry.files.join(', ')})`);
      }
      const { file } = entry.source;
      this.scope.enterPartial(file);
      try {
        compiled ??= this.#hb.compile(entry.source.source, COMPILE_OPTIONS);
        return compiled(context, options);
      } catch (err) {
        throw toTemplateError(err, file);
      } finally {
        this.scope.exitPartial();
      }
    };
  }
}

function normalizeName(name: string): string {
  return name.replace(/\\/g, '/').replace(/^(\.\/)+/, '').replace(/^\/+/, '');
}

interface PartialRef {
  readonly name: string;
  readonly line: number | undefined;
}

/**
 * Partials named literally (`{{> name}}`, `{{> "name.hbs"}}`). Dynamic names
 * are resolved at render time, and `{{#> name}}fallback{{/name}}` may
 * legitimately be missing, so neither is checked here.
 */
function partialRefs(program: hbs.AST.Program): PartialRef[] {
  const refs: PartialRef[] = [];
  const visit = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    const n = node as { type?: string; name?: { type?: string; original?: unknown }; loc?: { start?: { line?: number } } };
    if (n.type === 'PartialStatement' && (n.name?.type === 'PathExpression' || n.name?.type === 'StringLiteral')) {
      refs.push({ name: String(n.name.original), line: n.loc?.start?.line });
    }
    for (const child of ['body', 'program', 'inverse'] as const) {
      const value = (node as Record<string, unknown>)[child];
      if (Array.isArray(value)) value.forEach(visit);
      else visit(value);
    }
  };
  visit(program);
  return refs;
}
