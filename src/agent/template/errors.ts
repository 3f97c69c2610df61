import { CairnError } from '../../util/errors.js';

/**
 * A template that cannot be rendered: syntax error, unknown helper, bad
 * helper argument, missing partial or missing key. The message starts with
 * `template:line:` (line omitted when unknown) so it points at the fix.
 */
export class TemplateError extends CairnError {
  readonly template: string;
  readonly line: number | undefined;
  /** The key involved, for missing keys. */
  readonly key: string | undefined;

  constructor(template: string, line: number | undefined, message: string, options?: ErrorOptions & { key?: string }) {
    super('CAIRN_TEMPLATE', `${line === undefined ? template : `${template}:${line}`}: ${message}`, options);
    this.template = template;
    this.line = line;
    this.key = options?.key;
  }
}

/** getv/get on a key that is not in the resource's view (and no default was given). */
export class KeyMissingError extends TemplateError {
  constructor(template: string, line: number | undefined, helper: string, key: string) {
    super(template, line, `key "${key}" does not exist (${helper}); give a default or check with {{#if (exists "${key}")}}`, { key });
  }
}

/**
 * Converts whatever Handlebars (or a helper) threw while compiling or running
 * `file` into a TemplateError with the best line number available.
 */
export function toTemplateError(err: unknown, file: string): TemplateError {
  if (err instanceof TemplateError) return err;
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return new TemplateError(file, undefined, 'recursion too deep (does a partial include itself?)', { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  // Parser errors: "Parse error on line N:\n<excerpt>\n<caret>\nExpecting ..., got ..."
  const parse = /^Parse error on line (\d+):\n([\s\S]*)$/.exec(message);
  if (parse?.[1] !== undefined && parse[2] !== undefined) {
    const lines = parse[2].split('\n');
    const reason = lines.pop() ?? '';
    const excerpt = lines.map((l) => `  ${l}`).join('\n');
    return new TemplateError(file, Number(parse[1]), `syntax error: ${reason}\n${excerpt}`, { cause: err });
  }
  // Handlebars Exceptions with a location append " - line:column" to the message.
  const lineNumber = (err as { lineNumber?: unknown } | null)?.lineNumber;
  return new TemplateError(file, typeof lineNumber === 'number' ? lineNumber : undefined, message.replace(/ - \d+:\d+$/, ''), { cause: err });
}
