import type Handlebars from 'handlebars';
import type { HelperOptions } from 'handlebars';
import { TemplateError } from './errors.js';
import { HelperCall } from './helper-call.js';
import type { HelperTable } from './helper-table.js';
import { dataHelpers } from './helpers-data.js';
import { valueHelpers } from './helpers-values.js';
import type { RenderScope } from './render-scope.js';

export const helpers: HelperTable = { ...dataHelpers, ...valueHelpers };

/** Every helper name a template can call, for documentation checks. */
export const HELPER_NAMES: readonly string[] = Object.keys(helpers).sort();

type HandlebarsEnv = ReturnType<typeof Handlebars.create>;

/**
 * Registers the helpers on one Handlebars environment. Each call checks its
 * arity and turns failures into TemplateErrors naming the template and line.
 * A boolean helper used as a block (`{{#exists "/k"}}…{{else}}…{{/exists}}`)
 * acts like #if.
 */
export function registerHelpers(hb: HandlebarsEnv, scope: RenderScope): void {
  for (const [name, helper] of Object.entries(helpers)) {
    hb.registerHelper(name, function (this: unknown, ...all: unknown[]) {
      const options = all[all.length - 1] as HelperOptions;
      const args = all.slice(0, -1);
      const call = new HelperCall(name, options, scope);
      if (args.length < helper.min || args.length > helper.max) {
        const range = helper.min === helper.max ? `${helper.min}` : helper.max === Infinity ? `at least ${helper.min}` : `${helper.min} or ${helper.max}`;
        // `{{dir}}` inside a #with over an object with a "dir" field calls the helper, not the field.
        const hint = args.length === 0 ? ` (to read a field called "${name}", write {{this.${name}}})` : '';
        call.fail(`takes ${range} argument${range === '1' ? '' : 's'}, got ${args.length}${hint}`);
      }
      const result = helper.run(call, args);
      if (typeof options.fn === 'function') {
        if (typeof result !== 'boolean') call.fail(`is not a block helper; use {{#each (${name} ...)}} or {{#with (${name} ...)}}`);
        return result ? options.fn(this) : options.inverse(this);
      }
      return result;
    });
  }
  // Handlebars' own helperMissing throws without a location; say where.
  hb.registerHelper('helperMissing', function (...all: unknown[]) {
    const options = all[all.length - 1] as HelperOptions & { name?: string };
    if (all.length === 1) return undefined; // {{unknownField}}: renders empty, as with strict: false
    throw new TemplateError(scope.template, new HelperCall('?', options, scope).line, `unknown helper "${options.name ?? '?'}"`);
  });
}
