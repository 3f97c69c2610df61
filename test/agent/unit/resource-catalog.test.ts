import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceCatalog } from '../../../src/agent/resource-catalog.js';
import type { ResourceEntry } from '../../../src/agent/resource-entry.js';
import { ConfDirError } from '../../../src/agent/resource-errors.js';
import { silentLogger } from '../../../src/log/logger.js';
import { captureLogger, LEVEL } from './log-capture.js';

const root = mkdtempSync(join(tmpdir(), 'cairn-catalog-'));
after(() => rmSync(root, { recursive: true, force: true }));

function confdir(): { dir: string; resource: (name: string, text: string) => string; template: (name: string, text: string) => void } {
  const dir = mkdtempSync(join(root, 'confdir-'));
  mkdirSync(join(dir, 'conf.d'));
  mkdirSync(join(dir, 'templates'));
  return {
    dir,
    resource(name, text) {
      const file = join(dir, 'conf.d', name);
      writeFileSync(file, text);
      return file;
    },
    template(name, text) {
      writeFileSync(join(dir, 'templates', name), text);
    },
  };
}

const resourceToml = (src: string, dest: string, extra = ''): string => `[template]\nsrc = "${src}"\ndest = "${dest}"\nkeys = ["/k"]\n${extra}`;

/** What an entry's own renderer makes of its template with /k = v. */
function render(entry: ResourceEntry | undefined): string {
  assert.ok(entry !== undefined);
  return entry.renderer.render(entry.spec, { prefix: entry.spec.prefix, pairs: new Map([['/k', 'v']]), env: {} });
}

