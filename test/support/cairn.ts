import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';
import { waitFor } from './wait.js';

/** The compiled CLI entry point (dist/src/cli/main.js). */
export const CAIRN_MAIN = resolve(fileURLToPath(import.meta.url), '../../../src/cli/main.js');

/** Resolves once a starting `cairn serve` answers /health; throws if it exits first. */
export async function waitForCairnReady(proc: ManagedProcess, url: string): Promise<void> {
  await waitFor(async () => {
    if (proc.child.exitCode !== null) throw new Error(`exited with ${proc.child.exitCode}`);
    return (await fetch(`${url}/health`)).ok;
  }, { what: `cairn serve on ${url}`, timeoutMs: 30_000 });
}

export interface CairnServer {
  readonly url: string;
  readonly dataDir: string;
  readonly port: number;
  process: ManagedProcess;
  /** Starts the server again on the same port and data dir (after stop or kill). */
  restart(): Promise<void>;
  /** SIGKILL, no cleanup of the data dir. */
  crash(): Promise<void>;
  /** SIGTERM and wait for exit; the data dir stays. */
  stop(): Promise<number | string>;
  /** Stop and remove the data dir. */
  destroy(): Promise<void>;
}

export interface CairnServerOptions {
  readonly dataDir?: string;
  readonly extraArgs?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** A real `cairn serve` child process on loopback. */
export async function startCairn(options: CairnServerOptions = {}): Promise<CairnServer> {
  const ownsDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'cairn-data-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  const launch = async (): Promise<ManagedProcess> => {
    const proc = startProcess(process.execPath, [
      CAIRN_MAIN, 'serve',
      '--name', 'test',
      '--data-dir', dataDir,
      '--listen-client-urls', url,
      '--advertise-client-urls', url,
      ...(options.extraArgs ?? []),
    ], { env: { ...process.env, CAIRN_LOG_LEVEL: 'warn', ...options.env } });
    try {
      await waitForCairnReady(proc, url);
    } catch (err) {
      await proc.kill('SIGKILL');
      throw new Error(`cairn serve did not start: ${String(err)}\n${proc.output()}`);
    }
    return proc;
  };

  const server: CairnServer = {
    url,
    dataDir,
    port,
    process: await launch(),
    async restart() {
      server.process = await launch();
    },
    async crash() {
      await server.process.kill('SIGKILL');
    },
    async stop() {
      return server.process.kill('SIGTERM');
    },
    async destroy() {
      await server.process.kill('SIGKILL');
      if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}
