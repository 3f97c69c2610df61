import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HELPER_NAMES } from '../../../src/agent/template/helpers.js';
import { HandlebarsRenderer } from '../../../src/agent/template/render.js';
import { renderWithLookups, type DnsResolver } from '../../../src/agent/dns-lookups.js';
import { nodeFileExists } from '../../../src/agent/template-files.js';

// templates/README.md documents every helper with a template, its data and
// the exact output; rendering each example keeps the documentation true.
const README = fileURLToPath(new URL('../../../../templates/README.md', import.meta.url));
const NOW = new Date('2024-01-02T03:04:05Z');

const fakeDns: DnsResolver = {
  async lookupIP(name) {
    if (name === 'db.example.internal') return ['10.0.0.12', '10.0.0.11'];
    throw new Error(`unexpected lookup ${name}`);
  },
  async lookupSRV(service, proto, name) {
    assert.deepEqual([service, proto, name], ['http', 'tcp', 'example.internal']);
    return [
      { target: 'app2.example.internal', port: 8080, priority: 10, weight: 5 },
      { target: 'app1.example.internal', port: 8080, priority: 10, weight: 10 },
    ];
  },
};

interface Example {
  readonly section: string;
  readonly template: string;
  readonly kv: Map<string, string>;
  readonly env: Record<string, string>;
  readonly output: string;
}

function parseReadme(text: string): { sections: Map<string, Example[]> } {
  const sections = new Map<string, Example[]>();
  let section: string | undefined;
  let pending: { template: string; kv: Map<string, string>; env: Record<string, string> } | undefined;
  const fence = /^```(\w+)\n([\s\S]*?)\n```$/gm;
  const headings = [...text.matchAll(/^### (.+)$/gm)].map((m) => ({ at: m.index, name: m[1] as string }));
  for (const m of text.matchAll(fence)) {
    const heading = headings.filter((h) => h.at < m.index).at(-1)?.name;
    if (heading !== section) {
      section = heading;
      pending = undefined;
    }
    const [, kind, body] = m as unknown as [string, string, string];
    if (section === undefined) continue;
    if (kind === 'hbs') pending = { template: body, kv: new Map(), env: {} };
    else if (kind === 'kv' || kind === 'env') {
      assert.ok(pending, `${section}: a ${kind} block must follow an hbs block`);
      for (const line of body.split('\n')) {
        const eq = line.indexOf(' = ');
        assert.ok(eq > 0, `${section}: bad ${kind} line ${line}`);
        if (kind === 'kv') pending.kv.set(line.slice(0, eq), line.slice(eq + 3));
        else pending.env[line.slice(0, eq)] = line.slice(eq + 3);
      }
    } else if (kind === 'output') {
      assert.ok(pending, `${section}: an output block must follow an hbs block`);
      const list = sections.get(section) ?? [];
      list.push({ section, ...pending, output: body });
      sections.set(section, list);
      pending = undefined;
    }
  }
  return { sections };
}

const { sections } = parseReadme(readFileSync(README, 'utf8'));

describe('templates/README.md', () => {
  test('documents every helper with at least one checked example', () => {
    const documented = new Set([...sections.keys()].flatMap((s) => s.split(',').map((n) => n.trim())));
    const missing = HELPER_NAMES.filter((name) => !documented.has(name));
    assert.deepEqual(missing, [], `helpers without an example in templates/README.md: ${missing.join(', ')}`);
    for (const name of documented) assert.ok(HELPER_NAMES.includes(name), `README documents unknown helper ${name}`);
  });

  for (const [section, examples] of sections) {
    examples.forEach((example, i) => {
      test(`example ${i + 1} of ${section} renders as documented`, async () => {
        const renderer = new HandlebarsRenderer({
          templates: [{ name: 'example.hbs', file: 'example.hbs', source: `${example.template}\n` }],
          fileExists: nodeFileExists,
        });
        const output = await renderWithLookups(
          renderer,
          { src: 'example.hbs' },
          { prefix: '/', pairs: example.kv, env: example.env, now: NOW },
          { resolver: fakeDns },
        );
        assert.equal(output.replace(/\n$/, ''), example.output);
      });
    });
  }
});
