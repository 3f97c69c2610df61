import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODE, loadResources, parseResource, resolveMode } from '../../src/agent/resource.js';
import { ConfDirError, ResourceError } from '../../src/agent/resource-errors.js';

const FILE = '/etc/cairn/conf.d/nginx.toml';
const parse = (text: string, globalPrefix = '') => parseResource(text, FILE, { globalPrefix, templateDir: '/etc/cairn/templates' });

/** Asserts that parsing fails with a ResourceError pointing at `line` and mentioning `fragment`. */
function rejects(text: string, line: number, fragment: string | RegExp): ResourceError {
  let caught: unknown;
  try {
    parse(text);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ResourceError, `expected a ResourceError, got ${String(caught)}`);
  assert.equal(caught.code, 'CAIRN_RESOURCE_INVALID');
  assert.equal(caught.file, FILE);
  assert.equal(caught.line, line, caught.message);
  assert.ok(caught.message.startsWith(`${FILE}:${line}: `), caught.message);
  if (typeof fragment === 'string') assert.ok(caught.message.includes(fragment), caught.message);
  else assert.match(caught.message, fragment);
  return caught;
}

describe('parseResource: confd template resources', () => {
  test('reads every confd field and the Cairn additions', () => {
    const spec = parse(`# the confd docs example, plus our fields
[template]
src = "nginx.conf.tmpl"
dest = "/etc/nginx/nginx.conf"
prefix = "/app"
keys = [
  "/nginx",
  "upstream/",
]
uid = 0
gid = 33
mode = "0640"
check_cmd = "/usr/sbin/nginx -t -c {{.src}}"
reload_cmd = "/usr/sbin/service nginx reload # {{ .dest }}"
check_timeout = "30s"
reload_timeout = 90
`);
    assert.equal(spec.name, 'nginx');
    assert.equal(spec.file, FILE);
    assert.equal(spec.src, 'nginx.conf.tmpl');
    assert.equal(spec.srcPath, '/etc/cairn/templates/nginx.conf.tmpl');
    assert.equal(spec.dest, '/etc/nginx/nginx.conf');
    assert.equal(spec.prefix, '/app');
    assert.deepEqual(spec.keys, ['/nginx', '/upstream']);
    assert.deepEqual(spec.backendKeys, ['/app/nginx', '/app/upstream']);
    assert.equal(spec.uid, 0);
    assert.equal(spec.gid, 33);
    assert.equal(spec.mode, 0o640);
    assert.equal(spec.checkCmd, '/usr/sbin/nginx -t -c {{.src}}');
    assert.equal(spec.reloadCmd, '/usr/sbin/service nginx reload # {{ .dest }}');
    assert.equal(spec.checkTimeoutMs, 30_000);
    assert.equal(spec.reloadTimeoutMs, 90_000);
    assert.equal(spec.owner, undefined);
  });

  test('owner and group by name', () => {
    const spec = parse('[template]\nsrc = "a.tmpl"\ndest = "/tmp/a"\nowner = "www-data"\ngroup = "adm"\n');
    assert.equal(spec.owner, 'www-data');
    assert.equal(spec.group, 'adm');
    assert.equal(spec.uid, undefined);
  });

  test('optional fields default to unset, and an empty command means no command', () => {
    const spec = parse('[template]\nsrc = "a.tmpl"\ndest = "/tmp/a"\nreload_cmd = ""\n');
    assert.deepEqual(spec.keys, []);
    assert.equal(spec.prefix, '/');
    assert.equal(spec.mode, undefined);
    assert.equal(spec.checkCmd, undefined);
    assert.equal(spec.reloadCmd, undefined);
    assert.equal(spec.checkTimeoutMs, undefined);
  });

  test('the global prefix is joined in front of the resource prefix', () => {
    const base = '[template]\nsrc = "a"\ndest = "/tmp/a"\nkeys = ["/services"]\n';
    assert.equal(parse(`${base}prefix = "app"\n`, '/prod').prefix, '/prod/app');
    assert.deepEqual(parse(`${base}prefix = "/app/"\n`, 'prod/').backendKeys, ['/prod/app/services']);
    assert.equal(parse(base, '/prod').prefix, '/prod');
    assert.equal(parse(`${base}prefix = "/app"\n`).prefix, '/app');
    assert.deepEqual(parse(base).backendKeys, ['/services']);
  });

  test('mode: octal strings and TOML octal integers; unset is decided from the existing file', () => {
    const base = '[template]\nsrc = "a"\ndest = "/tmp/a"\n';
    assert.equal(parse(`${base}mode = "0644"`).mode, 0o644);
    assert.equal(parse(`${base}mode = "600"`).mode, 0o600);
    assert.equal(parse(`${base}mode = "0o755"`).mode, 0o755);
    assert.equal(parse(`${base}mode = 0o640`).mode, 0o640);
    assert.equal(resolveMode(undefined, undefined), DEFAULT_MODE);
    assert.equal(DEFAULT_MODE, 0o644);
    assert.equal(resolveMode(undefined, 0o100600), 0o600, 'keeps the existing file mode (file type bits dropped)');
    assert.equal(resolveMode(0o640, 0o100600), 0o640);
  });

  test('timeouts accept Go durations and seconds', () => {
    const base = '[template]\nsrc = "a"\ndest = "/tmp/a"\n';
    assert.equal(parse(`${base}check_timeout = "2m"`).checkTimeoutMs, 120_000);
    assert.equal(parse(`${base}check_timeout = "1m30s"`).checkTimeoutMs, 90_000);
    assert.equal(parse(`${base}check_timeout = "500ms"`).checkTimeoutMs, 500);
    assert.equal(parse(`${base}reload_timeout = "10"`).reloadTimeoutMs, 10_000);
    assert.equal(parse(`${base}reload_timeout = 2.5`).reloadTimeoutMs, 2500);
  });
});

