import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Handlebars from 'handlebars';
import fc from 'fast-check';
import { TemplateError } from '../../../src/agent/template/errors.js';
import { HandlebarsRenderer } from '../../../src/agent/template/render.js';
import { assertTemplateError, render, renderError, sources, TEMPLATE_FILE } from './fixtures.js';

const P = (name: string) => `/etc/cairn/templates/${name}`;

describe('partials from the templates directory', () => {
  test('*.tmpl and *.hbs files are partials by base name and by file name', () => {
    const partials = { 'upstream.hbs': 'U[{{name}}]', 'footer.tmpl': '# end', 'sub/inner.hbs': 'I', 'notes.txt': 'not a partial' };
    assert.equal(render('{{> upstream name="web"}} {{> "upstream.hbs" name="db"}} {{> footer}} {{> sub/inner}}', { partials }), 'U[web] U[db] # end I');
  });

  test('partials see the same keys and helpers', () => {
    const partials = { 'port.hbs': 'port {{getv "/port"}}' };
    assert.equal(render('{{> port}};', { partials, pairs: { '/port': '80' } }), 'port 80;');
  });

  test('a partial named literally must exist: rejected before rendering, with the line', () => {
    const err = renderError('a\n\n{{> nothere}}', { partials: { 'x.hbs': 'x' } });
    assertTemplateError(err, TEMPLATE_FILE, 3, 'partial "nothere" not found');
    assertTemplateError(renderError('{{> notes}}', { partials: { 'notes.txt': 'n' } }), TEMPLATE_FILE, 1, 'partial "notes" not found');
  });

  test('a partial block with a fallback may be missing', () => {
    assert.equal(render('{{#> maybe}}fallback{{/maybe}}'), 'fallback');
  });

  test('x.tmpl and x.hbs make "x" ambiguous; the full names still work', () => {
    const partials = { 'x.tmpl': 'T', 'x.hbs': 'H' };
    assertTemplateError(renderError('{{> x}}', { partials }), TEMPLATE_FILE, 1, 'partial "x" is ambiguous (x.hbs, x.tmpl)');
    assert.equal(render('{{> "x.hbs"}}{{> "x.tmpl"}}', { partials }), 'HT');
  });

  test('errors inside a partial name the partial file and its line', () => {
    const partials = { 'inner.hbs': 'first\nsecond {{getv "/absent"}}' };
    const err = renderError('main\n{{> inner}}', { partials });
    assertTemplateError(err, P('inner.hbs'), 2, 'key "/absent" does not exist');
    assert.equal(err.key, '/absent');
  });

  test('after a partial returns, errors name the main template again', () => {
    const err = renderError('{{> ok}}\n{{getv "/absent"}}', { partials: { 'ok.hbs': 'fine' } });
    assertTemplateError(err, TEMPLATE_FILE, 2, 'key "/absent"');
  });

  test('a syntax error in a partial is reported against the partial', () => {
    const err = renderError('{{> broken}}', { partials: { 'broken.hbs': 'one\n{{#if x}}\nnever closed' } });
    assert.equal(err.template, P('broken.hbs'));
    assert.match(err.message, /syntax error|doesn't match/);
  });

  test('a partial that includes itself forever fails cleanly', () => {
    const err = renderError('{{> loop}}', { partials: { 'loop.hbs': 'x{{> loop}}' } });
    assert.equal(err.template, P('loop.hbs'));
    assert.match(err.message, /nest more than \d+ deep/);
  });

  test('bounded recursion through a partial works', () => {
    const partials = { 'count.hbs': '{{n}}{{#if (lt n 3)}},{{> count n=(add n 1)}}{{/if}}' };
    assert.equal(render('{{> count n=1}}', { partials }), '1,2,3');
  });
});

describe('template errors', () => {
  test('a syntax error names the file and line', () => {
    const err = renderError('ok\nok\n{{#each (getvs "/a/*")}}\n{{/if}}');
    assertTemplateError(err, TEMPLATE_FILE, 3, "each doesn't match if");
    assertTemplateError(renderError('line\nbroken {{getv "/a"'), TEMPLATE_FILE, 2, 'syntax error');
  });

  test('check() rejects a broken template before any data is rendered, and a missing template', () => {
    const renderer = new HandlebarsRenderer({ templates: sources('{{#if}}') });
    assert.throws(() => renderer.check({ src: 't.tmpl' }), (err: unknown) => err instanceof TemplateError && err.template === TEMPLATE_FILE);
    assert.throws(
      () => renderer.check({ src: 'missing.tmpl' }),
      (err: unknown) => err instanceof TemplateError && err.template === 'missing.tmpl' && /template not found \(known: t\.tmpl\)/.test(err.message),
    );
  });

  test('resource src may be written with ./', () => {
    const renderer = new HandlebarsRenderer({ templates: sources('hi') });
    assert.equal(renderer.render({ src: './t.tmpl' }, { prefix: '/', pairs: new Map(), env: {} }), 'hi');
  });

  test('a failed render leaves the renderer usable', () => {
    const renderer = new HandlebarsRenderer({ templates: sources('{{getv "/k"}}') });
    const ctx = (pairs: Record<string, string>) => ({ prefix: '/', pairs: new Map(Object.entries(pairs)), env: {} });
    assert.throws(() => renderer.render({ src: 't.tmpl' }, ctx({})), TemplateError);
    assert.equal(renderer.render({ src: 't.tmpl' }, ctx({ '/k': 'v' })), 'v');
  });
});

describe('isolation', () => {
  test('renderers do not share partials, and the global Handlebars is untouched', () => {
    const a = new HandlebarsRenderer({ templates: sources('{{> p}}', { 'p.hbs': 'A' }) });
    const b = new HandlebarsRenderer({ templates: sources('{{> p}}', { 'p.hbs': 'B' }) });
    const ctx = { prefix: '/', pairs: new Map<string, string>(), env: {} };
    assert.equal(a.render({ src: 't.tmpl' }, ctx), 'A');
    assert.equal(b.render({ src: 't.tmpl' }, ctx), 'B');
    assert.equal(Handlebars.helpers['getv'], undefined);
    assert.equal(Handlebars.partials['p'], undefined);
  });
});

describe('deterministic output', () => {
  const template = `{{#each (lsdir "/services") as |svc|}}
upstream {{svc}} {
{{#each (gets (printf "/services/%s/*" svc))}}  server {{value}}; # {{base key}}
{{/each}}
}
{{/each}}
all: {{join (getvs "/services/*/*") ","}}
names: {{join (ls "/services") ","}}
`;

  test('the same data in any insertion order renders identical bytes', () => {
    const keyArb = fc.tuple(fc.constantFrom('web', 'db', 'api', 'cache'), fc.stringMatching(/^[a-z0-9]{1,6}$/));
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(keyArb, fc.ipV4(), fc.integer({ min: 1, max: 65535 })), { selector: ([k]) => k.join('/'), minLength: 1, maxLength: 30 }),
        fc.func(fc.integer()),
        (entries, shuffleKey) => {
          const pairs = entries.map(([[svc, inst], ip, port]) => [`/services/${svc}/${inst}`, `${ip}:${port}`] as const);
          const shuffled = [...pairs].sort((x, y) => shuffleKey(x[0]) - shuffleKey(y[0]) || (x[0] < y[0] ? 1 : -1));
          const a = render(template, { pairs: new Map(pairs) });
          const b = render(template, { pairs: new Map(shuffled) });
          const c = render(template, { pairs: new Map([...pairs].reverse()) });
          assert.equal(b, a);
          assert.equal(c, a);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('the output is sorted, not just stable', () => {
    const out = render(template, { pairs: { '/services/web/b': '10.0.0.2:80', '/services/api/z': '10.0.0.9:80', '/services/web/a': '10.0.0.1:80' } });
    assert.equal(
      out,
      'upstream api {\n  server 10.0.0.9:80; # z\n}\nupstream web {\n  server 10.0.0.1:80; # a\n  server 10.0.0.2:80; # b\n}\nall: 10.0.0.1:80,10.0.0.2:80,10.0.0.9:80\nnames: api,web\n',
    );
  });
});
