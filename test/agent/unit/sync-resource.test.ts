import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseResource } from '../../../src/agent/resource.js';
import type { ResourceEntry } from '../../../src/agent/resource-entry.js';
import { runReloads, syncResource, type SyncOptions } from '../../../src/agent/sync-resource.js';
import { loadTemplateDir, nodeFileExists } from '../../../src/agent/template-files.js';
import { HandlebarsRenderer } from '../../../src/agent/template/render.js';
import { silentLogger } from '../../../src/log/logger.js';
import { captureLogger, LEVEL } from './log-capture.js';

const root = mkdtempSync(join(tmpdir(), 'cairn-sync-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Case {
  readonly dir: string;
  /** Where dest lives (its own directory, so leftovers are easy to see). */
  readonly out: string;
  readonly dest: string;
  /** A file the commands may write to, to show they ran. */
  readonly marker: string;
  entry(resourceToml?: string): Promise<ResourceEntry>;
}

const PAIRS = new Map([
  ['/app/name', 'web'],
  ['/app/port', '8080'],
]);

/** A confdir-like layout: templates/app.tmpl plus a resource whose dest is out/app.conf. */
function newCase(template = 'name = {{getv "/name"}}\nport = {{getv "/port"}}\n', destName = 'app.conf'): Case {
  const dir = mkdtempSync(join(root, 'case-'));
  const templates = join(dir, 'templates');
  const out = join(dir, 'out');
  mkdirSync(templates);
  mkdirSync(out);
  writeFileSync(join(templates, 'app.tmpl'), template);
  const dest = join(out, destName);
  const marker = join(dir, 'marker');
  return {
    dir,
    out,
    dest,
    marker,
    async entry(extra = '') {
      const file = join(dir, 'app.toml');
      const text = `[template]\nsrc = "app.tmpl"\ndest = ${JSON.stringify(dest)}\nprefix = "/app"\nkeys = ["/name", "/port"]\n${extra}`;
      const spec = parseResource(text, file, { templateDir: templates });
      const renderer = new HandlebarsRenderer({ templates: await loadTemplateDir(templates), fileExists: nodeFileExists });
      return { spec, renderer };
    },
  };
}

function options(overrides: Partial<SyncOptions> = {}): SyncOptions & { printed: string[] } {
  const printed: string[] = [];
  return { logger: silentLogger(), noop: false, syncOnly: false, keepStageFile: false, env: {}, print: (text) => printed.push(text), printed, ...overrides };
}

const modeOf = (path: string): number => statSync(path).mode & 0o7777;
const toml = (s: string): string => JSON.stringify(s);

describe('syncResource', () => {
  test('a new dest is written with mode 0644; the reload command comes back for the batch', async () => {
    const c = newCase();
    const entry = await c.entry(`check_cmd = ${toml(`cp {{.src}} ${c.marker}`)}\nreload_cmd = "echo reload {{.dest}}"\n`);
    const outcome = await syncResource(entry, PAIRS, options());
    assert.deepEqual(outcome, { status: 'updated', reload: `echo reload ${c.dest}` });
    assert.equal(readFileSync(c.dest, 'utf8'), 'name = web\nport = 8080\n');
    assert.equal(modeOf(c.dest), 0o644);
    assert.equal(readFileSync(c.marker, 'utf8'), 'name = web\nport = 8080\n', 'check_cmd saw the staged content');
    assert.deepEqual(readdirSync(c.out), ['app.conf'], 'no stage file left');
  });

  test('unchanged content, mode and owner: nothing is staged and no command runs', async () => {
    const c = newCase();
    writeFileSync(c.dest, 'name = web\nport = 8080\n');
    chmodSync(c.dest, 0o644);
    const entry = await c.entry(`check_cmd = ${toml(`touch ${c.marker}`)}\nreload_cmd = ${toml(`touch ${c.marker}`)}\n`);
    const before = statSync(c.dest).mtimeMs;
    assert.deepEqual(await syncResource(entry, PAIRS, options()), { status: 'unchanged' });
    assert.equal(existsSync(c.marker), false, 'check_cmd did not run');
    assert.deepEqual(readdirSync(c.out), ['app.conf']);
    assert.equal(statSync(c.dest).mtimeMs, before);
  });

  test('only the mode differs: the file is rewritten with the resource mode', async () => {
    const c = newCase();
    writeFileSync(c.dest, 'name = web\nport = 8080\n');
    chmodSync(c.dest, 0o644);
    const entry = await c.entry('mode = "0600"\n');
    assert.equal((await syncResource(entry, PAIRS, options())).status, 'updated');
    assert.equal(modeOf(c.dest), 0o600);
  });

  test("an existing dest's mode is kept when the resource sets none", async () => {
    const c = newCase();
    writeFileSync(c.dest, 'old\n');
    chmodSync(c.dest, 0o640);
    assert.equal((await syncResource(await c.entry(), PAIRS, options())).status, 'updated');
    assert.equal(modeOf(c.dest), 0o640);
  });

  test('a failing check leaves dest untouched, removes the stage file and reports exit status and output', async () => {
    const c = newCase();
    writeFileSync(c.dest, 'good old config\n');
    const entry = await c.entry(`check_cmd = "echo 'syntax error near line 2' >&2; exit 1"\nreload_cmd = ${toml(`touch ${c.marker}`)}\n`);
    const outcome = await syncResource(entry, PAIRS, options());
    assert.equal(outcome.status, 'failed');
    assert.ok(outcome.status === 'failed');
    assert.equal(outcome.stage, 'check');
    assert.match(outcome.message, /^check_cmd failed \(exit status 1\): echo/);
    assert.match(outcome.message, /syntax error near line 2/);
    assert.equal(readFileSync(c.dest, 'utf8'), 'good old config\n');
    assert.deepEqual(readdirSync(c.out), ['app.conf'], 'the stage file is gone');
    assert.equal(existsSync(c.marker), false, 'no reload after a failed check');
  });

  test('--keep-stage-file keeps the stage file that failed its check, beside dest', async () => {
    const c = newCase();
    writeFileSync(c.dest, 'good old config\n');
    const { logger, lines } = captureLogger();
    const entry = await c.entry('check_cmd = "exit 2"\n');
    const outcome = await syncResource(entry, PAIRS, options({ keepStageFile: true, logger }));
    assert.equal(outcome.status, 'failed');
    const leftovers = readdirSync(c.out).filter((name) => name !== 'app.conf');
    assert.equal(leftovers.length, 1);
    assert.ok(leftovers[0]?.startsWith('.app.conf.'), leftovers[0]);
    assert.equal(readFileSync(join(c.out, leftovers[0] ?? ''), 'utf8'), 'name = web\nport = 8080\n');
    assert.equal(readFileSync(c.dest, 'utf8'), 'good old config\n');
    assert.ok(lines.some((l) => l.level === LEVEL.info && typeof l['staged'] === 'string' && l['staged'].includes(leftovers[0] ?? '?')), 'the kept path is logged');
  });

  test('a hung check is killed after check_timeout and counts as a failure', async () => {
    const c = newCase();
    const started = Date.now();
    const outcome = await syncResource(await c.entry('check_cmd = "sleep 30"\ncheck_timeout = "200ms"\n'), PAIRS, options());
    assert.ok(outcome.status === 'failed');
    assert.equal(outcome.stage, 'check');
    assert.match(outcome.message, /killed after 200 ms/);
    assert.ok(Date.now() - started < 25_000);
    assert.equal(existsSync(c.dest), false);
  });

  test('{{.src}} is the stage file beside dest and {{.dest}} is dest, shell-quoted, in both commands', async () => {
    const c = newCase(undefined, 'my app.conf');
    const srcLog = join(c.dir, 'src-was');
    const destLog = join(c.dir, 'dest-was');
    const check = `printf '%s' {{.src}} > ${srcLog}; printf '%s' {{ .dest }} > ${destLog}; test -f {{.src}}`;
    const entry = await c.entry(`check_cmd = ${toml(check)}\nreload_cmd = "reload --src {{.src}} --dest {{.dest}}"\n`);
    const outcome = await syncResource(entry, PAIRS, options());
    assert.ok(outcome.status === 'updated', JSON.stringify(outcome));
    const src = readFileSync(srcLog, 'utf8');
    assert.equal(join(src, '..'), c.out, 'the stage file sits in the same directory as dest');
    assert.ok(src.includes('/.my app.conf.'), src);
    assert.equal(readFileSync(destLog, 'utf8'), c.dest);
    assert.equal(outcome.reload, `reload --src '${c.dest}' --dest '${c.dest}'`, 'after the rename, {{.src}} in reload_cmd is dest');
  });

  test('a missing key fails the render with the template, line and key; dest stays as it was', async () => {
    const c = newCase('# header\nname = {{getv "/name"}}\nhost = {{getv "/host"}}\n');
    writeFileSync(c.dest, 'previous\n');
    const outcome = await syncResource(await c.entry(), PAIRS, options());
    assert.ok(outcome.status === 'failed');
    assert.equal(outcome.stage, 'render');
    assert.match(outcome.message, /app\.tmpl:3: /);
    assert.match(outcome.message, /key "\/host" does not exist/);
    assert.equal(readFileSync(c.dest, 'utf8'), 'previous\n');
    assert.deepEqual(readdirSync(c.out), ['app.conf']);
  });

  test('--noop prints a unified diff with the keys behind it and writes nothing', async () => {
    const c = newCase();
    writeFileSync(c.dest, 'name = web\nport = 80\n');
    chmodSync(c.dest, 0o600);
    const entry = await c.entry(`mode = "0644"\ncheck_cmd = ${toml(`touch ${c.marker}`)}\nreload_cmd = ${toml(`touch ${c.marker}`)}\n`);
    const opts = options({ noop: true, changedKeys: ['/app/port'] });
    assert.deepEqual(await syncResource(entry, PAIRS, opts), { status: 'wouldChange' });
    assert.equal(opts.printed.length, 1);
    const text = opts.printed[0] ?? '';
    assert.match(text, new RegExp(`^# app: ${c.dest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} would change \\(keys: /app/port\\); mode 600 -> 644\\n`));
    assert.match(text, /^--- .*app\.conf\t\(current\)$/m);
    assert.match(text, /^\+\+\+ .*app\.conf\t\(rendered from app\.tmpl\)$/m);
    assert.match(text, /^-port = 80$/m);
    assert.match(text, /^\+port = 8080$/m);
    assert.match(text, /^ name = web$/m);
    assert.equal(readFileSync(c.dest, 'utf8'), 'name = web\nport = 80\n');
    assert.equal(modeOf(c.dest), 0o600);
    assert.deepEqual(readdirSync(c.out), ['app.conf']);
    assert.equal(existsSync(c.marker), false);
  });

  test('--noop for a dest that does not exist yet names the resource keys and shows the whole file', async () => {
    const c = newCase();
    const opts = options({ noop: true });
    assert.deepEqual(await syncResource(await c.entry(), PAIRS, opts), { status: 'wouldChange' });
    const text = opts.printed[0] ?? '';
    assert.match(text, /would change \(keys: \/app\/name, \/app\/port\)\n/);
    assert.match(text, /\(does not exist\)/);
    assert.match(text, /^\+name = web$/m);
    assert.equal(existsSync(c.dest), false);
    assert.deepEqual(readdirSync(c.out), []);
  });

  test('--noop on an unchanged dest prints nothing', async () => {
    const c = newCase();
    writeFileSync(c.dest, 'name = web\nport = 8080\n');
    chmodSync(c.dest, 0o644);
    const opts = options({ noop: true });
    assert.deepEqual(await syncResource(await c.entry(), PAIRS, opts), { status: 'unchanged' });
    assert.deepEqual(opts.printed, []);
  });

  test('--sync-only writes the file but runs neither command', async () => {
    const c = newCase();
    writeFileSync(c.dest, 'old\n');
    const entry = await c.entry(`check_cmd = "exit 1"\nreload_cmd = ${toml(`touch ${c.marker}`)}\n`);
    assert.deepEqual(await syncResource(entry, PAIRS, options({ syncOnly: true })), { status: 'updated', reload: undefined });
    assert.equal(readFileSync(c.dest, 'utf8'), 'name = web\nport = 8080\n');
    assert.equal(existsSync(c.marker), false);
  });

  test('owner and group by name', { skip: process.getuid?.() === 0 ? false : 'needs root to chown' }, async () => {
    const c = newCase();
    const outcome = await syncResource(await c.entry('owner = "nobody"\ngid = 65534\n'), PAIRS, options());
    assert.equal(outcome.status, 'updated');
    assert.equal(statSync(c.dest).uid, 65534);
    assert.equal(statSync(c.dest).gid, 65534);
    assert.deepEqual(await syncResource(await c.entry('owner = "nobody"\ngid = 65534\n'), PAIRS, options()), { status: 'unchanged' });
  });

  test('an unknown owner fails the write stage and leaves dest alone', async () => {
    const c = newCase();
    writeFileSync(c.dest, 'old\n');
    const outcome = await syncResource(await c.entry('owner = "cairn-no-such-user-xyz"\n'), PAIRS, options());
    assert.ok(outcome.status === 'failed');
    assert.equal(outcome.stage, 'write');
    assert.match(outcome.message, /unknown user "cairn-no-such-user-xyz"/);
    assert.equal(readFileSync(c.dest, 'utf8'), 'old\n');
  });
});

describe('runReloads', () => {
  test('runs each command once, in order, and returns the failures', async () => {
    const dir = mkdtempSync(join(root, 'reloads-'));
    const log = join(dir, 'log');
    const { logger, lines } = captureLogger();
    const failures = await runReloads(
      [
        { command: `echo first >> ${log}`, timeoutMs: 10_000, resources: ['a', 'b'] },
        { command: `echo second >> ${log}; echo 'reload went wrong' >&2; exit 4`, timeoutMs: 10_000, resources: ['c'] },
        { command: `echo third >> ${log}`, timeoutMs: 10_000, resources: ['d'] },
      ],
      logger,
    );
    assert.equal(readFileSync(log, 'utf8'), 'first\nsecond\nthird\n');
    assert.equal(failures.length, 1);
    assert.equal(failures[0]?.command, `echo second >> ${log}; echo 'reload went wrong' >&2; exit 4`);
    assert.match(failures[0]?.message ?? '', /^reload_cmd failed \(exit status 4\): reload went wrong$/);
    const reloaded = lines.filter((l) => l.msg === 'reloaded');
    assert.deepEqual(reloaded.map((l) => l['resources']), [['a', 'b'], ['d']]);
    assert.ok(lines.some((l) => l.level === LEVEL.error && Array.isArray(l['resources']) && l['resources'][0] === 'c'));
  });

  test('a hung reload is killed after its timeout', async () => {
    const failures = await runReloads([{ command: 'sleep 30', timeoutMs: 200, resources: ['x'] }], silentLogger());
    assert.equal(failures.length, 1);
    assert.match(failures[0]?.message ?? '', /killed after 200 ms/);
  });
});