describe('parseResource: errors name the file and line', () => {
  test('unknown field, with a suggestion', () => {
    const err = rejects('[template]\nsrc = "a"\ndest = "/tmp/a"\nreload_command = "x"\n', 4, 'unknown field "reload_command"');
    assert.match(err.message, /did you mean "reload_cmd"/);
    assert.equal(err.field, 'template.reload_command');
  });

  test('unknown field written as a dotted key', () => {
    rejects('template.src = "a"\ntemplate.dest = "/tmp/a"\n\ntemplate.destt = "/x"\n', 4, 'unknown field "destt"');
  });

  test('unknown top-level table or field', () => {
    rejects('[template]\nsrc = "a"\ndest = "/tmp/a"\n\n[backend]\nkind = "etcd"\n', 5, 'unknown table "backend"');
    rejects('debug = true\n[template]\nsrc = "a"\ndest = "/tmp/a"\n', 1, 'unknown field "debug"');
  });

  test('missing src or dest is reported at the [template] header', () => {
    rejects('# comment\n\n[template]\ndest = "/tmp/a"\n', 3, 'missing required field "src"');
    rejects('[template]\nsrc = "a"\nkeys = ["/a"]\n', 1, 'missing required field "dest"');
  });

  test('empty src, relative dest', () => {
    rejects('[template]\ndest = "/tmp/a"\nsrc = "  "\n', 3, 'missing required field "src"');
    rejects('[template]\nsrc = "a"\n\ndest = "tmp/a"\n', 4, '"dest" must be an absolute path');
  });

  test('no [template] table at all', () => {
    rejects('# nothing here\n', 1, 'missing [template] table');
    rejects('template = "x"\n', 1, '"template" must be a table');
  });

  test('bad mode values', () => {
    const base = '[template]\nsrc = "a"\ndest = "/tmp/a"\n';
    rejects(`${base}mode = "0999"\n`, 4, 'bad "mode" "0999"');
    rejects(`${base}mode = "rw-r--r--"\n`, 4, 'bad "mode"');
    rejects(`${base}mode = "077777"\n`, 4, 'bad "mode"');
    rejects(`${base}\nmode = 644\n`, 5, /decimal integer is ambiguous/);
    rejects(`${base}mode = true\n`, 4, 'bad "mode"');
  });

  test('wrong types', () => {
    const base = '[template]\nsrc = "a"\ndest = "/tmp/a"\n';
    rejects(`${base}keys = "/nginx"\n`, 4, '"keys" must be an array of strings');
    rejects(`${base}keys = [\n  "/a",\n  3,\n]\n`, 4, '"keys" must be an array of strings');
    rejects(`${base}prefix = 3\n`, 4, '"prefix" must be a string');
    rejects('[template]\nsrc = 1\ndest = "/tmp/a"\n', 2, '"src" must be a string');
    rejects(`${base}uid = "root"\n`, 4, '"uid" must be a non-negative integer');
    rejects(`${base}gid = -1\n`, 4, '"gid" must be a non-negative integer');
    rejects(`${base}check_cmd = ["nginx", "-t"]\n`, 4, '"check_cmd" must be a string');
    rejects(`${base}owner = ""\n`, 4, '"owner" must not be empty');
  });

  test('uid and owner (gid and group) are exclusive', () => {
    const base = '[template]\nsrc = "a"\ndest = "/tmp/a"\n';
    rejects(`${base}uid = 0\nowner = "root"\n`, 5, 'either "owner" or "uid"');
    rejects(`${base}group = "adm"\ngid = 4\n`, 4, 'either "group" or "gid"');
  });

  test('bad timeouts', () => {
    const base = '[template]\nsrc = "a"\ndest = "/tmp/a"\n';
    rejects(`${base}check_timeout = "soon"\n`, 4, '"check_timeout" must be a positive duration');
    rejects(`${base}reload_timeout = "0s"\n`, 4, '"reload_timeout" must be a positive duration');
    rejects(`${base}reload_timeout = -3\n`, 4, '"reload_timeout" must be a positive duration');
  });

  test('a command placeholder other than {{.src}} / {{.dest}}', () => {
    rejects('[template]\nsrc = "a"\ndest = "/tmp/a"\ncheck_cmd = "nginx -t -c {{.Src}}"\n', 4, '{{.Src}}');
  });

  test('TOML syntax errors carry smol-toml\'s line', () => {
    const err = rejects('[template]\nsrc = "a"\ndest = \n', 3, 'invalid TOML');
    assert.match(err.message, /column \d+/);
    rejects('[template]\nsrc = "a"\nsrc = "b"\n', 3, 'invalid TOML');
  });

  test('a multi-line string does not confuse the line search', () => {
    rejects('[template]\nsrc = "a"\ndest = "/tmp/a"\nreload_cmd = """\nsrcc = "not a key"\n"""\nsrcc = "x"\n', 7, 'unknown field "srcc"');
  });
});

