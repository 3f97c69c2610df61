import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTemplateDir, nodeFileExists } from '../../src/agent/template-files.js';
import { HandlebarsRenderer } from '../../src/agent/template/render.js';

describe('loading the templates directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-templates-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('reads files recursively, skips dot-files, names them by relative path', async () => {
    mkdirSync(join(dir, 'partials'));
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, 'nginx.conf.tmpl'), 'http { {{> partials/upstream name="web"}} }');
    writeFileSync(join(dir, 'partials', 'upstream.hbs'), 'upstream {{name}}');
    writeFileSync(join(dir, 'plain.conf'), 'static');
    writeFileSync(join(dir, '.nginx.conf.tmpl.swp'), 'editor junk');
    writeFileSync(join(dir, '.git', 'HEAD'), 'ref');
    const templates = await loadTemplateDir(dir);
    assert.deepEqual(templates.map((t) => t.name), ['nginx.conf.tmpl', 'partials/upstream.hbs', 'plain.conf']);
    assert.equal(templates[1]?.file, join(dir, 'partials', 'upstream.hbs'));
    const renderer = new HandlebarsRenderer({ templates });
    const ctx = { prefix: '/', pairs: new Map<string, string>(), env: {} };
    assert.equal(renderer.render({ src: 'nginx.conf.tmpl' }, ctx), 'http { upstream web }');
    assert.equal(renderer.render({ src: 'plain.conf' }, ctx), 'static', 'any file can be a resource src');
  });

  test('a missing directory is an empty set', async () => {
    assert.deepEqual(await loadTemplateDir(join(dir, 'nope')), []);
  });

  test('nodeFileExists', () => {
    assert.equal(nodeFileExists(dir), true);
    assert.equal(nodeFileExists(join(dir, 'nope')), false);
  });
});
