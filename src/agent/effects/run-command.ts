import { spawn } from 'node:child_process';

export interface CommandResult {
  /** Null when the command was killed by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** stdout and stderr interleaved, cut to the last OUTPUT_LIMIT bytes. */
  readonly output: string;
}

export function commandSucceeded(result: CommandResult): boolean {
  return result.exitCode === 0 && !result.timedOut;
}

export function describeResult(result: CommandResult, timeoutMs: number): string {
  if (result.timedOut) return `killed after ${timeoutMs} ms without finishing`;
  if (result.exitCode === null) return `killed by ${result.signal ?? 'a signal'}`;
  return `exit status ${result.exitCode}`;
}

const OUTPUT_LIMIT = 16 * 1024;
/** After SIGTERM, a command gets this long to clean up before SIGKILL. */
const KILL_GRACE_MS = 2_000;

/**
 * Runs `command` through /bin/sh -c, as confd does, in its own process group
 * so a timeout kills everything it started. The result comes when the shell
 * exits: a daemon it leaves behind holding our pipes does not hold us up.
 */
export function runShellCommand(command: string, options: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    let output = '';
    const collect = (chunk: string): void => {
      output += chunk;
      if (output.length > OUTPUT_LIMIT * 2) output = output.slice(-OUTPUT_LIMIT);
    };
    // Decoding per stream keeps a character split across two reads whole.
    child.stdout.setEncoding('utf8').on('data', collect);
    child.stderr.setEncoding('utf8').on('data', collect);
    let timedOut = false;
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    }, options.timeoutMs);
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      if (killTimer !== undefined) clearTimeout(killTimer);
      // Take what is already buffered, then let go of pipes a leftover daemon may hold open.
      setImmediate(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({ exitCode, signal, timedOut, output: output.length > OUTPUT_LIMIT ? output.slice(-OUTPUT_LIMIT) : output });
      });
    };
    child.once('error', (err) => {
      collect(err.message);
      finish(127, null);
    });
    child.once('exit', (code, signal) => finish(code, signal));
  });
}
