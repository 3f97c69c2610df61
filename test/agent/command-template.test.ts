import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { expandCommand, shellQuote, unknownPlaceholders } from '../../src/agent/command-template.js';
import { parseDurationMs } from '../../src/agent/duration.js';

describe('check_cmd / reload_cmd placeholders', () => {
  test('{{.src}} and {{.dest}} are substituted, with or without spaces', () => {
    assert.equal(
      expandCommand('nginx -t -c {{.src}} && cp {{ .src }} {{.dest}}', { src: '/etc/nginx/.nginx.conf123', dest: '/etc/nginx/nginx.conf' }),
      'nginx -t -c /etc/nginx/.nginx.conf123 && cp /etc/nginx/.nginx.conf123 /etc/nginx/nginx.conf',
    );
  });

  test('paths reach the shell intact, whatever characters they hold', () => {
    for (const path of ['/tmp/with space/x.conf', "/tmp/it's/x", '/tmp/$HOME/`id`/x', '/tmp/a"b\\c;rm -rf x', '/tmp/new\nline']) {
      const command = expandCommand('printf %s {{.src}}', { src: path, dest: '/d' });
      const result = spawnSync('/bin/sh', ['-c', command], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, path);
    }
  });

  test('plain paths stay unquoted so logged commands read naturally', () => {
    assert.equal(shellQuote('/etc/nginx/nginx.conf'), '/etc/nginx/nginx.conf');
    assert.equal(shellQuote('/a b'), "'/a b'");
  });

  test('other template actions are reported', () => {
    assert.deepEqual(unknownPlaceholders('x {{.src}} {{.dest}}'), []);
    assert.deepEqual(unknownPlaceholders('x {{.Src}} {{ getv "/a" }}'), ['{{.Src}}', '{{ getv "/a" }}']);
  });
});

describe('durations', () => {
  test('Go-style units and bare seconds', () => {
    assert.equal(parseDurationMs('1h'), 3_600_000);
    assert.equal(parseDurationMs('1m30s'), 90_000);
    assert.equal(parseDurationMs('1.5s'), 1500);
    assert.equal(parseDurationMs('250ms'), 250);
    assert.equal(parseDurationMs('30'), 30_000);
    assert.equal(parseDurationMs(0.5), 500);
  });

  test('garbage is undefined', () => {
    for (const bad of ['', 'soon', '5 minutes', '1d', 's', '1m-1s', 'ms5']) assert.equal(parseDurationMs(bad), undefined, bad);
    assert.equal(parseDurationMs(-1), undefined);
  });
});
