import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTemplateDir } from '../../../src/agent/template-files.js';
import type { TemplateSource } from '../../../src/agent/template/compile.js';
import { HandlebarsRenderer } from '../../../src/agent/template/render.js';
import { startProcess } from '../../support/process.js';
import { skipUnless } from '../../support/require-tool.js';

// The reusable templates in templates/ must produce configurations the real
// programs accept: the check_cmd of an actual deployment is the judge.
const TEMPLATES = fileURLToPath(new URL('../../../../templates', import.meta.url));

const SERVICES = new Map([
  ['/prod/services/web/b', '127.0.0.1:8082'],
  ['/prod/services/web/a', '127.0.0.1:8081'],
  ['/prod/services/api/v1-0', '127.0.0.1:9000'],
  // A service whose only keys are deeper than one level has no instances: no block may be emitted.
  ['/prod/services/orphan/meta/owner', 'team-a'],
]);

let dir: string;
let templates: TemplateSource[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-real-tools-'));
  templates = await loadTemplateDir(TEMPLATES);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(command: string, args: string[]): Promise<{ code: number | string; output: string }> {
  const proc = startProcess(command, args);
  const code = await proc.exited;
  return { code, output: proc.output() };
}

function renderFile(name: string, main: string | undefined, src: string): string {
  const all = main === undefined ? templates : [...templates, { name: src, file: join(dir, src), source: main }];
  const renderer = new HandlebarsRenderer({ templates: all });
  const output = renderer.render({ src }, { prefix: '/prod', pairs: SERVICES, env: {} });
  writeFileSync(join(dir, name), output);
  return output;
}

const nginxMain = (tmp: string, body: string) => `pid ${tmp}/nginx.pid;
error_log stderr;
events {}
http {
    access_log off;
    client_body_temp_path ${tmp}/body;
    proxy_temp_path ${tmp}/proxy;
    fastcgi_temp_path ${tmp}/fastcgi;
    uwsgi_temp_path ${tmp}/uwsgi;
    scgi_temp_path ${tmp}/scgi;
${body}
    server {
        listen 127.0.0.1:18080;
        location / { proxy_pass http://web; }
        location /api/ { proxy_pass http://api; }
    }
}
`;

describe('templates/ against the real programs', () => {
  test('nginx-upstreams.hbs as a partial of a whole nginx.conf passes nginx -t', { skip: skipUnless('nginx') }, async () => {
    const out = renderFile('nginx.conf', nginxMain(dir, '    {{> nginx-upstreams}}'), 'nginx.conf.tmpl');
    assert.match(out, /upstream web \{\n {8}server 127\.0\.0\.1:8081;\n {8}server 127\.0\.0\.1:8082;\n {4}\}/);
    assert.ok(!out.includes('orphan'), out);
    const { code, output } = await run('nginx', ['-t', '-e', 'stderr', '-p', dir, '-c', join(dir, 'nginx.conf')]);
    assert.equal(code, 0, output);
    assert.match(output, /test is successful/);
  });

  test('nginx-upstreams.hbs as a whole file, included from nginx.conf, passes nginx -t', { skip: skipUnless('nginx') }, async () => {
    renderFile('upstreams.conf', undefined, 'nginx-upstreams.hbs');
    writeFileSync(join(dir, 'nginx-include.conf'), nginxMain(dir, `    include ${dir}/upstreams.conf;`));
    const { code, output } = await run('nginx', ['-t', '-e', 'stderr', '-p', dir, '-c', join(dir, 'nginx-include.conf')]);
    assert.equal(code, 0, output);
  });

  test('nginx -t does reject what the template avoids: an empty upstream', { skip: skipUnless('nginx') }, async () => {
    writeFileSync(join(dir, 'empty.conf'), nginxMain(dir, '    upstream web { }\n    upstream api { server 127.0.0.1:9000; }'));
    const { code, output } = await run('nginx', ['-t', '-e', 'stderr', '-p', dir, '-c', join(dir, 'empty.conf')]);
    assert.notEqual(code, 0, output);
    assert.match(output, /no servers are inside upstream/);
  });

  const haproxyMain = `global
    maxconn 100
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend main
    bind 127.0.0.1:18081
    use_backend api if { path_beg /api/ }
    default_backend web

{{> haproxy-backends}}`;

  test('haproxy-backends.hbs in a whole haproxy.cfg passes haproxy -c', { skip: skipUnless('haproxy') }, async () => {
    const out = renderFile('haproxy.cfg', haproxyMain, 'haproxy.cfg.tmpl');
    assert.match(out, /backend web\n {4}balance roundrobin\n {4}server a 127\.0\.0\.1:8081 check\n {4}server b 127\.0\.0\.1:8082 check\n/);
    assert.match(out, /server v1-0 127\.0\.0\.1:9000 check/);
    assert.ok(!out.includes('orphan'), out);
    const { code, output } = await run('haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')]);
    assert.equal(code, 0, output);
    assert.match(output, /Configuration file is valid/);
  });

  test('haproxy -c does reject a backend the frontend needs but the data lacks', { skip: skipUnless('haproxy') }, async () => {
    const renderer = new HandlebarsRenderer({ templates: [...templates, { name: 'h.tmpl', file: join(dir, 'h.tmpl'), source: haproxyMain }] });
    const withoutApi = new Map([...SERVICES].filter(([k]) => !k.includes('/api/')));
    writeFileSync(join(dir, 'haproxy-bad.cfg'), renderer.render({ src: 'h.tmpl' }, { prefix: '/prod', pairs: withoutApi, env: {} }));
    const { code, output } = await run('haproxy', ['-c', '-f', join(dir, 'haproxy-bad.cfg')]);
    assert.notEqual(code, 0, output);
    assert.match(output, /api/);
  });
});
