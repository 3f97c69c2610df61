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

/** The program run as "etcdctl": the real one, or a drop-in such as `cairn ctl` (file plus leading words). */
export interface CtlCommand {
  readonly file: string;
  readonly prefix: readonly string[];
}

export const ETCDCTL: CtlCommand = { file: 'etcdctl', prefix: [] };

export interface CtlSpawnOptions {
  /** Which program to run; etcdctl by default. */
  readonly cli?: CtlCommand;
  /** Written to its stdin, which is otherwise /dev/null. */
  readonly stdin?: string;
  /** Extra environment variables (ETCDCTL_* and CAIRNCTL_* from the caller's shell are never passed on). */
  readonly env?: Readonly<Record<string, string>>;
}

// ETCDCTL_API=2 selects the v2 client, as the tutorials use it. Inherited
// ETCDCTL_* (and CAIRNCTL_*) settings from the developer's shell must not
// leak into the runs.
function ctlEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('ETCDCTL_') && !name.startsWith('CAIRNCTL_')) env[name] = value;
  }
  env['ETCDCTL_API'] = '2';
  return { ...env, ...extra };
}

/** Starts `etcdctl --endpoints URL ...args` (v2 mode) without waiting for it; an empty URL leaves the flag out. */
export function spawnEtcdctl(url: string, args: readonly string[], options: CtlSpawnOptions = {}): CtlProcess {
  const cli = options.cli ?? ETCDCTL;
  const proc = startProcess(cli.file, [...cli.prefix, ...(url === '' ? [] : ['--endpoints', url]), ...args], {
    env: ctlEnv(options.env),
    ...(options.stdin === undefined ? {} : { stdio: ['pipe', 'pipe', 'pipe'] }),
  });
  if (options.stdin !== undefined) {
    // The program may exit without reading its stdin.
    proc.child.stdin?.on('error', () => undefined);
    proc.child.stdin?.end(options.stdin);
  }
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
export async function runEtcdctl(url: string, args: readonly string[], timeoutMs = 30_000, options: CtlSpawnOptions = {}): Promise<CtlResult> {
  const ctl = spawnEtcdctl(url, args, options);
  const timer = setTimeout(() => void ctl.process.kill('SIGKILL'), timeoutMs);
  try {
    return await ctl.finished();
  } finally {
    clearTimeout(timer);
  }
}