describe('loadResources', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const confdir = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-resources-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'conf.d'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'conf.d', name), text);
    return dir;
  };

  test('one bad file never stops the others', async () => {
    const dir = confdir({
      'a-broken.toml': '[template]\nsrc = "a"\ndest = \n',
      'b-good.toml': '[template]\nsrc = "b.tmpl"\ndest = "/tmp/b"\nprefix = "/b"\nkeys = ["/x"]\n',
      'c-unknown.toml': '[template]\nsrc = "c"\ndest = "/tmp/c"\nmode = "0644"\ncheckcmd = "true"\n',
      'd-good.toml': '[template]\nsrc = "d.tmpl"\ndest = "/tmp/d"\n',
      'notes.txt': 'not a resource',
      '.hidden.toml': 'garbage',
    });
    const { resources, errors } = await loadResources(dir, '/prod');
    assert.deepEqual(resources.map((r) => r.name), ['b-good', 'd-good']);
    assert.equal(resources[0]?.prefix, '/prod/b');
    assert.equal(resources[0]?.srcPath, join(dir, 'templates', 'b.tmpl'));
    assert.deepEqual(
      errors.map((e) => [e.file, e.line]),
      [
        [join(dir, 'conf.d', 'a-broken.toml'), 3],
        [join(dir, 'conf.d', 'c-unknown.toml'), 5],
      ],
    );
    assert.ok(errors.every((e) => e.code === 'CAIRN_RESOURCE_INVALID'));
  });

  test('an unreadable file is reported without a line; a directory named *.toml is ignored', async () => {
    const dir = confdir({ 'ok.toml': '[template]\nsrc = "a"\ndest = "/tmp/a"\n' });
    mkdirSync(join(dir, 'conf.d', 'dir.toml'));
    symlinkSync(join(dir, 'nowhere'), join(dir, 'conf.d', 'dangling.toml'));
    const { resources, errors } = await loadResources(dir, '');
    assert.deepEqual(resources.map((r) => r.name), ['ok']);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.file, join(dir, 'conf.d', 'dangling.toml'));
    assert.equal(errors[0]?.line, 0);
    assert.match(errors[0]?.message ?? '', /dangling\.toml: cannot read: ENOENT/);
  });

  test('a missing conf.d is a ConfDirError', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-resources-'));
    dirs.push(dir);
    await assert.rejects(loadResources(dir, ''), (err: unknown) => err instanceof ConfDirError && err.code === 'CAIRN_CONFDIR_MISSING');
  });
});
