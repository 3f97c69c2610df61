import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyMissingError } from '../../../src/agent/template/errors.js';
import { formatGoLayout } from '../../../src/agent/template/go-time.js';
import { assertTemplateError, execute, render, renderError, TEMPLATE_FILE } from './fixtures.js';

const services = {
  '/services/web/b': '10.0.0.2:80',
  '/services/web/a': '10.0.0.9:80',
  '/services/web/old/c': '10.0.0.3:80',
  '/services/db/x': '10.0.0.5:5432',
};

describe('key helpers', () => {
  test('getv returns the value, the default for a missing key, and fails otherwise', () => {
    assert.equal(render('{{getv "/services/db/x"}}|{{getv "/nope" "fallback"}}|{{getv "/nope" ""}}', { pairs: services }), '10.0.0.5:5432|fallback|');
    const err = renderError('line one\nline two {{getv "/nginx/domain"}}\n', { pairs: services });
    assert.ok(err instanceof KeyMissingError);
    assert.equal(err.key, '/nginx/domain');
    assertTemplateError(err, TEMPLATE_FILE, 2, 'key "/nginx/domain" does not exist (getv)');
  });

  test('a default does not hide an existing empty value', () => {
    assert.equal(render('[{{getv "/e" "x"}}]', { pairs: { '/e': '' } }), '[]');
  });

  test('get fails on a missing key with the key and the line', () => {
    const err = renderError('\n\n{{#with (get "/missing/key")}}{{value}}{{/with}}', { pairs: services });
    assertTemplateError(err, TEMPLATE_FILE, 3, 'key "/missing/key" does not exist (get)');
  });

  test('gets and getvs: * does not cross /', () => {
    assert.equal(render('{{#each (gets "/services/web/*")}}{{key}}={{value}} {{/each}}', { pairs: services }), '/services/web/a=10.0.0.9:80 /services/web/b=10.0.0.2:80 ');
    assert.equal(render('{{join (getvs "/services/*/*") ","}}', { pairs: services }), '10.0.0.2:80,10.0.0.5:5432,10.0.0.9:80');
  });

  test('gets sorts by key, getvs by value', () => {
    const pairs = { '/a/1': 'zebra', '/a/2': 'apple', '/a/3': 'mango' };
    assert.equal(render('{{#each (gets "/a/*")}}{{value}} {{/each}}', { pairs }), 'zebra apple mango ');
    assert.equal(render('{{#each (getvs "/a/*")}}{{this}} {{/each}}', { pairs }), 'apple mango zebra ');
  });

  test('gets/getvs with no match are empty; a bad pattern fails with the line', () => {
    assert.equal(render('[{{#each (gets "/none/*")}}x{{/each}}]', { pairs: services }), '[]');
    const err = renderError('ok\n{{getvs "/services/[a"}}', { pairs: services });
    assertTemplateError(err, TEMPLATE_FILE, 2, 'getvs: bad pattern "/services/[a"');
  });

  test('Key/Value aliases work, and iterating a pair sees key and value only', () => {
    assert.equal(render('{{#with (get "/services/db/x")}}{{Key}} {{Value}}{{/with}}', { pairs: services }), '/services/db/x 10.0.0.5:5432');
    assert.equal(render('{{#each (get "/services/db/x")}}{{@key}};{{/each}}', { pairs: services }), 'key;value;');
  });

  test('ls, lsdir, exists', () => {
    assert.equal(render('{{join (ls "/services") ","}} {{join (ls "/services/web") ","}} {{join (lsdir "/services/web") ","}} {{exists "/services/db/x"}} {{exists "/services/db"}}', { pairs: services }), 'db,web a,b,old old true false');
  });

  test('keys are relative to the resource prefix', () => {
    assert.equal(render('{{getv "/port"}} {{join (ls "/") ","}}', { prefix: '/prod/nginx', pairs: { '/prod/nginx/port': '80', '/prod/other/x': '1' } }), '80 port');
  });
});

