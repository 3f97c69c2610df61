import assert from 'node:assert/strict';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandCommand } from '../../src/agent/command-template.js';
import { loadResources, type ResourceSpec } from '../../src/agent/resource.js';
import { loadTemplateDir } from '../../src/agent/template-files.js';
import { HandlebarsRenderer } from '../../src/agent/template/render.js';
import { startProcess, type ManagedProcess } from '../support/process.js';
import { sbinEnv } from '../support/sbin-tools.js';

/** The repository root, from dist/test/examples/. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export type ExampleName = 'nginx' | 'haproxy';

/**
 * The directory each example's conf.d/*.toml names for dest, the pid file
 * and nginx's prefix. Tests swap it for a temporary directory with one plain
 * string replacement, exactly as the examples' README tells users to.
 */
export const exampleRunDir = (name: ExampleName): string => `/tmp/cairn-example/${name}`;

export type Pairs = Readonly<Record<string, string>> | readonly (readonly [string, string])[];

export interface CommandResult {
  readonly code: number | string;
  readonly output: string;
}

export interface Example {
  /** The copied example directory (conf.d/ and templates/). */
  readonly confdir: string;
  /** Replaces exampleRunDir(name): dest, pid file and prefix live here. */
  readonly runDir: string;
  readonly resource: ResourceSpec;
  /** Renders as the agent would: only the pairs under the resource's keys are visible. */
  render(pairs: Pairs): string;
  /** Renders into a stage file beside dest and runs the resource's real check_cmd on it. */
  check(pairs: Pairs): Promise<CommandResult & { readonly rendered: string }>;
  /** The agent's write path: render, check the stage file, rename it over dest. Fails the test if the check fails. */
  install(pairs: Pairs): Promise<string>;
  /** Runs the resource's real reload_cmd. */
  reload(): Promise<CommandResult>;
  /** Runs a command through sh with the sbin tools on PATH, as the agent runs check_cmd/reload_cmd. */
  sh(command: string): Promise<CommandResult>;
  cleanup(): Promise<void>;
}

/** Copies examples/<name> into a temporary directory, points its paths there, and loads its one resource. */
export async function setUpExample(name: ExampleName): Promise<Example> {
  const root = await mkdtemp(join(tmpdir(), `cairn-example-${name}-`));
  // When the tests run as root, nginx's workers run as nobody and must be able to reach their temp directories.
  await chmod(root, 0o755);
  const confdir = join(root, 'confdir');
  const runDir = join(root, 'run');
  await mkdir(runDir);
  await cp(join(REPO_ROOT, 'examples', name), confdir, { recursive: true, dereference: true });

  const confd = join(confdir, 'conf.d');
  for (const file of (await readdir(confd)).filter((f) => f.endsWith('.toml'))) {
    const text = await readFile(join(confd, file), 'utf8');
    assert.ok(text.includes(exampleRunDir(name)), `${file} no longer names ${exampleRunDir(name)}; update the tests and the README together`);
    await writeFile(join(confd, file), text.replaceAll(exampleRunDir(name), runDir));
  }

  const { resources, errors } = await loadResources(confdir, '');
  assert.deepEqual(errors.map((e) => e.message), []);
  assert.equal(resources.length, 1, 'each example has exactly one resource');
  const resource = resources[0]!;
  const renderer = new HandlebarsRenderer({ templates: await loadTemplateDir(join(confdir, 'templates')) });
  renderer.check(resource);

  const render = (pairs: Pairs): string => {
    const entries: readonly (readonly [string, string])[] = Array.isArray(pairs) ? pairs : Object.entries(pairs);
    const visible = new Map(
      entries.filter(([key]) =>
        resource.backendKeys.some((prefix) => key === prefix || key.startsWith(`${prefix}/`)),
      ),
    );
    return renderer.render(resource, { prefix: resource.prefix, pairs: visible, env: {} });
  };
  const sh = async (command: string): Promise<CommandResult> => {
    // cwd is deliberately not the run directory: the commands must not depend on it.
    const proc = startProcess('sh', ['-c', command], { env: sbinEnv(), cwd: root });
    const code = await proc.exited;
    return { code, output: `$ ${command}\n${proc.output()}` };
  };
  let stages = 0;
  const stageAndCheck = async (pairs: Pairs) => {
    const rendered = render(pairs);
    const src = join(dirname(resource.dest), `.${basename(resource.dest)}.stage${++stages}`);
    await writeFile(src, rendered);
    const result = await sh(expandCommand(resource.checkCmd ?? 'true', { src, dest: resource.dest }));
    return { ...result, rendered, src };
  };

  return {
    confdir,
    runDir,
    resource,
    render,
    sh,
    async check(pairs) {
      const { src, ...result } = await stageAndCheck(pairs);
      await rm(src, { force: true });
      return result;
    },
    async install(pairs) {
      const { src, code, output, rendered } = await stageAndCheck(pairs);
      assert.equal(code, 0, output);
      await rename(src, resource.dest);
      return rendered;
    },
    reload: () => sh(expandCommand(resource.reloadCmd ?? 'true', { src: resource.dest, dest: resource.dest })),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/**
 * Starts a long-running server (nginx's or haproxy's master) in its own
 * process group, so that stopping it also reaches the workers it forked,
 * whatever state a failed test left them in.
 */
export function startDaemon(command: string, args: readonly string[]): ManagedProcess & { stop(): Promise<void> } {
  const proc = startProcess(command, args, { env: sbinEnv(), detached: true });
  const signalGroup = (signal: NodeJS.Signals): void => {
    if (proc.child.pid === undefined) return;
    try {
      process.kill(-proc.child.pid, signal);
    } catch {
      // The group is already gone.
    }
  };
  return {
    ...proc,
    async stop() {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), 10_000);
      await proc.exited;
      clearTimeout(timer);
      // Workers that outlive their master would keep the port.
      signalGroup('SIGKILL');
    },
  };
}

export interface Backend {
  readonly name: string;
  /** host:port, the value a service registers. */
  readonly address: string;
  close(): Promise<void>;
}

/** A tiny HTTP backend that answers every request with `<name> <url>`. */
export async function startBackend(name: string): Promise<Backend> {
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${name} ${req.url ?? ''}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    name,
    address: `127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One GET on a fresh connection (a kept-alive one could stay with a worker that a reload retires). */
export function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' }, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Pairs in reverse order and in value order: what a backend might send for the same data. */
export function reorderings(pairs: Readonly<Record<string, string>>): (readonly [string, string])[][] {
  const entries = Object.entries(pairs);
  return [
    [...entries].reverse(),
    [...entries].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0] < b[0] ? 1 : -1)),
  ];
}

/** True when the strings are in ascending code-unit order (how the helpers sort). */
export function isSorted(values: readonly string[]): boolean {
  return values.every((v, i) => i === 0 || values[i - 1]! <= v);
}
