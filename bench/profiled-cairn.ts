import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CAIRN_MAIN, waitForCairnReady } from '../test/support/cairn.js';
import { freePort } from '../test/support/ports.js';
import { startProcess, type ManagedProcess } from '../test/support/process.js';
import { BenchError } from './errors.js';

export interface ProfiledCairn {
  readonly url: string;
  readonly process: ManagedProcess;
  /** SIGTERM (a clean exit is what writes the profile), then remove the data dir. */
  stop(): Promise<void>;
}

/**
 * `cairn serve` under `node --cpu-prof`. startCairn cannot do this: node
 * refuses --cpu-prof in NODE_OPTIONS, so the flag has to precede the script.
 */
export async function startProfiledCairn(profileDir: string): Promise<ProfiledCairn> {
  const dir = resolve(profileDir);
  mkdirSync(dir, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = startProcess(process.execPath, [
    '--cpu-prof', `--cpu-prof-dir=${dir}`,
    CAIRN_MAIN, 'serve',
    '--name', 'bench',
    '--data-dir', dataDir,
    '--listen-client-urls', url,
    '--advertise-client-urls', url,
    '--log-level', 'warn',
  ]);
  try {
    await waitForCairnReady(proc, url);
  } catch (err) {
    await proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw new BenchError('CAIRN_BENCH_START', `profiled cairn serve did not start: ${String(err)}\n${proc.output()}`);
  }
  return {
    url,
    process: proc,
    async stop() {
      const timer = setTimeout(() => void proc.kill('SIGKILL'), 15_000);
      await proc.kill('SIGTERM');
      clearTimeout(timer);
      rmSync(dataDir, { recursive: true, force: true });
      process.stderr.write(`store: cairn CPU profile written to ${dir}\n`);
    },
  };
}