describe('value helpers', () => {
  test('json and jsonArray parse, and reject the wrong shape with the line', () => {
    assert.equal(render('{{#with (json "{\\"a\\": {\\"b\\": 2}}")}}{{a.b}}{{/with}}'), '2');
    assertTemplateError(renderError('\n{{json "[1]"}}'), TEMPLATE_FILE, 2, 'json: expected a JSON object, got an array');
    assertTemplateError(renderError('{{json "{nope"}}'), TEMPLATE_FILE, 1, 'json: invalid JSON');
    assertTemplateError(renderError('{{jsonArray "{}"}}'), TEMPLATE_FILE, 1, 'jsonArray: expected a JSON array');
  });

  test('map needs string keys and pairs', () => {
    assert.equal(render('{{#with (map "a" 1 "b" "two")}}{{a}}-{{b}}{{/with}}'), '1-two');
    assertTemplateError(renderError('{{map "a"}}'), TEMPLATE_FILE, 1, 'map: needs key value pairs');
    assertTemplateError(renderError('{{map 1 2}}'), TEMPLATE_FILE, 1, 'map: keys must be strings');
  });

  test('split/join round trip and split on "" gives characters', () => {
    assert.equal(render('{{join (split "a:b::c" ":") "|"}} {{join (split "hé" "") "."}}'), 'a|b||c h.é');
  });

  test('replace follows strings.Replace, including n', () => {
    assert.equal(render('{{replace "aaaa" "a" "b" 2}} {{replace "aaaa" "a" "b" -1}} {{replace "aaaa" "a" "b" 0}} {{replace "ab" "" "-" -1}}'), 'bbaa bbbb aaaa -a-b-');
  });

  test('string helpers', () => {
    assert.equal(render('{{toUpper "abc"}} {{toLower "ÀBC"}} {{contains "haystack" "st"}} {{contains "haystack" "x"}} {{trimSuffix "a.conf" ".conf"}} {{base "/a/b/"}} {{dir "/a/b/"}}'), 'ABC àbc true false a b /a/b');
  });

  test('atoi and integer arithmetic with Go semantics', () => {
    assert.equal(render('{{atoi "-42"}} {{atoi "+7"}} {{div 7 -2}} {{mod -7 3}} {{add "3" 4}}'), '-42 7 -3 -1 7');
    assertTemplateError(renderError('{{atoi "4.2"}}'), TEMPLATE_FILE, 1, 'atoi: "4.2" is not an integer');
    assertTemplateError(renderError('{{atoi " 4"}}'), TEMPLATE_FILE, 1, 'is not an integer');
    assertTemplateError(renderError('\n\n{{div 1 0}}'), TEMPLATE_FILE, 3, 'div: division by zero');
    assertTemplateError(renderError('{{mod 1 0}}'), TEMPLATE_FILE, 1, 'mod: division by zero');
    assertTemplateError(renderError('{{add 1.5 1}}'), TEMPLATE_FILE, 1, 'add: a must be an integer');
    assertTemplateError(renderError('{{add nothing 1}}'), TEMPLATE_FILE, 1, 'add: a must be an integer, got nothing');
  });

  test('seq is inclusive and empty when reversed', () => {
    assert.equal(render('{{join (seq 3 5) ","}}|{{join (seq 5 3) ","}}|{{join (seq 2 2) ","}}'), '3,4,5||2');
    assertTemplateError(renderError('{{seq 1 1000000}}'), TEMPLATE_FILE, 1, 'seq: refusing');
  });

  test('reverse returns a new list and leaves its input alone', () => {
    assert.equal(render('{{#with (split "a,b,c" ",") as |l|}}{{join (reverse l) ""}} {{join l ""}}{{/with}}'), 'cba abc');
  });

  test('sortByLength and sortKVByLength break ties deterministically', () => {
    assert.equal(render('{{join (sortByLength (split "bb,c,aa,a,ccc" ",")) " "}}'), 'a c aa bb ccc');
    const pairs = { '/r/bb': '1', '/r/aa': '2', '/r/c': '3' };
    assert.equal(render('{{#each (sortKVByLength (gets "/r/*"))}}{{Key}} {{/each}}', { pairs }), '/r/c /r/aa /r/bb ');
    assertTemplateError(renderError('{{sortKVByLength (split "a,b" ",")}}'), TEMPLATE_FILE, 1, 'sortKVByLength: list[0] is not a key/value pair');
  });

  test('base64 both ways; invalid input fails', () => {
    assert.equal(render('{{base64Encode "héllo"}} {{base64Decode "aMOpbGxv"}} {{base64Decode ""}}'), 'aMOpbGxv héllo ');
    assertTemplateError(renderError('{{base64Decode "not base64!"}}'), TEMPLATE_FILE, 1, 'base64Decode: "not base64!" is not valid base64');
    assertTemplateError(renderError('{{base64Decode "abc"}}'), TEMPLATE_FILE, 1, 'is not valid base64');
  });

  test('parseBool accepts Go\'s spellings only', () => {
    assert.equal(render('{{parseBool "1"}} {{parseBool "T"}} {{parseBool "True"}} {{parseBool "f"}} {{parseBool "FALSE"}}'), 'true true true false false');
    assertTemplateError(renderError('{{parseBool "yes"}}'), TEMPLATE_FILE, 1, 'parseBool: "yes" is not a boolean');
  });

  test('printf refuses what Go would print as %!verb markers', () => {
    assert.equal(render('{{printf "%s:%d %v %q 100%%" "h" 80 true "x"}}'), 'h:80 true "x" 100%');
    assertTemplateError(renderError('{{printf "%s %s" "a"}}'), TEMPLATE_FILE, 1, 'printf: format "%s %s" needs more arguments');
    assertTemplateError(renderError('{{printf "%s" "a" "b"}}'), TEMPLATE_FILE, 1, 'uses 1 of the 2 arguments');
    assertTemplateError(renderError('{{printf "%d" "80"}}'), TEMPLATE_FILE, 1, '%d needs an integer');
    assertTemplateError(renderError('{{printf "%x" 1}}'), TEMPLATE_FILE, 1, 'unsupported verb %x');
  });

  test('comparisons and Go truthiness', () => {
    assert.equal(render('{{eq "a" "b" "a"}} {{eq 80 "80"}} {{ne 1 2}} {{lt 1 2}} {{ge "b" "a"}} {{le 2 2}} {{gt 1 2}}'), 'true false true true true true false');
    assert.equal(render('[{{and 1 "" 2}}] [{{and 1 2}}] [{{or "" 0 "x"}}] [{{or "" 0}}] {{not ""}} {{not (split "a" ",")}}'), '[] [2] [x] [0] true false');
    assertTemplateError(renderError('{{lt 1 "2"}}'), TEMPLATE_FILE, 1, 'lt: cannot compare');
  });

  test('len and index', () => {
    assert.equal(render('{{len "abc"}} {{len (split "a,b" ",")}} {{len (json "{\\"a\\":1}")}} {{index (json "{\\"a\\":[5,6]}") "a" 1}} [{{index (json "{}") "nope"}}]'), '3 2 1 6 []');
    assertTemplateError(renderError('{{index (split "a" ",") 3}}'), TEMPLATE_FILE, 1, 'index: index 3 out of range');
  });
});

