import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CAIRN_MAIN } from './cairn.js';
import { freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';

/** A throw-away confdir plus an output directory for dest files and command traces. */
export interface Workspace {
  readonly root: string;
  readonly confdir: string;
  readonly out: string;
  /** Writes conf.d/<name>.toml; `@OUT@` in the text becomes the output directory. */
  resource(name: string, toml: string): void;
  /** Writes templates/<name>. */
  template(name: string, text: string): void;
  /** Reads a file of the output directory, or undefined if it is not there. */
  read(name: string): string | undefined;
  /** Lines appended to out/<name> by commands (`echo x >> @OUT@/reloads`). */
  lines(name: string): string[];
  remove(): void;
}

export function makeWorkspace(): Workspace {
  const root = mkdtempSync(join(tmpdir(), 'cairn-agent-'));
  const confdir = join(root, 'confdir');
  const out = join(root, 'out');
  for (const dir of [join(confdir, 'conf.d'), join(confdir, 'templates'), out]) mkdirSync(dir, { recursive: true });
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(path), { recursive: true });
    // Write then rename, so chokidar never sees a half-written file.
    writeFileSync(`${path}.partial`, text.replaceAll('@OUT@', out));
    writeFileSync(path, readFileSync(`${path}.partial`));
    rmSync(`${path}.partial`);
  };
  const read = (name: string): string | undefined => {
    try {
      return readFileSync(join(out, name), 'utf8');
    } catch {
      return undefined;
    }
  };
  return {
    root,
    confdir,
    out,
    resource: (name, toml) => write(join(confdir, 'conf.d', `${name}.toml`), toml),
    template: (name, text) => write(join(confdir, 'templates', name), text),
    read,
    lines: (name) => (read(name) ?? '').split('\n').filter((l) => l !== ''),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

export interface AgentRun {
  readonly code: number | string;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `cairn agent <args>` to completion (for --onetime). */
export async function runAgentOnce(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<AgentRun> {
  const proc = startProcess(process.execPath, [CAIRN_MAIN, 'agent', ...args], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  proc.child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await proc.exited;
  return { code, stdout, stderr };
}

export interface RunningAgent {
  readonly process: ManagedProcess;
  /** The embedded store's client URL (only with the embedded backend). */
  readonly url: string;
  stop(): Promise<number | string>;
}

/**
 * Starts a long-running `cairn agent` (watch mode unless args say otherwise).
 * With the embedded backend it listens on a free port and a fresh data dir.
 */
export async function startAgent(ws: Workspace, args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<RunningAgent> {
  const embedded = !args.includes('--backend');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const extra = embedded ? ['--data-dir', join(ws.root, 'data'), '--listen-client-urls', url, '--advertise-client-urls', url] : [];
  const proc = startProcess(process.execPath, [CAIRN_MAIN, 'agent', '--confdir', ws.confdir, ...extra, ...args], {
    env: { ...process.env, CAIRN_LOG_LEVEL: 'debug', ...env },
  });
  return { process: proc, url, stop: () => proc.kill('SIGTERM') };
}
