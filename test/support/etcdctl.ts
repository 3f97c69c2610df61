import { startProcess, type ManagedProcess } from './process.js';

/** What one etcdctl invocation printed, and how it exited. */
export interface CtlResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | string;
}

/** A long-running etcdctl (watch --forever, exec-watch) whose streams are read while it runs. */
export interface CtlProcess {
  readonly process: ManagedProcess;
  stdout(): string;
  stderr(): string;
  /** Ends it (SIGKILL: etcdctl has nothing to flush) and returns what it printed. */
  kill(): Promise<CtlResult>;
  /** Waits for it to exit on its own. */
  finished(): Promise<CtlResult>;
}

// ETCDCTL_API=2 selects the v2 client, as the tutorials use it. Inherited
// ETCDCTL_* settings from the developer's shell must not leak into the runs.
function ctlEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('ETCDCTL_')) env[name] = value;
  }
  env['ETCDCTL_API'] = '2';
  return env;
}

/** Starts `etcdctl --endpoints URL ...args` (v2 mode) without waiting for it. */
export function spawnEtcdctl(url: string, args: readonly string[]): CtlProcess {
  const proc = startProcess('etcdctl', ['--endpoints', url, ...args], { env: ctlEnv() });
  let out = '';
  let err = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  proc.child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  // 'exit' can fire before the pipes are drained; 'close' waits for both.
  const closed = new Promise<void>((resolve) => {
    proc.child.once('close', () => resolve());
    proc.child.once('error', () => resolve());
  });
  const collect = async (): Promise<CtlResult> => {
    const code = await proc.exited;
    await closed;
    return { stdout: out, stderr: err, code };
  };
  return {
    process: proc,
    stdout: () => out,
    stderr: () => err,
    async kill() {
      await proc.kill('SIGKILL');
      return collect();
    },
    finished: collect,
  };
}

/** Runs one etcdctl command to completion; a hung command is killed after `timeoutMs`. */
export async function runEtcdctl(url: string, args: readonly string[], timeoutMs = 30_000): Promise<CtlResult> {
  const ctl = spawnEtcdctl(url, args);
  const timer = setTimeout(() => void ctl.process.kill('SIGKILL'), timeoutMs);
  try {
    return await ctl.finished();
  } finally {
    clearTimeout(timer);
  }
}