describe('environment, time, files', () => {
  test('getenv treats empty like unset, as confd', () => {
    assert.equal(render('{{getenv "A"}}|{{getenv "B" "dflt"}}|{{getenv "C" "dflt"}}|{{getenv "D"}}', { env: { A: 'a', B: '', C: 'c' } }), 'a|dflt|c|');
  });

  test('datetime uses the render clock, in UTC', () => {
    const now = new Date('2024-03-09T15:04:05.120Z');
    assert.equal(render('{{datetime}}', { now }), '2024-03-09T15:04:05.120Z');
    assert.equal(render('{{datetime "2006-01-02 15:04:05.000 MST"}} {{datetime "Jan 2, 2006 at 3:04pm (MST)"}}', { now }), '2024-03-09 15:04:05.120 UTC Mar 9, 2024 at 3:04pm (UTC)');
  });

  test('Go reference layouts', () => {
    const d = new Date('2009-11-10T23:00:07.5Z');
    assert.equal(formatGoLayout(d, '2006-01-02T15:04:05Z07:00'), '2009-11-10T23:00:07Z');
    assert.equal(formatGoLayout(d, 'Monday January _2 06 002 03 PM -0700 .999 ,000'), 'Tuesday November 10 09 314 11 PM +0000 .5 ,500');
  });

  test('fileExists asks the probe the renderer was given, and fails without one', () => {
    const seen: string[] = [];
    const probe = (p: string) => {
      seen.push(p);
      return p === '/etc/ssl/cert.pem';
    };
    assert.equal(render('{{fileExists "/etc/ssl/cert.pem"}} {{fileExists "/nope"}}', { fileExists: probe }), 'true false');
    assert.deepEqual(seen, ['/etc/ssl/cert.pem', '/nope']);
    assertTemplateError(renderError('{{fileExists "/x"}}'), TEMPLATE_FILE, 1, 'fileExists: not available');
  });
});

