import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderWithLookups, resolveLookups, systemResolver, type DnsResolver } from '../../src/agent/dns-lookups.js';
import { TemplateError } from '../../src/agent/template/errors.js';
import { HandlebarsRenderer } from '../../src/agent/template/render.js';
import { sources } from './template/fixtures.js';

const ctx = { prefix: '/', pairs: new Map<string, string>(), env: {} };

function counting(answers: Record<string, string[]>, srv: Record<string, { target: string; port: number; priority: number; weight: number }[]> = {}) {
  const calls: string[] = [];
  const resolver: DnsResolver = {
    async lookupIP(name) {
      calls.push(`ip ${name}`);
      const found = answers[name];
      if (found === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      return found;
    },
    async lookupSRV(service, proto, name) {
      calls.push(`srv ${service} ${proto} ${name}`);
      return srv[`${service}/${proto}/${name}`] ?? [];
    },
  };
  return { resolver, calls };
}

describe('rendering with DNS lookups', () => {
  test('localhost resolves through the system resolver (/etc/hosts), sorted', async () => {
    const ips = await systemResolver.lookupIP('localhost');
    assert.ok(ips.includes('127.0.0.1') || ips.includes('::1'), `localhost resolved to ${ips.join(', ')}`);
    const renderer = new HandlebarsRenderer({ templates: sources('{{#each (lookupIP "localhost")}}server {{this}};\n{{/each}}') });
    const out = await renderWithLookups(renderer, { src: 't.tmpl' }, ctx);
    const expected = [...new Set(ips)].sort().map((ip) => `server ${ip};\n`).join('');
    assert.equal(out, expected);
  });

  test('each distinct name is resolved once, then the template renders with the answers', async () => {
    const { resolver, calls } = counting({ 'a.internal': ['10.0.0.2', '10.0.0.1'] });
    const renderer = new HandlebarsRenderer({ templates: sources('{{join (lookupIP "a.internal") ","}} {{join (lookupIP "a.internal") " "}}') });
    assert.equal(await renderWithLookups(renderer, { src: 't.tmpl' }, ctx, { resolver }), '10.0.0.1,10.0.0.2 10.0.0.1 10.0.0.2');
    assert.deepEqual(calls, ['ip a.internal']);
  });

  test('lookups that depend on other lookups take one pass per level', async () => {
    const { resolver, calls } = counting(
      { 'app1.internal': ['10.0.0.11'], 'app2.internal': ['10.0.0.12'] },
      { 'http/tcp/svc.internal': [{ target: 'app2.internal', port: 80, priority: 1, weight: 1 }, { target: 'app1.internal', port: 80, priority: 1, weight: 1 }] },
    );
    const renderer = new HandlebarsRenderer({
      templates: sources('{{#each (lookupSRV "http" "tcp" "svc.internal")}}{{#each (lookupIP target)}}{{this}}:{{../port}} {{/each}}{{/each}}'),
    });
    assert.equal(await renderWithLookups(renderer, { src: 't.tmpl' }, ctx, { resolver }), '10.0.0.11:80 10.0.0.12:80 ');
    assert.deepEqual(calls.sort(), ['ip app1.internal', 'ip app2.internal', 'srv http tcp svc.internal']);
  });

  test('a failed lookup renders as an empty list (as confd) and is reported', async () => {
    const { resolver } = counting({});
    const failures: string[] = [];
    const renderer = new HandlebarsRenderer({ templates: sources('[{{#each (lookupIP "gone.internal")}}{{this}}{{/each}}]') });
    const out = await renderWithLookups(renderer, { src: 't.tmpl' }, ctx, { resolver, onError: (req, err) => failures.push(`${req.kind} ${(err as Error).message}`) });
    assert.equal(out, '[]');
    assert.deepEqual(failures, ['ip getaddrinfo ENOTFOUND gone.internal']);
  });

  test('lookup chains deeper than maxPasses fail instead of rendering half-resolved output', async () => {
    const { resolver } = counting({ 'a.internal': ['b.internal'], 'b.internal': ['c.internal'], 'c.internal': ['10.0.0.1'] });
    const renderer = new HandlebarsRenderer({
      templates: sources('{{#each (lookupIP "a.internal")}}{{#each (lookupIP this)}}{{#each (lookupIP this)}}{{this}}{{/each}}{{/each}}{{/each}}'),
    });
    await assert.rejects(renderWithLookups(renderer, { src: 't.tmpl' }, ctx, { resolver, maxPasses: 2 }), TemplateError);
    assert.equal(await renderWithLookups(renderer, { src: 't.tmpl' }, ctx, { resolver }), '10.0.0.1');
  });

  test('resolveLookups keys answers by request', async () => {
    const { resolver } = counting({ 'x.internal': ['10.0.0.1'] });
    const answers = await resolveLookups([{ kind: 'ip', name: 'x.internal' }, { kind: 'srv', service: '', proto: '', name: 'raw.internal' }], resolver);
    assert.deepEqual([...answers.keys()].sort(), ['ip:x.internal', 'srv:raw.internal']);
  });
});