describe('ResourceCatalog', () => {
  test('loads every resource, sorted by file, with the global prefix applied', async () => {
    const c = confdir();
    c.template('a.tmpl', 'a={{getv "/k"}}');
    c.template('b.tmpl', 'b={{getv "/k"}}');
    const b = c.resource('b.toml', resourceToml('b.tmpl', '/tmp/b.conf'));
    const a = c.resource('a.toml', resourceToml('a.tmpl', '/tmp/a.conf', 'prefix = "/app"\n'));
    const catalog = new ResourceCatalog(c.dir, '/prod', silentLogger());
    const load = await catalog.load();
    assert.deepEqual(load.problems, []);
    assert.deepEqual(load.entries.map((e) => e.spec.file), [a, b]);
    assert.equal(load.entries[0]?.spec.prefix, '/prod/app');
    assert.deepEqual(load.entries[0]?.spec.backendKeys, ['/prod/app/k']);
    assert.deepEqual(catalog.entries, load.entries);
  });

  test('a template broken after a good load keeps the previous version serving', async () => {
    const c = confdir();
    c.template('a.tmpl', 'good={{getv "/k"}}');
    const file = c.resource('a.toml', resourceToml('a.tmpl', '/tmp/a.conf'));
    const { logger, lines } = captureLogger();
    const catalog = new ResourceCatalog(c.dir, '', logger);
    await catalog.load();
    c.template('a.tmpl', 'broken={{#if}}');
    const load = await catalog.load();
    assert.equal(load.problems.length, 1);
    assert.equal(load.problems[0]?.file, file);
    assert.equal(load.problems[0]?.keptPrevious, true);
    assert.match(load.problems[0]?.message ?? '', /a\.tmpl:1: /);
    assert.equal(render(load.entries[0]), 'good=v', 'the old template still renders');
    assert.ok(lines.some((l) => l.level === LEVEL.error && l['keptPrevious'] === true && /template resource rejected/.test(l.msg)));

    c.template('a.tmpl', 'fixed={{getv "/k"}}');
    const fixed = await catalog.load();
    assert.deepEqual(fixed.problems, []);
    assert.equal(render(fixed.entries[0]), 'fixed=v');
  });

  test('a resource file broken after a good load keeps the previous version', async () => {
    const c = confdir();
    c.template('a.tmpl', 'x');
    const file = c.resource('a.toml', resourceToml('a.tmpl', '/tmp/a.conf'));
    const catalog = new ResourceCatalog(c.dir, '', silentLogger());
    const first = await catalog.load();
    c.resource('a.toml', resourceToml('a.tmpl', '/tmp/a.conf', 'reload_command = "x"\n'));
    const load = await catalog.load();
    assert.equal(load.problems.length, 1);
    assert.equal(load.problems[0]?.keptPrevious, true);
    assert.match(load.problems[0]?.message ?? '', new RegExp(`^${file}:5: unknown field "reload_command"`));
    assert.equal(load.entries.length, 1);
    assert.equal(load.entries[0], first.entries[0], 'the very same entry keeps serving');
  });

  test('a new broken resource or template is reported and not loaded; the others are', async () => {
    const c = confdir();
    c.template('good.tmpl', 'ok');
    c.template('bad.tmpl', '{{/if}}');
    c.resource('good.toml', resourceToml('good.tmpl', '/tmp/good.conf'));
    const badToml = c.resource('bad-toml.toml', '[template\nsrc = ');
    const badTemplate = c.resource('bad-template.toml', resourceToml('bad.tmpl', '/tmp/bad.conf'));
    const missingTemplate = c.resource('missing.toml', resourceToml('nope.tmpl', '/tmp/nope.conf'));
    const load = await new ResourceCatalog(c.dir, '', silentLogger()).load();
    assert.deepEqual(load.entries.map((e) => e.spec.name), ['good']);
    const byFile = new Map(load.problems.map((p) => [p.file, p]));
    assert.equal(byFile.size, 3);
    for (const file of [badToml, badTemplate, missingTemplate]) assert.equal(byFile.get(file)?.keptPrevious, false, file);
    assert.match(byFile.get(badToml)?.message ?? '', /invalid TOML/);
    assert.match(byFile.get(badTemplate)?.message ?? '', /bad\.tmpl:1: /);
    assert.match(byFile.get(missingTemplate)?.message ?? '', /nope\.tmpl/);
  });

  test('two resources with the same dest: the second is rejected, naming the first', async () => {
    const c = confdir();
    c.template('t.tmpl', 'x');
    const first = c.resource('a.toml', resourceToml('t.tmpl', '/tmp/same.conf'));
    const second = c.resource('b.toml', resourceToml('t.tmpl', '/tmp/same.conf'));
    const load = await new ResourceCatalog(c.dir, '', silentLogger()).load();
    assert.deepEqual(load.entries.map((e) => e.spec.file), [first]);
    assert.equal(load.problems.length, 1);
    assert.equal(load.problems[0]?.file, second);
    assert.equal(load.problems[0]?.keptPrevious, false);
    assert.equal(load.problems[0]?.message, `dest /tmp/same.conf is already written by ${first}`);
  });

  test('a new resource cannot take the dest of an older one that is broken but still serving', async () => {
    const c = confdir();
    c.template('t.tmpl', 'x');
    const older = c.resource('b.toml', resourceToml('t.tmpl', '/tmp/shared.conf'));
    const catalog = new ResourceCatalog(c.dir, '', silentLogger());
    await catalog.load();
    c.resource('b.toml', '[template]\nsrc = 1\n'); // broken: the old b keeps serving /tmp/shared.conf
    const newer = c.resource('a.toml', resourceToml('t.tmpl', '/tmp/shared.conf')); // sorts first
    const load = await catalog.load();
    const dests = load.entries.map((e) => e.spec.dest);
    assert.equal(new Set(dests).size, dests.length, `two resources write the same file: ${JSON.stringify(load.entries.map((e) => e.spec.file))}`);
    assert.deepEqual(load.entries.map((e) => e.spec.file), [older]);
    const problem = load.problems.find((p) => p.file === newer);
    assert.equal(problem?.keptPrevious, false);
    assert.equal(problem?.message, `dest /tmp/shared.conf is already written by ${older}`);
  });

  test('a new resource cannot take the dest of a healthy older one either', async () => {
    const c = confdir();
    c.template('t.tmpl', 'x');
    const older = c.resource('b.toml', resourceToml('t.tmpl', '/tmp/taken.conf'));
    const catalog = new ResourceCatalog(c.dir, '', silentLogger());
    await catalog.load();
    const newer = c.resource('a.toml', resourceToml('t.tmpl', '/tmp/taken.conf')); // sorts first
    const load = await catalog.load();
    assert.deepEqual(load.entries.map((e) => e.spec.file), [older]);
    assert.deepEqual(load.problems, [{ file: newer, message: `dest /tmp/taken.conf is already written by ${older}`, keptPrevious: false }]);
  });

  test('a removed resource file is dropped', async () => {
    const c = confdir();
    c.template('t.tmpl', 'x');
    c.resource('a.toml', resourceToml('t.tmpl', '/tmp/a.conf'));
    const b = c.resource('b.toml', resourceToml('t.tmpl', '/tmp/b.conf'));
    const catalog = new ResourceCatalog(c.dir, '', silentLogger());
    assert.equal((await catalog.load()).entries.length, 2);
    rmSync(b);
    assert.deepEqual((await catalog.load()).entries.map((e) => e.spec.name), ['a']);
  });

  test('a confdir without conf.d/ is a ConfDirError', async () => {
    const dir = mkdtempSync(join(root, 'empty-'));
    await assert.rejects(new ResourceCatalog(dir, '', silentLogger()).load(), ConfDirError);
  });
});