describe('lookups (first pass)', () => {
  test('unanswered lookups are reported and render empty', () => {
    const result = execute('[{{#each (lookupIP "db.internal")}}{{this}}{{/each}}][{{#each (lookupSRV "http" "tcp" "x.internal")}}{{target}}{{/each}}]{{lookupIP "db.internal"}}');
    assert.equal(result.output, '[][]');
    assert.deepEqual(result.pendingLookups, [
      { kind: 'ip', name: 'db.internal' },
      { kind: 'srv', service: 'http', proto: 'tcp', name: 'x.internal' },
    ]);
  });

  test('answered lookups are sorted and SRV records have Go-cased aliases', () => {
    const answers = new Map<string, readonly string[] | readonly { target: string; port: number; priority: number; weight: number }[]>([
      ['ip:db.internal', ['10.0.0.2', '10.0.0.10', '10.0.0.2']],
      ['srv:_http._tcp.x.internal', [
        { target: 'b.internal', port: 80, priority: 1, weight: 1 },
        { target: 'a.internal', port: 81, priority: 1, weight: 1 },
        { target: 'a.internal', port: 80, priority: 2, weight: 1 },
      ]],
    ]);
    const result = execute('{{join (lookupIP "db.internal") ","}} {{#each (lookupSRV "http" "tcp" "x.internal")}}{{Target}}:{{Port}}/{{priority}} {{/each}}', { lookups: { answers } });
    assert.deepEqual(result.pendingLookups, []);
    assert.equal(result.output, '10.0.0.10,10.0.0.2 a.internal:80/2 a.internal:81/1 b.internal:80/1 ');
  });
});

describe('helper calls', () => {
  test('wrong argument counts name the helper and the line', () => {
    assertTemplateError(renderError('a\nb\n  {{getv}}'), TEMPLATE_FILE, 3, 'getv: takes 1 or 2 arguments, got 0');
    assertTemplateError(renderError('{{base "a" "b"}}'), TEMPLATE_FILE, 1, 'base: takes 1 argument, got 2');
    assertTemplateError(renderError('{{printf}}'), TEMPLATE_FILE, 1, 'printf: takes at least 1 argument');
    assertTemplateError(renderError('{{#with (json "{\\"dir\\": 1}")}}{{dir}}{{/with}}'), TEMPLATE_FILE, 1, 'write {{this.dir}}');
    assert.equal(render('{{#with (json "{\\"dir\\": 1}")}}{{this.dir}}{{/with}}'), '1');
  });

  test('an error in a sub-expression points at its own line', () => {
    assertTemplateError(renderError('{{#each (getvs "/a/*")}}\n{{/each}}\n{{join\n  (split (getv "/missing") ",")\n  ","}}'), TEMPLATE_FILE, 4, 'key "/missing" does not exist');
  });

  test('unknown helpers called with arguments fail; unknown fields render empty', () => {
    assertTemplateError(renderError('\n{{getval "/a"}}'), TEMPLATE_FILE, 2, 'unknown helper "getval"');
    assert.equal(render('[{{nosuchfield}}][{{nosuch.path}}]'), '[][]');
  });

  test('boolean helpers work as blocks; others refuse', () => {
    assert.equal(render('{{#exists "/a"}}yes{{else}}no{{/exists}} {{#contains "abc" "b"}}has b{{/contains}}', { pairs: { '/a': '1' } }), 'yes has b');
    assertTemplateError(renderError('{{#getvs "/a/*"}}x{{/getvs}}'), TEMPLATE_FILE, 1, 'getvs: is not a block helper');
  });

  test('values are not HTML-escaped', () => {
    assert.equal(render('{{getv "/v"}} {{{getv "/v"}}}', { pairs: { '/v': `<a href="x">&'</a>` } }), `<a href="x">&'</a> <a href="x">&'</a>`);
  });
});
