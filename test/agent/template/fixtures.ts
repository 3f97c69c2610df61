import assert from 'node:assert/strict';
import { TemplateError } from '../../../src/agent/template/errors.js';
import { HandlebarsRenderer, type RenderResult } from '../../../src/agent/template/render.js';
import type { TemplateSource } from '../../../src/agent/template/compile.js';
import type { LookupResults } from '../../../src/agent/template/lookups.js';

export const TEMPLATE_FILE = '/etc/cairn/templates/t.tmpl';

export interface RenderOptions {
  readonly pairs?: Record<string, string> | ReadonlyMap<string, string>;
  readonly env?: Record<string, string>;
  readonly partials?: Record<string, string>;
  readonly prefix?: string;
  readonly now?: Date;
  readonly lookups?: LookupResults;
  readonly fileExists?: (path: string) => boolean;
}

export function sources(main: string, partials: Record<string, string> = {}): TemplateSource[] {
  return [
    { name: 't.tmpl', file: TEMPLATE_FILE, source: main },
    ...Object.entries(partials).map(([name, source]) => ({ name, file: `/etc/cairn/templates/${name}`, source })),
  ];
}

export function execute(main: string, options: RenderOptions = {}): RenderResult {
  const renderer = new HandlebarsRenderer({
    templates: sources(main, options.partials),
    ...(options.fileExists === undefined ? {} : { fileExists: options.fileExists }),
  });
  const pairs = options.pairs instanceof Map ? options.pairs : new Map(Object.entries(options.pairs ?? {}));
  return renderer.execute(
    { src: 't.tmpl' },
    {
      prefix: options.prefix ?? '/',
      pairs,
      env: options.env ?? {},
      now: options.now ?? new Date('2024-01-02T03:04:05.678Z'),
      ...(options.lookups === undefined ? {} : { lookups: options.lookups }),
    },
  );
}

export function render(main: string, options: RenderOptions = {}): string {
  return execute(main, options).output;
}

/** Renders expecting a TemplateError; returns it for further checks. */
export function renderError(main: string, options: RenderOptions = {}): TemplateError {
  try {
    render(main, options);
  } catch (err) {
    assert.ok(err instanceof TemplateError, `expected a TemplateError, got ${String(err)}`);
    assert.equal(err.code, 'CAIRN_TEMPLATE');
    return err;
  }
  assert.fail('render succeeded but should have failed');
}

/** Asserts the error points at `file:line` and says `fragment`. */
export function assertTemplateError(err: TemplateError, file: string, line: number | undefined, fragment: string | RegExp): void {
  assert.equal(err.template, file, err.message);
  assert.equal(err.line, line, err.message);
  assert.ok(err.message.startsWith(line === undefined ? `${file}: ` : `${file}:${line}: `), err.message);
  if (typeof fragment === 'string') assert.ok(err.message.includes(fragment), err.message);
  else assert.match(err.message, fragment);
}
